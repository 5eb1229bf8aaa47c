/**
 * Old-generation garbage per L7 request on Deno, by allocating function, with real
 * sockets: vane (`src/main.ts run`, the bench's L7 listener routing by Host to an nginx
 * answering "ok\n") or Deno's L7 floor (`--floor`: deno-min-http.ts) under wrk, with
 * V8's sampling heap profiler keeping only the objects a major GC collected
 * (`includeObjectsCollectedByMinorGC: false`). Short-lived garbage dies in scavenges and
 * costs little; what shows here was allocated in (or promoted to) the old space, and
 * drives the mark-compacts behind a Deno proxy's tail latency. This is how the old-space
 * garbage of Deno's `Conn.read` was found (docs/benchmarks.md, "Reads on Deno").
 *
 *   deno run --allow-all --unstable-net scripts/bench/old-space-wrk.ts [--seconds 10] [--top 20] [--floor]
 *
 * Needs nginx and wrk on the PATH; takes three free ports on 127.0.0.1. The sampling
 * slows the proxy several times over, so the request count is what wrk got through.
 */
import { Session } from "node:inspector";
import { parseArgs } from "node:util";
import { type HeapProfileNode, printHeapProfile } from "./heap-profile-report.ts";
import { backendConf, vaneL7Yaml } from "./l7-fixture.ts";

const child = Deno.env.get("OLD_SPACE_CHILD");
if (child) await runChild(child);
else await runParent();

/** In the child: the profiler, started and stopped by files in `dir`, around the proxy. */
async function runChild(dir: string): Promise<void> {
  const session = new Session();
  session.connect();
  const post = <T>(method: string, params: object = {}) =>
    new Promise<T>((resolve, reject) =>
      session.post(method, params, (e: Error | null, r?: object) => (e ? reject(e) : resolve(r as T)))
    );
  await post("HeapProfiler.enable");
  let phase = 0;
  setInterval(async () => {
    if (phase === 0 && exists(`${dir}/start`)) {
      phase = 1;
      await post("HeapProfiler.startSampling", {
        samplingInterval: 128,
        includeObjectsCollectedByMajorGC: true,
        includeObjectsCollectedByMinorGC: false,
      });
      Deno.writeTextFileSync(`${dir}/started`, "");
    } else if (phase === 1 && exists(`${dir}/stop`)) {
      phase = 2;
      const { profile } = await post<{ profile: unknown }>("HeapProfiler.stopSampling");
      Deno.writeTextFileSync(`${dir}/profile.json`, JSON.stringify(profile));
      Deno.exit(0);
    }
  }, 50);
  await import(Deno.env.get("OLD_SPACE_FLOOR") ? "./deno-min-http.ts" : "../../src/main.ts");
}

async function runParent(): Promise<void> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      seconds: { type: "string", default: "10" },
      top: { type: "string", default: "20" },
      floor: { type: "boolean", default: false },
    },
  });
  const dir = Deno.makeTempDirSync({ prefix: "vane-old-space-" });
  const [l7, backend, other] = freePorts(3);
  for (const sub of ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"]) Deno.mkdirSync(`${dir}/${sub}`);
  Deno.writeTextFileSync(`${dir}/backend.conf`, backendConf(dir, backend, other));
  Deno.writeTextFileSync(`${dir}/vane.yaml`, vaneL7Yaml(l7, backend, other));
  const nginx = new Deno.Command("nginx", { args: ["-p", dir, "-c", `${dir}/backend.conf`, "-g", "daemon off;"] })
    .spawn();
  const args = values.floor ? [String(l7), String(backend), String(other)] : ["run", `${dir}/vane.yaml`];
  const proxy = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", "--unstable-net", new URL(import.meta.url).pathname, ...args],
    env: { OLD_SPACE_CHILD: dir, ...(values.floor ? { OLD_SPACE_FLOOR: "1" } : {}) },
    stdout: "null",
    stderr: "inherit",
  }).spawn();
  try {
    await waitFor(l7);
    await waitFor(backend);
    wrk(l7, 5);
    Deno.writeTextFileSync(`${dir}/start`, "");
    while (!exists(`${dir}/started`)) await sleep(50);
    const requests = wrk(l7, Number(values.seconds));
    Deno.writeTextFileSync(`${dir}/stop`, "");
    for (let i = 0; i < 200 && !exists(`${dir}/profile.json`); i++) await sleep(100);
    const profile = JSON.parse(Deno.readTextFileSync(`${dir}/profile.json`)) as { head: HeapProfileNode };
    console.log(
      `old-space garbage, ${values.floor ? "deno-min-http.ts" : "vane"}, ${requests} requests under the profiler`,
    );
    printHeapProfile(profile.head, requests, Number(values.top), 1);
  } finally {
    for (const p of [proxy, nginx]) {
      try {
        p.kill("SIGTERM");
      } catch { /* gone already */ }
    }
  }
}

/** wrk as bench.mjs runs the L7 test, for `seconds`; the requests it counted. */
function wrk(port: number, seconds: number): number {
  const out = new Deno.Command("wrk", {
    args: ["-t1", "-c64", `-d${seconds}s`, "-H", "Host: bench.local", `http://127.0.0.1:${port}/`],
  }).outputSync();
  const text = new TextDecoder().decode(out.stdout);
  const m = text.match(/(\d+) requests in/);
  if (!out.success || !m || /Non-2xx/.test(text)) throw new Error(`wrk failed: ${text}`);
  return Number(m[1]);
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** `n` ports nothing listens on now (the kernel's picks). */
function freePorts(n: number): number[] {
  const listeners = Array.from({ length: n }, () => Deno.listen({ hostname: "127.0.0.1", port: 0 }));
  const ports = listeners.map((l) => (l.addr as Deno.NetAddr).port);
  for (const l of listeners) l.close();
  return ports;
}

async function waitFor(port: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      return;
    } catch {
      await sleep(100);
    }
  }
  throw new Error(`nothing listens on ${port}`);
}
