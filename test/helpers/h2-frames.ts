/**
 * HTTP/2 frames for tests and the h2-frames fuzz target: `build` writes any Frame (with
 * padding, priority fields or a set reserved bit, which vane's encoders never send) and
 * returns what FrameReader must read back; `readEvents` feeds pieces to a FrameReader
 * the way a session would (going on after stream errors, stopping at a connection
 * error) and describes every frame and error as one line of text, so two feedings
 * compare with one equality. It also checks the reader's view contract: each piece is
 * pushed from a scratch buffer that is scribbled over right after the frames are read.
 */
import { Flag, FrameType } from "../../src/http2/constants.ts";
import { H2Error } from "../../src/http2/errors.ts";
import {
  dataFrame,
  encodeFrame,
  type Frame,
  FrameReader,
  FrameReadError,
  goawayFrame,
  pingFrame,
  rstStreamFrame,
  settingsAck,
  settingsFrame,
  type StreamPriority,
  windowUpdateFrame,
} from "../../src/http2/frames.ts";

export function hex(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += b.toString(16).padStart(2, "0");
  return s;
}

export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export function u32(n: number): Uint8Array {
  return Uint8Array.of(n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
}

function priorityBytes(p: StreamPriority): Uint8Array {
  const out = concatBytes([u32(p.dependsOn), Uint8Array.of(p.weight - 1)]);
  if (p.exclusive) out[0] |= 0x80;
  return out;
}

/** `fields` then `content`, behind a pad length byte and followed by `pad` zero bytes when pad is not null. */
function padded(pad: number | null, fields: Uint8Array, content: Uint8Array): { flags: number; payload: Uint8Array } {
  if (pad === null) return { flags: 0, payload: concatBytes([fields, content]) };
  return { flags: Flag.PADDED, payload: concatBytes([Uint8Array.of(pad), fields, content, new Uint8Array(pad)]) };
}

const NONE = new Uint8Array(0);

/** The payload of a padded-capable frame (DATA, HEADERS, PUSH_PROMISE), and its flags. */
function paddable(f: Frame, pad: number | null): { type: number; flags: number; payload: Uint8Array } | null {
  if (f.type === "data") {
    const p = padded(pad, NONE, f.data);
    return { type: FrameType.DATA, flags: p.flags | (f.endStream ? Flag.END_STREAM : 0), payload: p.payload };
  }
  if (f.type === "headers") {
    const p = padded(pad, f.priority ? priorityBytes(f.priority) : NONE, f.fragment);
    const flags = p.flags | (f.endStream ? Flag.END_STREAM : 0) | (f.endHeaders ? Flag.END_HEADERS : 0) |
      (f.priority ? Flag.PRIORITY : 0);
    return { type: FrameType.HEADERS, flags, payload: p.payload };
  }
  if (f.type === "push_promise") {
    const p = padded(pad, u32(f.promised), f.fragment);
    return { type: FrameType.PUSH_PROMISE, flags: p.flags | (f.endHeaders ? Flag.END_HEADERS : 0), payload: p.payload };
  }
  return null;
}

/** The bytes of a frame no padding applies to, with vane's encoders where it has one. */
function unpadded(f: Frame): Uint8Array {
  switch (f.type) {
    case "data":
      return dataFrame(f.stream, f.data, f.endStream);
    case "priority":
      return encodeFrame(FrameType.PRIORITY, 0, f.stream, priorityBytes(f.priority));
    case "rst_stream":
      return rstStreamFrame(f.stream, f.code);
    case "settings":
      return f.ack ? settingsAck() : settingsFrame(f.params);
    case "ping":
      return pingFrame(f.data, f.ack);
    case "goaway":
      return goawayFrame(f.lastStream, f.code, f.debug);
    case "window_update":
      return windowUpdateFrame(f.stream, f.increment);
    case "continuation":
      return encodeFrame(FrameType.CONTINUATION, f.endHeaders ? Flag.END_HEADERS : 0, f.stream, f.fragment);
    case "unknown":
      return encodeFrame(f.frameType, f.flags, f.stream, f.payload);
    default:
      throw new Error(`${f.type} is built by paddable`);
  }
}

/**
 * `frame` on the wire: padded with `pad` zero bytes when pad is not null (DATA, HEADERS,
 * PUSH_PROMISE only); with `reserved`, the stream identifier's reserved bit set (a
 * reader must ignore it). `expect` is what reading it must give: the frame, with a DATA
 * frame's flowLength set to its payload length.
 */
export function build(frame: Frame, pad: number | null = null, reserved = false): { bytes: Uint8Array; expect: Frame } {
  const p = paddable(frame, pad);
  const bytes = p === null || (pad === null && frame.type === "data")
    ? unpadded(frame)
    : encodeFrame(p.type, p.flags, frame.stream, p.payload);
  if (reserved) bytes[5] |= 0x80;
  const length = (bytes[0] << 16) | (bytes[1] << 8) | bytes[2];
  return { bytes, expect: frame.type === "data" ? { ...frame, flowLength: length } : frame };
}

/** Bytes in hex when short, else their length and FNV-1a hash (describing 16 KiB in hex is slow). */
function bytesText(b: Uint8Array): string {
  if (b.length <= 32) return hex(b);
  let h = 0x811c9dc5;
  for (let i = 0; i < b.length; i++) h = Math.imul(h ^ b[i], 0x01000193);
  return `${b.length}B#${(h >>> 0).toString(16)}`;
}

/** One line per frame, byte fields in hex (or length and hash), keys in a fixed order. */
export function describeFrame(f: Frame): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(f)) {
    const text = v instanceof Uint8Array ? bytesText(v) : JSON.stringify(v);
    parts.push(`${k}=${text}`);
  }
  return parts.sort().join(" ");
}

