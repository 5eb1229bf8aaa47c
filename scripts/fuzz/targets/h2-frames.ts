/**
 * FrameReader (src/http2/frame-reader.ts). Inputs are HTTP/2 frame streams built valid
 * from every frame type (padded, with priority fields, unknown types, SETTINGS with
 * repeated ids, the largest windows and codes) with vane's encoders and the test
 * helper's, under a SETTINGS_MAX_FRAME_SIZE of 16384 or more; then broken frame by
 * frame (a length that lies or sits on a bound, another type, flags flipped, stream 0
 * or the reserved bit, padding as long as the payload, a zero WINDOW_UPDATE, frames
 * dropped, repeated or cut short) and by generic byte mutations. Each input is read
 * whole and again in random pieces, the way a session reads (going on after stream
 * errors): the frames, stream errors, connection error and bytes held must agree, only
 * H2Error may be thrown, and a stream built valid must read to exactly its frames.
 */
import { ErrorCode, Flag, FrameType, MAX_MAX_FRAME_SIZE } from "../../../src/http2/constants.ts";
import { build, describeFrame, randomFrame, readEvents } from "../../../test/helpers/h2-frames.ts";
import type { Events } from "../../../test/helpers/h2-frames.ts";
import { concat, hex, randomSplit } from "../bytes.ts";
import { mutate } from "../mutate.ts";
import type { Rng } from "../rng.ts";
import { tally, type Target } from "../target.ts";

export interface H2FramesInput {
  bytes: Uint8Array;
  /** The SETTINGS_MAX_FRAME_SIZE the reader enforces. */
  maxFrameSize: number;
  /** For a stream built valid: each frame as describeFrame writes it. */
  expect?: string[];
}

/** A stream of frames, each its own array so a mutation can pick one. */
interface Built {
  frames: Uint8Array[];
  expect: string[];
  maxFrameSize: number;
}

const MAX_FRAME_SIZES = [16_384, 16_384, 16_384, 16_385, 32_768, MAX_MAX_FRAME_SIZE];

function buildStream(rng: Rng): Built {
  const maxFrameSize = rng.pick(MAX_FRAME_SIZES);
  const count = rng.chance(0.05) ? rng.range(20, 200) : rng.range(1, 8);
  const frames: Uint8Array[] = [];
  const expect: string[] = [];
  for (let i = 0; i < count; i++) {
    const { frame, pad } = randomFrame(rng);
    const b = build(frame, pad, rng.chance(0.05));
    frames.push(b.bytes);
    expect.push(describeFrame(b.expect));
  }
  return { frames, expect, maxFrameSize };
}

const FLAG_BITS = [Flag.END_STREAM, Flag.END_HEADERS, Flag.PADDED, Flag.PRIORITY, 0x2, 0x40, 0x80];

function lengthOf(f: Uint8Array): number {
  return (f[0] << 16) | (f[1] << 8) | f[2];
}

function setLength(f: Uint8Array, n: number): void {
  f[0] = (n >>> 16) & 0xff;
  f[1] = (n >>> 8) & 0xff;
  f[2] = n & 0xff;
}

/** A length on a bound, or the frame's own off by a little. */
function lyingLength(rng: Rng, f: Uint8Array, maxFrameSize: number): number {
  const own = lengthOf(f);
  return rng.pick([
    0,
    1,
    3,
    4,
    5,
    6,
    7,
    8,
    9,
    own - 1,
    own + 1,
    own + rng.range(-9, 9),
    maxFrameSize,
    maxFrameSize + 1,
  ]) &
    0xffffff;
}

/** One frame broken in one of the ways its header or fixed fields can lie. */
function breakFrame(rng: Rng, f: Uint8Array, maxFrameSize: number): void {
  switch (rng.int(8)) {
    case 0:
      return setLength(f, lyingLength(rng, f, maxFrameSize));
    case 1:
      f[3] = rng.chance(0.7) ? rng.int(10) : rng.int(256);
      return;
    case 2:
      f[4] ^= rng.chance(0.8) ? rng.pick(FLAG_BITS) : rng.int(256);
      return;
    case 3:
      f[5] = rng.pick([0, 0x80]);
      if (rng.chance(0.6)) f[6] = f[7] = f[8] = 0;
      else f[8] = rng.int(256);
      return;
    case 4:
      // Padding: the pad length byte of a frame made PADDED, as long as the payload or near it.
      f[4] |= Flag.PADDED;
      if (f.length > 9) f[9] = Math.max(0, lengthOf(f) - rng.range(-1, 2)) & 0xff;
      return;
    case 5:
      // A zero increment where a WINDOW_UPDATE's would be.
      f[3] = FrameType.WINDOW_UPDATE;
      setLength(f, 4);
      if (f.length >= 13) {
        f[9] =
          f[10] =
          f[11] =
          f[12] =
            rng.chance(0.5) ? 0 : 0x80;
      }
      return;
    case 6:
      f[3] = rng.pick([FrameType.SETTINGS, FrameType.PING, FrameType.GOAWAY, FrameType.PRIORITY, FrameType.RST_STREAM]);
      return;
    default:
      if (f.length > 9) f[9 + rng.int(f.length - 9)] = rng.int(256);
  }
}

