/**
 * vane's HTTP/2 frame layer against a second implementation: hyperframe (Debian's
 * python3-hyperframe, installed with python3-h2), run as a Python child process
 * (test/fixtures/http2/hyperframe_interop.py). Frames hyperframe serialized must read,
 * whole and in random pieces, to what hyperframe says they hold; frames vane's encoders
 * made must parse in hyperframe to what vane meant.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { type Frame, FrameReader, headerFrames, MORE_TO_COME } from "../../src/http2/frames.ts";
import { encodeSettings } from "../../src/http2/settings.ts";
import { Rng } from "../../scripts/fuzz/rng.ts";
import { build, concatBytes, hex, randomFrame } from "../helpers/h2-frames.ts";

const SCRIPT = fileURLToPath(new URL("../fixtures/http2/hyperframe_interop.py", import.meta.url));
/** Debian's interpreter, where apt puts hyperframe (a python3 first on PATH may be another one). */
const PYTHON = existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
const FRAMES = 400;
const SEEDS = [1, 2, 3];

function python(args: string[], input = ""): unknown {
  const r = spawnSync(PYTHON, [SCRIPT, ...args], { input, encoding: "utf8", maxBuffer: 64 << 20, timeout: 15_000 });
  if (r.status !== 0) throw new Error(`${PYTHON} ${args.join(" ")} exited ${r.status}: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

/** A Frame as plain JSON with its byte fields in hex: the form the Python side prints. */
function plain(f: Frame): Record<string, unknown> {
  return Object.fromEntries(Object.entries(f).map(([k, v]) => [k, v instanceof Uint8Array ? hex(v) : v]));
}

function fromHex(h: string): Uint8Array {
  return Uint8Array.from({ length: h.length / 2 }, (_, i) => parseInt(h.slice(2 * i, 2 * i + 2), 16));
}

/** Every frame in `wire` read by one reader, fed in pieces cut at random. */
function readInPieces(wire: Uint8Array, rng: Rng): Record<string, unknown>[] {
  const reader = new FrameReader({ maxFrameSize: 16_384 });
  const out: Record<string, unknown>[] = [];
  for (let at = 0; at < wire.length;) {
    const end = Math.min(wire.length, at + 1 + rng.int(rng.chance(0.5) ? 16 : 20_000));
    // Described at once: a frame's bytes may be views into this piece, valid until the next push.
    for (const f of reader.push(wire.slice(at, end))) out.push(plain(f));
    at = end;
  }
  expect(reader.buffered).toBe(0);
  return out;
}

describe("frames hyperframe serialized, read by FrameReader", () => {
  for (const seed of SEEDS) {
    it(`${FRAMES} random frames (seed ${seed}) read whole, one by one and in random pieces to what hyperframe says`, () => {
      const { frames } = python(["emit", String(seed), String(FRAMES)]) as {
        frames: Array<{ hex: string; frame: Record<string, unknown> }>;
      };
      expect(frames.length).toBe(FRAMES);
      const want = frames.map((f) => f.frame);
      expect(new Set(want.map((f) => f.type)).size).toBe(11);
      for (const f of frames) {
        expect(new FrameReader({ maxFrameSize: 16_384 }).push(fromHex(f.hex)).map(plain)).toEqual([f.frame]);
      }
      const wire = concatBytes(frames.map((f) => fromHex(f.hex)));
      expect(new FrameReader({ maxFrameSize: 16_384 }).push(wire).map(plain)).toEqual(want);
      expect(readInPieces(wire, new Rng(seed))).toEqual(want);
    });
  }
});

/**
 * Frames hyperframe reads otherwise than vane, by design, are left out: a HEADERS frame
 * that is all padding (no fragment, no priority fields), which hyperframe refuses, one
 * byte stricter than RFC 9113 §6.2 ("padding ... the length of the frame payload or
 * greater"; vane reads it, as Go's x/net does); type 0xa, which hyperframe knows as
 * ALTSVC; SETTINGS naming an identifier twice, which hyperframe keeps in a dict.
 */
function hyperframeReads({ frame: f, pad }: { frame: Frame; pad: number | null }): boolean {
  if (f.type === "headers") return !(pad && f.fragment.length === 0 && f.priority === null);
  if (f.type === "unknown") return f.frameType !== 0xa;
  if (f.type === "settings") return new Set(f.params.map(([id]) => id)).size === f.params.length;
  return true;
}

describe("frames vane's encoders made, parsed by hyperframe", () => {
  for (const seed of SEEDS) {
    it(`${FRAMES} random frames (seed ${seed}) parse in hyperframe to what vane wrote`, () => {
      const rng = new Rng(seed, 0x48325246);
      const made: Array<{ frame: Frame; pad: number | null }> = [];
      while (made.length < FRAMES) {
        const f = randomFrame(rng);
        if (hyperframeReads(f)) made.push(f);
      }
      const built = made.map((m) => build(m.frame, m.pad));
      const got = python(["parse"], JSON.stringify(built.map((b) => hex(b.bytes))));
      expect(got).toEqual(built.map((b) => plain(b.expect)));
    });
  }

  it("a field block split by headerFrames, and vane's SETTINGS, parse in hyperframe", () => {
    const block = Uint8Array.from({ length: 40_000 }, (_, i) => (i * 7) & 0xff);
    const frames = [
      ...headerFrames(3, block, MORE_TO_COME, 16_384),
      encodeSettings({
        enablePush: false,
        maxConcurrentStreams: 100,
        initialWindowSize: 1 << 20,
        maxFrameSize: 65_536,
      }),
    ];
    const got = python(["parse"], JSON.stringify(frames.map(hex))) as Array<Record<string, unknown>>;
    expect(got.map((f) => [f.type, f.endHeaders])).toEqual([
      ["headers", false],
      ["continuation", false],
      ["continuation", true],
      ["settings", undefined],
    ]);
    expect(got.slice(0, 3).map((f) => f.fragment).join("")).toBe(hex(block));
    expect(got[3].params).toEqual([[2, 0], [3, 100], [4, 1 << 20], [5, 65_536]]);
  });
});
