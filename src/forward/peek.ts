/**
 * Reads a connection's first bytes until a detector can decide what they are, within
 * a size bound and a time bound, then gives the bytes back to the connection so they
 * are forwarded untouched. A client that sends nothing (server-speaks-first
 * protocols such as SMTP or MySQL) ends the peek at the timeout with no bytes.
 */
import type { ReplayConn } from "./replay-conn.ts";
import { concatBytes } from "../runtime/byte-arrays.ts";

/** The detector answers a decision, or undefined while it needs more bytes. */
export type Detector<T> = (buf: Uint8Array) => T | undefined;

export type PeekOutcome<T> =
  | { kind: "decided"; value: T; bytes: Uint8Array }
  /** The time bound passed first; `bytes` may be empty. */
  | { kind: "timeout"; bytes: Uint8Array }
  /** The client closed (FIN) before a decision. */
  | { kind: "eof"; bytes: Uint8Array }
  | { kind: "too-big"; bytes: Uint8Array };

export async function peek<T>(
  conn: ReplayConn,
  detect: Detector<T>,
  maxBytes: number,
  timeoutMs: number,
): Promise<PeekOutcome<T>> {
  const deadline = conn.clock.now() + timeoutMs;
  let buf: Uint8Array = new Uint8Array(0);
  try {
    for (;;) {
      const chunk = await conn.readWithin(Math.max(0, deadline - conn.clock.now()));
      if (chunk === "timeout") return { kind: "timeout", bytes: buf };
      if (chunk === null) return { kind: "eof", bytes: buf };
      // Copied: the adapter may reuse the buffer behind `chunk` on its next read.
      buf = concatBytes(buf, chunk);
      const value = detect(buf);
      if (value !== undefined) return { kind: "decided", value, bytes: buf };
      if (buf.length >= maxBytes) return { kind: "too-big", bytes: buf };
    }
  } finally {
    conn.unread(buf);
  }
}