export function describeError(e: H2Error): string {
  return `error code=${e.code} stream=${e.stream}`;
}

/** What feeding some bytes came to: every frame and stream error in order, the connection error if any, and the bytes left held. */
export interface Events {
  lines: string[];
  /** The connection error that ended the reading, or null. */
  failed: H2Error | null;
  buffered: number;
}

/**
 * Feeds `pieces` to a new reader as a session would. Frames are described as soon as
 * push() returns them, then the piece's scratch copy is scribbled over, so a frame that
 * kept a view into an old chunk reads wrong. Anything thrown but an H2Error propagates.
 */
export function readEvents(pieces: readonly Uint8Array[], maxFrameSize = 16_384): Events {
  const reader = new FrameReader({ maxFrameSize });
  const lines: string[] = [];
  for (const piece of pieces) {
    const scratch = piece.slice();
    let input = scratch;
    for (;;) {
      try {
        for (const f of reader.push(input)) lines.push(describeFrame(f));
        break;
      } catch (e) {
        if (!(e instanceof FrameReadError)) throw e;
        for (const f of e.before) lines.push(describeFrame(f));
        lines.push(describeError(e));
        if (e.stream === 0) return { lines, failed: e, buffered: reader.buffered };
        input = new Uint8Array(0);
      }
    }
    scratch.fill(0xa5);
  }
  return { lines, failed: null, buffered: reader.buffered };
}

/** `bytes` cut at given offsets: the fuzz runner's, so tests and fuzzing cut alike. */
export { cutAt } from "../../scripts/fuzz/bytes.ts";

/** What randomFrame draws from (the fuzz runner's Rng is one). */
export interface Random {
  /** An integer in [0, n). */
  int(n: number): number;
  chance(p: number): boolean;
}

function randomBytes(r: Random, most: number): Uint8Array {
  const n = r.chance(0.2) ? 0 : r.chance(0.7) ? r.int(64) : r.int(most + 1);
  const out = new Uint8Array(n);
  // A xorshift seeded once: one draw per frame rather than per byte, for the fuzz target's speed.
  let x = r.int(0x100000000) | 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

function randomStream(r: Random): number {
  return r.chance(0.5) ? 1 + 2 * r.int(50) : 1 + r.int(0x7fffffff);
}

function randomU32(r: Random): number {
  return r.chance(0.5) ? r.int(14) : r.chance(0.5) ? 0xffffffff : r.int(0x100000000);
}

function randomPriority(r: Random): StreamPriority {
  return { exclusive: r.chance(0.5), dependsOn: r.chance(0.3) ? 0 : randomStream(r), weight: 1 + r.int(256) };
}

/** Types vane does not know, as extensions use them (ALTSVC 0xa, ORIGIN 0xc, PRIORITY_UPDATE 0x10) and any. */
const UNKNOWN_TYPES = [0xa, 0xb, 0xc, 0x10, 0xfe, 0xff];

/**
 * A valid frame of any type, all of whose payload fits 16384 bytes, and the padding to
 * write it with (null: none; only for DATA, HEADERS and PUSH_PROMISE).
 */
export function randomFrame(r: Random): { frame: Frame; pad: number | null } {
  const pad = r.chance(0.3) ? (r.chance(0.2) ? 255 : r.int(256)) : null;
  const stream = randomStream(r);
  const b = () => r.chance(0.5);
  switch (r.int(11)) {
    case 0:
      return { frame: { type: "data", stream, endStream: b(), data: randomBytes(r, 16_000), flowLength: 0 }, pad };
    case 1: {
      const priority = b() ? randomPriority(r) : null;
      const fragment = randomBytes(r, 8_000);
      return { frame: { type: "headers", stream, endStream: b(), endHeaders: b(), fragment, priority }, pad };
    }
    case 2:
      return { frame: { type: "priority", stream, priority: randomPriority(r) }, pad: null };
    case 3:
      return { frame: { type: "rst_stream", stream, code: randomU32(r) }, pad: null };
    case 4: {
      const ack = r.chance(0.2);
      const params = Array.from({ length: ack ? 0 : r.int(10) }, (): [number, number] => [r.int(12), randomU32(r)]);
      return { frame: { type: "settings", stream: 0, ack, params }, pad: null };
    }
    case 5: {
      const promised = 2 + 2 * r.int(0x3fffffff);
      return {
        frame: { type: "push_promise", stream, endHeaders: b(), promised, fragment: randomBytes(r, 2_000) },
        pad,
      };
    }
    case 6: {
      const data = Uint8Array.from({ length: 8 }, () => r.int(256));
      return { frame: { type: "ping", stream: 0, ack: b(), data }, pad: null };
    }
    case 7: {
      const lastStream = r.chance(0.2) ? 0 : randomStream(r);
      return {
        frame: { type: "goaway", stream: 0, lastStream, code: randomU32(r), debug: randomBytes(r, 500) },
        pad: null,
      };
    }
    case 8: {
      const increment = r.chance(0.2) ? 0x7fffffff : 1 + r.int(0x7fffffff);
      return { frame: { type: "window_update", stream: b() ? 0 : stream, increment }, pad: null };
    }
    case 9:
      return { frame: { type: "continuation", stream, endHeaders: b(), fragment: randomBytes(r, 8_000) }, pad: null };
    default: {
      const frameType = UNKNOWN_TYPES[r.int(UNKNOWN_TYPES.length)];
      const frame: Frame = {
        type: "unknown",
        frameType,
        flags: r.int(256),
        stream: b() ? 0 : stream,
        payload: randomBytes(r, 500),
      };
      return { frame, pad: null };
    }
  }
}
