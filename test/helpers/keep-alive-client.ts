/**
 * A raw keep-alive HTTP/1.1 client that behaves like wrk: it sends the next GET as soon
 * as the previous answer is whole (Content-Length framed), on one connection, and
 * counts what it sent and what came back, so a test can tell a lost request from an
 * answered one.
 */
import net from "node:net";

export interface LoopStats {
  sent: number;
  answered: number;
  /** Each answer's status code, in order. */
  statuses: number[];
  /** The last answer's head said `Connection: close` (it was the last one waited for). */
  toldClose: boolean;
  /** Why it ended: "end" (the server closed, or said it would), "error", "limit". */
  ended: "" | "end" | "error" | "limit";
}

export interface LoopOptions {
  /** At most this many requests (the loop's bound). */
  limit: number;
  host?: string;
  path?: string;
}

export function keepAliveLoop(port: number, options: LoopOptions): { stats: LoopStats; done: Promise<LoopStats> } {
  const { limit, host = "t", path = "/loop" } = options;
  const stats: LoopStats = { sent: 0, answered: 0, statuses: [], toldClose: false, ended: "" };
  const done = new Promise<LoopStats>((resolve) => {
    const s = net.connect(port, "127.0.0.1");
    let buf = "";
    const finish = (why: LoopStats["ended"]) => {
      if (stats.ended) return;
      stats.ended = why;
      s.destroy();
      resolve(stats);
    };
    const ask = () => {
      stats.sent++;
      s.write(`GET ${path} HTTP/1.1\r\nHost: ${host}\r\n\r\n`);
    };
    s.on("connect", ask);
    s.on("data", (d) => {
      buf += d.toString("latin1");
      for (;;) {
        const end = buf.indexOf("\r\n\r\n");
        if (end < 0) return;
        const head = buf.slice(0, end).toLowerCase();
        const length = Number(/content-length: (\d+)/.exec(head)?.[1] ?? 0);
        if (buf.length < end + 4 + length) return;
        buf = buf.slice(end + 4 + length);
        stats.answered++;
        stats.statuses.push(Number(head.slice(9, 12)));
        if (/\r\nconnection: close/.test(head)) {
          stats.toldClose = true;
          return finish("end");
        }
        if (stats.sent >= limit) return finish("limit");
        ask();
      }
    });
    s.on("end", () => finish("end"));
    s.on("error", () => finish("error"));
  });
  return { stats, done };
}
