/**
 * The config a worker runs: the primary's, minus what only the primary does (the
 * status endpoint, UDP listeners) and with every port the primary bound as port 0
 * replaced by the port it got, so that all workers share the same sockets' address.
 */
import type { Config } from "../config/model.ts";
import type { BoundListener } from "../vane.ts";
import { printConfig } from "../config/print.ts";

export function workerConfigText(config: Config, bound: BoundListener[]): string {
  const listeners = config.listeners.flatMap((l, i) => {
    // UDP has no SO_REUSEPORT session affinity here: its sessions live in the primary.
    if (l.address.protocol === "udp") return [];
    const b = bound.find((x) => x.config === l) ?? bound[i];
    if (l.address.port !== 0 || !b) return [l];
    const host = l.address.host.includes(":") ? `[${l.address.host}]` : l.address.host;
    const raw = `${l.address.protocol}://${host}:${b.addr.port}`;
    return [{ ...l, address: { ...l.address, port: b.addr.port, raw } }];
  });
  return printConfig({ ...config, listeners, control: { ...config.control, listen: null }, workers: 1 });
}
