/**
 * The admin API on the status endpoint (docs/admin-api.md): list listeners and pools,
 * change targets (drain, weight, mark up/down, add, remove), put a pool or a host route,
 * save the config, follow `/events`. JSON in and out. Each change goes to one function
 * (`AdminOps.change`), which applies, logs and publishes it; the token check is app.ts's.
 */
import type { Hono } from "hono";
import { parse as parseYaml } from "yaml";
import type { HttpPeer } from "../runtime/types.ts";
import { type EventHub, eventStream } from "./events.ts";
import type { TargetState } from "./runtime-state.ts";
import { errorText } from "../errors/mod.ts";

/** Who made a change, as the log and /events say it. */
export interface AdminActor {
  /** The client's address. */
  address: string;
  /** How it was let in: "token" (it sent the admin token) or "loopback" (no token is set). */
  auth: "token" | "loopback";
}

export type AdminChange =
  | { op: "drain" | "undrain"; pool: string; target: string; fleet?: boolean }
  | { op: "weight"; pool: string; target: string; weight: number }
  | { op: "mark"; pool: string; target: string; state: "up" | "down" | "auto" }
  | { op: "add"; pool: string; target: string }
  | { op: "remove"; pool: string; target: string }
  | { op: "put-pool"; pool: string; body: unknown }
  | { op: "put-route"; listener: string; host: string; pool: string }
  | { op: "save" };

/** A change's outcome; `status` maps a refusal to HTTP (404 unknown name, 422 invalid). */
export type AdminOutcome =
  | { ok: true; [field: string]: unknown }
  | { ok: false; status: 400 | 404 | 409 | 422 | 500 | 503; errors: string[] };

/** One target as `GET /pools` shows it. */
export interface AdminTarget {
  target: string;
  role: "primary" | "fallback";
  address: string | null;
  /** up | down (checks, or by hand), draining (drained, requests still open), drained. */
  state: TargetState;
  healthy: boolean;
  /** Marked by hand (overrides the checks), or null. */
  manual: "up" | "down" | null;
  draining: boolean;
  /** The weight in force (an admin's or the config's; a drained target's share is 0 while drained). */
  weight: number;
  activeConnections: number;
  totalConnections: number;
  lastError: string | null;
  /** Out of service by outlier detection (as `/status` shows it); absent: not ejected. */
  ejected?: { reason: string; until: string; count: number };
}

export interface AdminPool {
  strategy: string;
  targets: AdminTarget[];
}

export interface AdminOps {
  listeners(): Promise<unknown[]>;
  pools(): Promise<Record<string, AdminPool>>;
  change(who: AdminActor, change: AdminChange): Promise<AdminOutcome>;
  events: EventHub;
}

type Json = Record<string, unknown>;
/** app.ts's ControlEnv (the peer's address), said again here to keep the import one way. */
type ControlEnv = { Bindings: Partial<HttpPeer> };

/** The request's JSON (or YAML, for a pool) body as an object, or a reason it is not one. */
async function bodyOf(req: Request, yaml = false): Promise<Json | string> {
  const text = await req.text();
  let value: unknown;
  try {
    const type = req.headers.get("content-type") ?? "";
    value = yaml && /yaml/i.test(type) ? parseYaml(text) : JSON.parse(text);
  } catch (err) {
    return `expected a JSON body${yaml ? " (or YAML with Content-Type: application/yaml)" : ""}: ${errorText(err)}`;
  }
  return typeof value === "object" && value !== null && !Array.isArray(value)
    ? value as Json
    : "expected a JSON object as the body";
}

/** A drain's optional body: `{"fleet": true}` shares it through etcd. Whether it asks for that, or why the body is bad. */
async function fleetOf(req: Request): Promise<boolean | string> {
  if ((await req.clone().text()).trim() === "") return false;
  const body = await bodyOf(req);
  if (typeof body === "string") return body;
  if (body.fleet !== undefined && typeof body.fleet !== "boolean") {
    return `fleet: expected true or false; got ${JSON.stringify(body.fleet)}`;
  }
  return body.fleet === true;
}

