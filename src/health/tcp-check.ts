/**
 * The active TCP check: resolve the target, open a connection within the timeout
 * (to the first of its addresses that answers), close it. The time to connect is the latency `fastest` ranks by.
 */
import type { Runtime } from "../runtime/types.ts";
import type { EndpointSpec } from "../config/model.ts";
import type { TargetResolver } from "../resolve/resolver.ts";
import { formatAddress } from "../config/address.ts";
import { errorTextWithCode, type Failure } from "../errors/mod.ts";

export type CheckOutcome =
  | { ok: true; latencyMs: number; address: string }
  | (Failure & { address: string | null });

export async function tcpCheck(
  rt: Runtime,
  resolver: TargetResolver,
  spec: EndpointSpec,
  timeoutMs: number,
): Promise<CheckOutcome> {
  const res = await resolver.fresh(spec);
  if (res.addresses.length === 0) return { ok: false, reason: res.error ?? "no addresses", address: null };
  // Try the addresses in the order the forwarder does: the target is up when the
  // forwarder would get through, which is when any of them answers.
  let failure: CheckOutcome = { ok: false, reason: "no addresses", address: null };
  for (const host of res.addresses) {
    const address = formatAddress(host, spec.port);
    const started = performance.now();
    try {
      const conn = await rt.connectTcp({ hostname: host, port: spec.port }, timeoutMs);
      const latencyMs = performance.now() - started;
      conn.close();
      return { ok: true, latencyMs, address };
    } catch (err) {
      failure = { ok: false, reason: errorTextWithCode(err), address };
    }
  }
  return failure;
}
