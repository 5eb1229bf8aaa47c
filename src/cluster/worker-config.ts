/**
 * The config a worker runs: the primary's, minus what only the primary does (the
 * status endpoint; UDP listeners where the runtime cannot share a UDP port) and with
 * every port the primary bound as port 0 replaced by the port it got, so that all
 * workers share the same sockets' address.
 */
import type { Config } from "../config/model.ts";
import type { BoundListener } from "../server/vane.ts";
import { printConfig } from "../config/print.ts";

export function workerConfigText(config: Config, bound: BoundListener[], options: { udp: boolean }): string {
  const listeners = config.listeners.flatMap((l, i) => {
    // With SO_REUSEPORT the kernel keeps each client on one socket, so its session lives
    // in one process; without it (Deno) UDP sessions live in the primary alone.
    if (l.address.protocol === "udp" && !options.udp) return [];
    const b = bound.find((x) => x.config === l) ?? bound[i];
    if (l.address.port !== 0 || !b) return [l];
    const host = l.address.host.includes(":") ? `[${l.address.host}]` : l.address.host;
    const raw = `${l.address.protocol}://${host}:${b.addr.port}`;
    return [{ ...l, address: { ...l.address, port: b.addr.port, raw } }];
  });
  return printConfig({ ...config, listeners, control: { ...config.control, listen: null }, workers: 1 });
}
