/**
 * The values under an etcd prefix as targets: each key one service instance, its value
 * `HOST:PORT`, `HOST:PORT@WEIGHT` or JSON `{"address": "HOST:PORT", "weight": N,
 * "zone": "eu-1"}` (what a service's registration script finds easiest to write). Each
 * target is tagged with its prefix and key, so /status can say where it came from. A
 * value that is none of these is left out and named to the caller, never fatal: one
 * bad registration must not take a pool down.
 */
import type { EndpointSpec, EtcdOrigin } from "../config/model.ts";
import { MAX_WEIGHT, parseEndpoint } from "../config/target.ts";
import { errorText } from "../errors/mod.ts";

export const SERVICE_VALUE_EXPECTED =
  `HOST:PORT, HOST:PORT@WEIGHT or JSON {"address": "HOST:PORT", "weight": 0..${MAX_WEIGHT}, "zone": "..."}`;

export type ServiceValue = { ok: true; spec: EndpointSpec } | { ok: false; reason: string };

/** One key's value as a target (or why it is not one). */
export function parseServiceValue(prefix: string, key: string, value: string): ServiceValue {
  const text = value.trim();
  try {
    const { address, weight, zone } = text.startsWith("{") ? readJson(text) : { address: text, weight: undefined };
    const spec = parseEndpoint(address);
    if (spec.kind === "node") throw new Error("a node: target cannot be registered");
    const etcd: EtcdOrigin = { prefix, key, ...(zone !== undefined ? { zone } : {}) };
    return { ok: true, spec: { ...spec, weight: weight ?? spec.weight, etcd } };
  } catch (err) {
    return {
      ok: false,
      reason: `expected ${SERVICE_VALUE_EXPECTED}; got ${JSON.stringify(value)} (${errorText(err)})`,
    };
  }
}

function readJson(text: string): { address: string; weight?: number; zone?: string } {
  const j = JSON.parse(text) as Record<string, unknown>;
  if (j === null || typeof j !== "object" || Array.isArray(j)) throw new Error("not a JSON object");
  const { address, weight, zone } = j;
  if (typeof address !== "string" || address.includes("@")) throw new Error(`"address" must be "HOST:PORT"`);
  const badWeight = weight !== undefined && !(Number.isInteger(weight) && (weight as number) >= 0 &&
    (weight as number) <= MAX_WEIGHT);
  if (badWeight) throw new Error(`"weight" must be an integer 0..${MAX_WEIGHT}`);
  if (zone !== undefined && typeof zone !== "string") throw new Error(`"zone" must be a string`);
  return { address, ...(weight !== undefined ? { weight: weight as number } : {}), ...(zone ? { zone } : {}) };
}

/**
 * The targets of the values under `prefix`, in key order, one per `HOST:PORT` (the
 * first key wins when two services register the same address). `bad` gets each key
 * whose value is not a target.
 */
export function expandEtcd(
  prefix: string,
  values: ReadonlyMap<string, string>,
  bad: (key: string, value: string, reason: string) => void,
): EndpointSpec[] {
  const byRaw = new Map<string, EndpointSpec>();
  for (const key of [...values.keys()].sort()) {
    const value = values.get(key)!;
    const got = parseServiceValue(prefix, key, value);
    if (!got.ok) bad(key, value, got.reason);
    else if (!byRaw.has(got.spec.raw)) byRaw.set(got.spec.raw, got.spec);
  }
  return [...byRaw.values()];
}
