/**
 * A real DNS server for tests: Debian's dnsmasq on a free loopback port, over UDP and
 * TCP on the same port as a real resolver, serving only the records given (no upstream,
 * no /etc/hosts). Shares no code with vane's resolver, and unlike dns-server.ts it sets
 * TC on a UDP answer longer than the asker's EDNS size and answers it whole over TCP.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { freePort } from "./net.ts";

export const DNSMASQ = "/usr/sbin/dnsmasq";
export const haveDnsmasq = () => existsSync(DNSMASQ);

export interface Dnsmasq {
  port: number;
  /** What dnsmasq logged (its queries, with --log-queries). */
  readonly output: string;
  stop(): Promise<void>;
}

/** An SRV record and the A record of its target (127.0.0.1). */
export interface SrvHost {
  service: string;
  target: string;
  port: number;
  priority: number;
  weight: number;
}

/** dnsmasq answering these SRV records (and A 127.0.0.1 for each target); resolves once it listens. */
export async function startDnsmasq(records: SrvHost[]): Promise<Dnsmasq> {
  const port = await freePort();
  const args = [
    "--keep-in-foreground",
    "--conf-file=/dev/null",
    "--no-resolv",
    "--no-hosts",
    "--listen-address=127.0.0.1",
    "--bind-interfaces",
    `--port=${port}`,
    "--pid-file=",
    "--user=root",
    "--log-facility=-",
    "--log-queries",
  ];
  for (const r of records) {
    args.push(`--srv-host=${r.service},${r.target},${r.port},${r.priority},${r.weight}`);
    args.push(`--host-record=${r.target},127.0.0.1`);
  }
  const child: ChildProcess = spawn(DNSMASQ, args, { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  await new Promise<void>((resolve, reject) => {
    const take = (d: Buffer) => {
      output += d.toString();
      // "started" comes once the sockets are bound.
      if (output.includes("started, version")) resolve();
    };
    child.stdout!.on("data", take);
    child.stderr!.on("data", take);
    child.once("exit", (code) => reject(new Error(`dnsmasq exited ${code}: ${output}`)));
  });
  return {
    port,
    get output() {
      return output;
    },
    async stop() {
      child.kill("SIGTERM");
      await exited;
    },
  };
}