function stringField(body: Json, key: string): string | null {
  const v = body[key];
  return typeof v === "string" && v !== "" ? v : null;
}

/** Adds the admin routes to `app`. */
export function addAdminRoutes(app: Hono<ControlEnv>, ops: AdminOps, tokenSet: () => boolean): void {
  const who = (c: { env?: ControlEnv["Bindings"] }): AdminActor => ({
    address: c.env?.remote ? c.env.remote.hostname : "unknown",
    auth: tokenSet() ? "token" : "loopback",
  });
  const answer = (outcome: AdminOutcome) =>
    Response.json(outcome.ok ? outcome : { ok: false, errors: outcome.errors }, {
      status: outcome.ok ? 200 : outcome.status,
    });
  const bad = (error: string) => Response.json({ ok: false, errors: [error] }, { status: 400 });

  app.get("/listeners", async (c) => c.json({ listeners: await ops.listeners() }));
  app.get("/pools", async (c) => c.json({ pools: await ops.pools() }));
  app.get("/events", (c) => {
    const types = new Set((c.req.query("types") ?? "").split(",").filter((t) => t !== ""));
    return eventStream(ops.events, types);
  });

  const target = "/pools/:pool/targets/:target";
  for (const op of ["drain", "undrain"] as const) {
    app.post(`${target}/${op}`, async (c) => {
      const { pool, target } = c.req.param();
      const fleet = await fleetOf(c.req.raw);
      if (typeof fleet === "string") return bad(fleet);
      return answer(await ops.change(who(c), { op, pool, target, ...(fleet ? { fleet: true } : {}) }));
    });
  }
  app.put(`${target}/weight`, async (c) => {
    const body = await bodyOf(c.req.raw);
    if (typeof body === "string") return bad(body);
    const weight = body.weight;
    if (typeof weight !== "number" || !Number.isInteger(weight)) {
      return bad(`weight: expected a whole number 0..256; got ${JSON.stringify(weight ?? null)}`);
    }
    const { pool, target } = c.req.param();
    return answer(await ops.change(who(c), { op: "weight", pool, target, weight }));
  });
  app.post(`${target}/mark`, async (c) => {
    const body = await bodyOf(c.req.raw);
    if (typeof body === "string") return bad(body);
    const state = body.state;
    if (state !== "up" && state !== "down" && state !== "auto") {
      return bad(`state: expected "up", "down" or "auto"; got ${JSON.stringify(state ?? null)}`);
    }
    const { pool, target } = c.req.param();
    return answer(await ops.change(who(c), { op: "mark", pool, target, state }));
  });
  app.delete(target, async (c) => {
    const { pool, target } = c.req.param();
    return answer(await ops.change(who(c), { op: "remove", pool, target }));
  });
  app.post("/pools/:pool/targets", async (c) => {
    const body = await bodyOf(c.req.raw);
    if (typeof body === "string") return bad(body);
    const t = stringField(body, "target");
    if (t === null) return bad('target: expected a target like "10.0.0.1:80" or "10.0.0.1:80@3"');
    return answer(await ops.change(who(c), { op: "add", pool: c.req.param("pool"), target: t }));
  });
  app.put("/pools/:pool", async (c) => {
    const body = await bodyOf(c.req.raw, true);
    if (typeof body === "string") return bad(body);
    return answer(await ops.change(who(c), { op: "put-pool", pool: c.req.param("pool"), body }));
  });
  app.put("/routes", async (c) => {
    const body = await bodyOf(c.req.raw);
    if (typeof body === "string") return bad(body);
    const [listener, host, pool] = [
      stringField(body, "listener"),
      stringField(body, "host"),
      stringField(body, "pool"),
    ];
    if (listener === null || host === null || pool === null) {
      return bad('expected {"listener": LISTEN, "host": HOST, "pool": POOL}, each a non-empty string');
    }
    return answer(await ops.change(who(c), { op: "put-route", listener, host, pool }));
  });
  app.post("/config/save", async (c) => answer(await ops.change(who(c), { op: "save" })));
}
