/**
 * The floor for idle memory on Deno (issue 25): the least a Deno TCP relay can hold an
 * idle proxied connection with. One read/write loop per direction, each with its own
 * READ_BYTES buffer and one pending read (Deno's read op itself where Deno allows, as
 * vane reads: src/runtime/deno-ops.ts), and its write op itself, awaited (as vane's relay
 * writes); no timers, no maps, no wrappers.
 * Both sockets get TCP_NODELAY, as vane and haproxy set it (Deno does not by default).
 * idle-memory.ts measures it beside vane; bench.mjs runs it as `deno-min`, the CPU floor
 * of the L4 tests.
 *
 *   deno run --allow-net scripts/bench/deno-min-relay.ts LISTEN_PORT BACKEND_PORT [READ_BYTES]
 */
import { directRid, readInto, writeOnce } from "../../src/runtime/deno-ops.ts";
const [listenPort, backendPort, sizeText = "1024"] = Deno.args;
const readBytes = Number(sizeText);
if (!Number.isInteger(Number(listenPort)) || !Number.isInteger(Number(backendPort)) || !(readBytes > 0)) {
  console.error("usage: deno-min-relay.ts LISTEN_PORT BACKEND_PORT [READ_BYTES]");
  Deno.exit(2);
}

async function pipe(from: Deno.Conn, to: Deno.Conn): Promise<void> {
  const buf = new Uint8Array(readBytes);
  const rid = directRid(from);
  const toRid = directRid(to);
  try {
    for (;;) {
      const n = await readInto(from, rid, buf);
      if (!n) break;
      let off = await writeOnce(to, toRid, n === buf.length ? buf : buf.subarray(0, n));
      while (off < n) off += await writeOnce(to, toRid, buf.subarray(off, n));
    }
  } catch { /* the other direction closed both */ }
  for (const c of [from, to]) {
    try {
      c.close();
    } catch { /* closed already */ }
  }
}

const listener = Deno.listen({ hostname: "127.0.0.1", port: Number(listenPort) });
for await (const client of listener) {
  client.setNoDelay(true);
  Deno.connect({ hostname: "127.0.0.1", port: Number(backendPort) }).then((upstream) => {
    upstream.setNoDelay(true);
    pipe(client, upstream);
    pipe(upstream, client);
  }, () => client.close());
}