/** A built stream with some frames broken, dropped, repeated or cut. */
function breakStream(rng: Rng, s: Built): Uint8Array {
  const frames = s.frames.map((f) => f.slice());
  const rounds = rng.range(1, 3);
  for (let i = 0; i < rounds && frames.length > 0; i++) {
    const at = rng.int(frames.length);
    const r = rng.int(10);
    if (r < 7) breakFrame(rng, frames[at], s.maxFrameSize);
    else if (r === 7) frames.splice(at, 1);
    else if (r === 8) frames.splice(at, 0, frames[at].slice());
    else frames[at] = frames[at].subarray(0, rng.int(frames[at].length));
  }
  return concat(frames);
}

/** `buf` in random pieces (byte by byte sometimes, up to 200 bytes long). */
function split(rng: Rng, buf: Uint8Array): Uint8Array[] {
  return randomSplit(rng, buf, 200);
}

function corpus(): H2FramesInput[] {
  const make = (frames: Parameters<typeof build>[]): H2FramesInput => {
    const built = frames.map((args) => build(...args));
    return {
      bytes: concat(built.map((b) => b.bytes)),
      maxFrameSize: 16_384,
      expect: built.map((b) => describeFrame(b.expect)),
    };
  };
  const bytes = (n: number) => new Uint8Array(n).fill(0x61);
  return [
    make([
      [{ type: "settings", stream: 0, ack: false, params: [[3, 100], [4, 1 << 20]] }],
      [{ type: "window_update", stream: 0, increment: 1 << 20 }],
      [{ type: "headers", stream: 1, endStream: true, endHeaders: true, fragment: bytes(20), priority: null }],
      [{ type: "settings", stream: 0, ack: true, params: [] }],
    ]),
    make([[{ type: "data", stream: 1, endStream: false, data: bytes(100), flowLength: 0 }, 20]]),
    make([[{
      type: "headers",
      stream: 3,
      endStream: false,
      endHeaders: false,
      fragment: bytes(5),
      priority: { exclusive: true, dependsOn: 1, weight: 16 },
    }, 4], [{ type: "continuation", stream: 3, endHeaders: true, fragment: bytes(5) }]]),
    make([[{ type: "ping", stream: 0, ack: false, data: bytes(8) }], [{
      type: "goaway",
      stream: 0,
      lastStream: 7,
      code: ErrorCode.ENHANCE_YOUR_CALM,
      debug: bytes(3),
    }]]),
    make([[{ type: "unknown", frameType: 0x10, flags: 0, stream: 1, payload: bytes(5) }], [{
      type: "rst_stream",
      stream: 1,
      code: ErrorCode.CANCEL,
    }]]),
  ];
}

function sameEvents(a: Events, b: Events): boolean {
  return a.buffered === b.buffered && a.lines.length === b.lines.length && a.lines.every((l, i) => l === b.lines[i]);
}

function summary(e: Events): string {
  const last = e.lines.length > 0 ? e.lines[e.lines.length - 1].slice(0, 120) : "none";
  return `${e.lines.length} events, last ${last}; ${e.buffered} bytes held`;
}

function outcome(e: Events, built: boolean): string {
  if (e.failed !== null) return `connection error: ${e.failed.message.replace(/0x[0-9a-f]+|\d+/g, "N")}`;
  const streamErrors = e.lines.some((l) => l.startsWith("error "));
  if (streamErrors) return "stream error(s), then read on";
  if (e.buffered > 0) return "frames, then a cut frame held";
  return built ? "frames (built valid)" : "frames";
}

export const h2Frames: Target<H2FramesInput> = {
  name: "h2-frames",
  ciCount: 12_000,
  corpus,
  generate(rng, seeds) {
    const r = rng.int(100);
    if (r < 5) return rng.pick(seeds);
    if (r < 50) {
      const s = buildStream(rng);
      return { bytes: concat(s.frames), maxFrameSize: s.maxFrameSize, expect: s.expect };
    }
    if (r < 95) {
      const s = buildStream(rng);
      let bytes = rng.chance(0.8) ? breakStream(rng, s) : concat(s.frames);
      if (rng.chance(0.4)) bytes = mutate(rng, bytes, { corpus: seeds.map((c) => c.bytes), maxLength: 256 * 1024 });
      return { bytes, maxFrameSize: s.maxFrameSize };
    }
    return { bytes: rng.bytes(rng.small(300)), maxFrameSize: 16_384 };
  },
  check(input, rng) {
    const whole = readEvents([input.bytes], input.maxFrameSize);
    tally(outcome(whole, input.expect !== undefined));
    const pieces = split(rng, input.bytes);
    const parts = readEvents(pieces, input.maxFrameSize);
    if (!sameEvents(whole, parts)) {
      const at = whole.lines.findIndex((l, i) => l !== parts.lines[i]);
      return `split into ${pieces.map((p) => p.length).join("+")} bytes: ${summary(parts)}; whole: ${summary(whole)}` +
        (at >= 0 ? `; first difference at event ${at}: ${parts.lines[at]?.slice(0, 120)}` : "");
    }
    const e = input.expect;
    if (e && (whole.failed !== null || whole.buffered !== 0 || whole.lines.join("\n") !== e.join("\n"))) {
      const at = e.findIndex((l, i) => l !== whole.lines[i]);
      return `a valid stream of ${e.length} frames read as ${summary(whole)}; first difference at frame ${at}: ` +
        `${whole.lines[at]?.slice(0, 160)} instead of ${e[at]?.slice(0, 160)}`;
    }
    return null;
  },
  show: (input) =>
    `max frame size ${input.maxFrameSize}\n  hex ${hex(input.bytes)}` +
    (input.expect ? `\n  built valid: ${input.expect.length} frames` : ""),
};
