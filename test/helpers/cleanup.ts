/**
 * One call that lets go of every fixture a test may have started: vane in-process and
 * as processes, TCP servers, node:http backends and the engine, HAProxy, UDP sockets.
 * `afterEach(stopAll)` in a test file is then all the cleanup it needs.
 */
import { stopAllHaproxy } from "./haproxy.ts";
import { stopAllHttp } from "./http-engine.ts";
import { closeAll } from "./net.ts";
import { killAll } from "./process.ts";
import { closeUdp } from "./udp.ts";
import { stopAllVanes } from "./vane.ts";

export async function stopAll(): Promise<void> {
  killAll();
  await stopAllVanes();
  await Promise.all([stopAllHttp(), stopAllHaproxy(), closeAll()]);
  closeUdp();
}
