/**
 * The TcpConn contract (tcp-conn.contract.ts) over the runtime adapter's loopback
 * connections: Bun's adapter under `bun test`, Deno's under vitest on Deno, so one
 * `npm test` covers both runtimes' TcpConn; and over the same wrapped in a ReplayConn
 * (src/forward/replay-conn.ts), the TcpConn that protocol detection hands on.
 */
import { asReplay } from "../../src/forward/replay-conn.ts";
import { runtime } from "../../src/runtime/mod.ts";
import { loopbackPair } from "../helpers/tcp-conn.ts";
import { fakeConnPair } from "../helpers/fake-conn.ts";
import { tcpConnContract } from "./tcp-conn.contract.ts";

tcpConnContract(`${runtime().name} loopback (listenTcp + connectTcp)`, loopbackPair);
tcpConnContract(`${runtime().name} loopback in a ReplayConn`, async () => {
  const p = await loopbackPair();
  return { a: asReplay(p.a), b: asReplay(p.b), close: p.close };
});
// The in-memory pair the unit tests run the engine over (test/helpers/fake-conn.ts)
// must keep the same contract, or those tests would prove nothing about real sockets.
tcpConnContract("fake in-memory pair", () => Promise.resolve(fakeConnPair({ readNext: true })));
