/**
 * The HTTP/2 frame layer (src/http2/frames.ts): every frame type written and read back
 * whole and cut at every byte, padding and priority fields, unknown types, many frames
 * in one chunk, every rule FrameReader enforces (one `it` each, with the error code and
 * its scope), going on after a stream error, the view contract, and the encoders.
 */
import { describe, expect, it } from "vitest";
import {
  CLIENT_PREFACE,
  ErrorCode,
  errorCodeName,
  Flag,
  FrameType,
  frameTypeName,
  MAX_MAX_FRAME_SIZE,
} from "../../src/http2/constants.ts";
import { connectionError, H2Error, streamError } from "../../src/http2/errors.ts";
import {
  dataFrame,
  encodeFrame,
  END_STREAM,
  type Frame,
  FrameReader,
  FrameReadError,
  goawayFrame,
  headerFrames,
  headersFrameAround,
  headersFrameIn,
  MORE_TO_COME,
  PING_ACK,
  PING_REQUEST,
  pingFrame,
  rstStreamFrame,
  settingsFrame,
  windowUpdateFrame,
} from "../../src/http2/frames.ts";
import { build, concatBytes, cutAt, describeFrame, readEvents, u32 } from "../helpers/h2-frames.ts";

const bytes = (...b: number[]) => Uint8Array.from(b);
const text = (s: string) => new TextEncoder().encode(s);
const NO_PADDING = null;
const RESERVED_BIT_SET = true;

/** A frame header with any length, type, flags and stream, then `payload`. */
function raw(
  length: number,
  type: number,
  flags: number,
  stream: number,
  payload: Uint8Array = new Uint8Array(0),
): Uint8Array {
  const h = Uint8Array.of(length >>> 16, (length >>> 8) & 0xff, length & 0xff, type, flags);
  return concatBytes([h, u32(stream), payload]);
}

function readOne(b: Uint8Array, maxFrameSize = 16_384): Frame[] {
  return new FrameReader({ maxFrameSize }).push(b);
}

/** The H2Error reading `b` whole throws (failing the test if it throws nothing or something else). */
function errorOf(b: Uint8Array): H2Error {
  try {
    readOne(b);
  } catch (e) {
    if (e instanceof H2Error) return e;
    throw e;
  }
  throw new Error("no error");
}

function expectConnectionError(b: Uint8Array, code: number): void {
  const e = errorOf(b);
  expect([errorCodeName(e.code), e.stream]).toEqual([errorCodeName(code), 0]);
}

/** Reads `b` whole, cut at every byte boundary, and byte by byte: all must give `expected`. */
function expectEverySplit(b: Uint8Array, expected: Frame[]): void {
  const want = expected.map(describeFrame);
  expect(readEvents([b]).lines).toEqual(want);
  for (let cut = 0; cut <= b.length; cut++) {
    const got = readEvents(cutAt(b, [cut]));
    expect({ cut, lines: got.lines, buffered: got.buffered }).toEqual({ cut, lines: want, buffered: 0 });
  }
  expect(readEvents(Array.from(b, (_, i) => b.subarray(i, i + 1))).lines).toEqual(want);
}

const SAMPLES: Array<{ name: string; frame: Frame; pad?: number }> = [
  { name: "DATA", frame: { type: "data", stream: 1, endStream: false, data: text("hello"), flowLength: 5 } },
  {
    name: "empty DATA with END_STREAM",
    frame: { type: "data", stream: 3, endStream: true, data: bytes(), flowLength: 0 },
  },
  {
    name: "padded DATA",
    frame: { type: "data", stream: 5, endStream: true, data: text("padded"), flowLength: 0 },
    pad: 10,
  },
  {
    name: "DATA padded by 0",
    frame: { type: "data", stream: 5, endStream: false, data: text("x"), flowLength: 0 },
    pad: 0,
  },
  {
    name: "DATA all padding",
    frame: { type: "data", stream: 7, endStream: false, data: bytes(), flowLength: 0 },
    pad: 255,
  },
  {
    name: "HEADERS",
    frame: {
      type: "headers",
      stream: 1,
      endStream: true,
      endHeaders: true,
      fragment: bytes(0x82, 0x86),
      priority: null,
    },
  },
  {
    name: "HEADERS without END_HEADERS",
    frame: {
      type: "headers",
      stream: 9,
      endStream: false,
      endHeaders: false,
      fragment: bytes(1, 2, 3),
      priority: null,
    },
  },
  {
    name: "HEADERS with PRIORITY",
    frame: {
      type: "headers",
      stream: 3,
      endStream: false,
      endHeaders: true,
      fragment: bytes(0x84),
      priority: { exclusive: true, dependsOn: 1, weight: 256 },
    },
  },
  {
    name: "padded HEADERS",
    frame: { type: "headers", stream: 11, endStream: false, endHeaders: true, fragment: bytes(0x87), priority: null },
    pad: 3,
  },
  {
    name: "padded HEADERS with PRIORITY",
    frame: {
      type: "headers",
      stream: 13,
      endStream: true,
      endHeaders: false,
      fragment: bytes(0x41, 0x42),
      priority: { exclusive: false, dependsOn: 0x7fffffff, weight: 1 },
    },
    pad: 7,
  },
  {
    name: "PRIORITY",
    frame: { type: "priority", stream: 5, priority: { exclusive: false, dependsOn: 3, weight: 16 } },
  },
  { name: "RST_STREAM", frame: { type: "rst_stream", stream: 7, code: ErrorCode.CANCEL } },
  { name: "RST_STREAM with an unknown code", frame: { type: "rst_stream", stream: 7, code: 0xffffffff } },
  {
    name: "SETTINGS",
    frame: {
      type: "settings",
      stream: 0,
      ack: false,
      params: [[0x3, 100], [0x4, 0x7fffffff], [0x9, 1], [0xffff, 0xffffffff], [0x3, 0]],
    },
  },
  { name: "empty SETTINGS", frame: { type: "settings", stream: 0, ack: false, params: [] } },
  { name: "SETTINGS ACK", frame: { type: "settings", stream: 0, ack: true, params: [] } },
  {
    name: "PUSH_PROMISE",
    frame: { type: "push_promise", stream: 1, endHeaders: true, promised: 2, fragment: bytes(0x82) },
  },
  {
    name: "padded PUSH_PROMISE",
    frame: { type: "push_promise", stream: 3, endHeaders: false, promised: 0x7ffffffe, fragment: bytes() },
    pad: 4,
  },
  { name: "PING", frame: { type: "ping", stream: 0, ack: false, data: bytes(1, 2, 3, 4, 5, 6, 7, 8) } },
  { name: "PING ACK", frame: { type: "ping", stream: 0, ack: true, data: bytes(0, 0, 0, 0, 0, 0, 0, 0xff) } },
  {
    name: "GOAWAY with debug data",
    frame: { type: "goaway", stream: 0, lastStream: 99, code: ErrorCode.ENHANCE_YOUR_CALM, debug: text("calm") },
  },
  { name: "GOAWAY", frame: { type: "goaway", stream: 0, lastStream: 0, code: 0x1234, debug: bytes() } },
  { name: "WINDOW_UPDATE", frame: { type: "window_update", stream: 0, increment: 0x7fffffff } },
  { name: "WINDOW_UPDATE on a stream", frame: { type: "window_update", stream: 21, increment: 1 } },
  {
    name: "CONTINUATION",
    frame: { type: "continuation", stream: 1, endHeaders: true, fragment: text("fragment") },
  },
  {
    name: "an unknown type",
    frame: { type: "unknown", frameType: 0xa, flags: 0xff, stream: 0, payload: text("altsvc") },
  },
];

describe("constants", () => {
  it("the client preface is PRI * HTTP/2.0 CRLF CRLF SM CRLF CRLF, 24 bytes", () => {
    expect(new TextDecoder().decode(CLIENT_PREFACE)).toBe("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
    expect(CLIENT_PREFACE.length).toBe(24);
  });

  it("names error codes and frame types, and shows unknown ones in hex", () => {
    expect(errorCodeName(ErrorCode.HTTP_1_1_REQUIRED)).toBe("HTTP_1_1_REQUIRED");
    expect(errorCodeName(0xff)).toBe("0xff");
    expect(frameTypeName(FrameType.CONTINUATION)).toBe("CONTINUATION");
    expect(frameTypeName(0x10)).toBe("frame type 0x10");
  });
});

describe("errors", () => {
  it("connectionError is on stream 0 and streamError on its stream, both H2Errors", () => {
    const c = connectionError(ErrorCode.PROTOCOL_ERROR, "x");
    const s = streamError(3, ErrorCode.CANCEL, "y");
    expect([c instanceof H2Error, c.stream, c.isConnectionError, c.describe()]).toEqual([
      true,
      0,
      true,
      "PROTOCOL_ERROR: x",
    ]);
    expect([s.code, s.stream, s.isConnectionError, s.describe()]).toEqual([0x8, 3, false, "CANCEL on stream 3: y"]);
  });
});

describe("round trips: each frame type written, then read whole, cut at every byte and byte by byte", () => {
  for (const s of SAMPLES) {
    it(s.name, () => {
      const { bytes: b, expect: want } = build(s.frame, s.pad ?? NO_PADDING);
      expectEverySplit(b, [want]);
    });
  }

  it("a padded DATA frame counts its whole payload for flow control", () => {
    const { bytes: b } = build({ type: "data", stream: 1, endStream: false, data: text("abc"), flowLength: 0 }, 10);
    const [f] = readOne(b);
    expect(f).toMatchObject({ type: "data", flowLength: 1 + 3 + 10 });
    expect(f.type === "data" && new TextDecoder().decode(f.data)).toBe("abc");
  });

  it("all the sample frames back to back in one chunk, and cut at every byte", () => {
    const built = SAMPLES.map((s) => build(s.frame, s.pad ?? NO_PADDING));
    expectEverySplit(concatBytes(built.map((b) => b.bytes)), built.map((b) => b.expect));
  });

  it("a thousand frames in one chunk come out in order", () => {
    const frames = Array.from({ length: 1000 }, (_, i) => dataFrame(2 * i + 1, u32(i), i % 2 === 0));
    const got = readOne(concatBytes(frames));
    expect(got.length).toBe(1000);
    expect(got.map((f) => f.stream)).toEqual(Array.from({ length: 1000 }, (_, i) => 2 * i + 1));
  });

  it("a frame cut across three pushes (inside the header, then inside the payload) comes out once, whole", () => {
    const b = dataFrame(1, text("three pushes"), END_STREAM);
    const reader = new FrameReader({ maxFrameSize: 16_384 });
    expect(reader.push(b.subarray(0, 4))).toEqual([]);
    expect(reader.push(b.subarray(4, 15))).toEqual([]);
    expect(reader.buffered).toBe(15);
    const [f] = reader.push(b.subarray(15));
    expect(describeFrame(f)).toBe(describeFrame(
      build(
        { type: "data", stream: 1, endStream: true, data: text("three pushes"), flowLength: 0 },
      ).expect,
    ));
    expect(reader.buffered).toBe(0);
  });

  it("an empty push returns nothing and changes nothing", () => {
    const reader = new FrameReader({ maxFrameSize: 16_384 });
    expect(reader.push(new Uint8Array(0))).toEqual([]);
    const b = pingFrame(new Uint8Array(8), PING_REQUEST);
    expect(reader.push(b.subarray(0, 3))).toEqual([]);
    expect(reader.push(new Uint8Array(0))).toEqual([]);
    expect(reader.push(b.subarray(3)).map((f) => f.type)).toEqual(["ping"]);
  });

  it("the reserved bit of the stream identifier is ignored on read", () => {
    const { bytes: b, expect: want } = build({ type: "rst_stream", stream: 5, code: 0 }, NO_PADDING, RESERVED_BIT_SET);
    expect(b[5] & 0x80).toBe(0x80);
    expect(readOne(b)).toEqual([want]);
  });

  it("the reserved bit of a WINDOW_UPDATE increment, a GOAWAY last stream and a promised stream is ignored", () => {
    const wu = encodeFrame(FrameType.WINDOW_UPDATE, 0, 1, u32(0x80000005));
    const ga = encodeFrame(FrameType.GOAWAY, 0, 0, concatBytes([u32(0x80000007), u32(0)]));
    const pp = encodeFrame(FrameType.PUSH_PROMISE, Flag.END_HEADERS, 1, u32(0x80000002));
    const [w, g, p] = readOne(concatBytes([wu, ga, pp]));
    expect([w, g, p]).toMatchObject([{ increment: 5 }, { lastStream: 7 }, { promised: 2 }]);
  });

  it("unknown frame types are handed out as 'unknown' between the frames around them, whatever their stream", () => {
    const got = readOne(concatBytes([
      raw(3, 0xff, 0x1, 0, bytes(1, 2, 3)),
      pingFrame(new Uint8Array(8), PING_ACK),
      raw(0, 0x10, 0, 7),
    ]));
    expect(got.map((f) => f.type === "unknown" ? `unknown 0x${f.frameType.toString(16)}` : f.type)).toEqual([
      "unknown 0xff",
      "ping",
      "unknown 0x10",
    ]);
  });
});

describe("views: payloads point into the pushed chunk while valid, and a carried frame is a copy", () => {
  it("a frame that arrived whole is a view into the chunk, not a copy", () => {
    const chunk = dataFrame(1, text("in place"), MORE_TO_COME);
    const [f] = readOne(chunk);
    expect(f.type === "data" && f.data.buffer === chunk.buffer).toBe(true);
  });

  it("a frame cut across pushes survives the caller reusing its chunk buffers", () => {
    const b = dataFrame(1, text("carried over"), MORE_TO_COME);
    const reader = new FrameReader({ maxFrameSize: 16_384 });
    const first = b.slice(0, 12);
    reader.push(first);
    first.fill(0);
    const second = b.slice(12);
    const [f] = reader.push(second);
    second.fill(0);
    expect(f.type === "data" && new TextDecoder().decode(f.data)).toBe("carried over");
  });
});

describe("max frame size", () => {
  it("a frame of exactly SETTINGS_MAX_FRAME_SIZE is read", () => {
    const [f] = readOne(dataFrame(1, new Uint8Array(16_384), MORE_TO_COME));
    expect(f.type === "data" && f.data.length).toBe(16_384);
  });

  it("raising maxFrameSize lets a larger frame through, and lowering it refuses it again", () => {
    const big = dataFrame(1, new Uint8Array(100_000), MORE_TO_COME);
    const reader = new FrameReader({ maxFrameSize: 16_384 });
    reader.maxFrameSize = MAX_MAX_FRAME_SIZE;
    expect(reader.maxFrameSize).toBe(MAX_MAX_FRAME_SIZE);
    expect(reader.push(big).length).toBe(1);
    reader.maxFrameSize = 16_384;
    expect(() => reader.push(big)).toThrow(/over SETTINGS_MAX_FRAME_SIZE 16384/);
  });

  it("the new maxFrameSize applies to the next header read, even mid-stream", () => {
    const big = dataFrame(1, new Uint8Array(20_000), MORE_TO_COME);
    const reader = new FrameReader({ maxFrameSize: 16_384 });
    expect(reader.push(big.subarray(0, 5))).toEqual([]);
    reader.maxFrameSize = 32_768;
    expect(reader.push(big.subarray(5)).length).toBe(1);
  });

  it("maxFrameSize outside 16384..16777215 is a RangeError", () => {
    expect(() => new FrameReader({ maxFrameSize: 16_383 })).toThrow(RangeError);
    expect(() => new FrameReader({ maxFrameSize: 16_384 }).maxFrameSize = MAX_MAX_FRAME_SIZE + 1).toThrow(RangeError);
  });
});

describe("rules: what a frame alone breaks", () => {
  it("a frame longer than SETTINGS_MAX_FRAME_SIZE is a FRAME_SIZE_ERROR, refused from its header alone", () => {
    const reader = new FrameReader({ maxFrameSize: 16_384 });
    expect(() => reader.push(raw(16_385, FrameType.DATA, 0, 1))).toThrow(FrameReadError);
    expectConnectionError(raw(16_385, FrameType.DATA, 0, 1, new Uint8Array(16_385)), ErrorCode.FRAME_SIZE_ERROR);
  });

  for (const type of ["DATA", "HEADERS", "PRIORITY", "RST_STREAM", "PUSH_PROMISE", "CONTINUATION"] as const) {
    it(`a ${type} frame on stream 0 is a connection error of type PROTOCOL_ERROR`, () => {
      const length = type === "PRIORITY" ? 5 : type === "RST_STREAM" || type === "PUSH_PROMISE" ? 4 : 0;
      const e = errorOf(raw(length, FrameType[type], 0, 0, new Uint8Array(length)));
      expect([errorCodeName(e.code), e.stream, e.message]).toEqual(["PROTOCOL_ERROR", 0, `${type} frame on stream 0`]);
    });
  }

  for (const [type, length] of [["SETTINGS", 0], ["PING", 8], ["GOAWAY", 8]] as const) {
    it(`a ${type} frame on a stream other than 0 is a connection error of type PROTOCOL_ERROR`, () => {
      expectConnectionError(raw(length, FrameType[type], 0, 1, new Uint8Array(length)), ErrorCode.PROTOCOL_ERROR);
    });
  }

  it("a SETTINGS frame with ACK and a payload is a connection error of type FRAME_SIZE_ERROR", () => {
    const e = errorOf(raw(6, FrameType.SETTINGS, Flag.ACK, 0, new Uint8Array(6)));
    expect([errorCodeName(e.code), e.stream, e.message]).toEqual([
      "FRAME_SIZE_ERROR",
      0,
      "SETTINGS frame with ACK and a payload",
    ]);
  });

  it("a SETTINGS frame whose length is not a multiple of 6 is a connection error of type FRAME_SIZE_ERROR", () => {
    expectConnectionError(raw(7, FrameType.SETTINGS, 0, 0, new Uint8Array(7)), ErrorCode.FRAME_SIZE_ERROR);
  });

  it("a PING frame of 7 or 9 bytes is a connection error of type FRAME_SIZE_ERROR", () => {
    expectConnectionError(raw(7, FrameType.PING, 0, 0, new Uint8Array(7)), ErrorCode.FRAME_SIZE_ERROR);
    expectConnectionError(raw(9, FrameType.PING, 0, 0, new Uint8Array(9)), ErrorCode.FRAME_SIZE_ERROR);
  });

  it("a GOAWAY frame under 8 bytes is a connection error of type FRAME_SIZE_ERROR", () => {
    expectConnectionError(raw(7, FrameType.GOAWAY, 0, 0, new Uint8Array(7)), ErrorCode.FRAME_SIZE_ERROR);
  });

  it("a WINDOW_UPDATE frame not of 4 bytes is a connection error of type FRAME_SIZE_ERROR", () => {
    expectConnectionError(raw(5, FrameType.WINDOW_UPDATE, 0, 1, bytes(0, 0, 0, 1, 0)), ErrorCode.FRAME_SIZE_ERROR);
  });

  it("a RST_STREAM frame not of 4 bytes is a connection error of type FRAME_SIZE_ERROR", () => {
    expectConnectionError(raw(3, FrameType.RST_STREAM, 0, 1, bytes(0, 0, 0)), ErrorCode.FRAME_SIZE_ERROR);
  });

  it("a PRIORITY frame not of 5 bytes is a stream error of type FRAME_SIZE_ERROR on its stream", () => {
    const e = errorOf(raw(4, FrameType.PRIORITY, 0, 3, bytes(0, 0, 0, 1)));
    expect([errorCodeName(e.code), e.stream]).toEqual(["FRAME_SIZE_ERROR", 3]);
  });

  it("DATA padding as long as the payload is a connection error of type PROTOCOL_ERROR", () => {
    expectConnectionError(raw(4, FrameType.DATA, Flag.PADDED, 1, bytes(4, 0, 0, 0)), ErrorCode.PROTOCOL_ERROR);
  });

  it("DATA padding one byte shorter than the payload is read: all padding, no data", () => {
    expect(readOne(raw(4, FrameType.DATA, Flag.PADDED, 1, bytes(3, 0, 0, 0)))).toMatchObject([
      { type: "data", data: bytes(), flowLength: 4 },
    ]);
  });

  it("HEADERS padding as long as the payload is a connection error of type PROTOCOL_ERROR", () => {
    expectConnectionError(raw(2, FrameType.HEADERS, Flag.PADDED, 1, bytes(2, 0)), ErrorCode.PROTOCOL_ERROR);
  });

  it("HEADERS padding that eats into the priority fields is a connection error of type PROTOCOL_ERROR", () => {
    const payload = bytes(2, 0, 0, 0, 0, 16, 0);
    expectConnectionError(raw(7, FrameType.HEADERS, Flag.PADDED | Flag.PRIORITY, 1, payload), ErrorCode.PROTOCOL_ERROR);
  });

  it("PUSH_PROMISE padding that eats into the promised stream is a connection error of type PROTOCOL_ERROR", () => {
    expectConnectionError(
      raw(5, FrameType.PUSH_PROMISE, Flag.PADDED, 1, bytes(1, 0, 0, 0, 2)),
      ErrorCode.PROTOCOL_ERROR,
    );
  });

  it("a PADDED frame with no room for its pad length byte is a connection error of type FRAME_SIZE_ERROR", () => {
    expectConnectionError(raw(0, FrameType.HEADERS, Flag.PADDED, 1), ErrorCode.FRAME_SIZE_ERROR);
  });

  it("a HEADERS frame with PRIORITY and under 5 bytes is a connection error of type FRAME_SIZE_ERROR", () => {
    expectConnectionError(raw(4, FrameType.HEADERS, Flag.PRIORITY, 1, bytes(0, 0, 0, 0)), ErrorCode.FRAME_SIZE_ERROR);
  });

  it("a PUSH_PROMISE frame under 4 bytes is a connection error of type FRAME_SIZE_ERROR", () => {
    expectConnectionError(raw(3, FrameType.PUSH_PROMISE, 0, 1, bytes(0, 0, 2)), ErrorCode.FRAME_SIZE_ERROR);
  });

  it("a padded DATA frame of 0 bytes is a connection error of type FRAME_SIZE_ERROR", () => {
    expectConnectionError(raw(0, FrameType.DATA, Flag.PADDED, 1), ErrorCode.FRAME_SIZE_ERROR);
  });

  it("a WINDOW_UPDATE of 0 on a stream is a stream error of type PROTOCOL_ERROR on that stream", () => {
    const e = errorOf(raw(4, FrameType.WINDOW_UPDATE, 0, 3, u32(0)));
    expect([errorCodeName(e.code), e.stream, e.message]).toEqual([
      "PROTOCOL_ERROR",
      3,
      "WINDOW_UPDATE of 0 on stream 3",
    ]);
  });

  it("a WINDOW_UPDATE of 0 on stream 0 is a connection error of type PROTOCOL_ERROR", () => {
    expectConnectionError(raw(4, FrameType.WINDOW_UPDATE, 0, 0, u32(0)), ErrorCode.PROTOCOL_ERROR);
  });

  it("a WINDOW_UPDATE whose only set bit is the reserved one is an increment of 0", () => {
    const e = errorOf(raw(4, FrameType.WINDOW_UPDATE, 0, 3, u32(0x80000000)));
    expect([e.code, e.stream]).toEqual([ErrorCode.PROTOCOL_ERROR, 3]);
  });
});

describe("after an error", () => {
  const ping = pingFrame(bytes(1, 1, 1, 1, 1, 1, 1, 1), PING_REQUEST);
  const badWindow = raw(4, FrameType.WINDOW_UPDATE, 0, 3, u32(0));

  it("the error carries the frames the chunk held before the bad one", () => {
    const e = errorOf(concatBytes([ping, ping, raw(1, FrameType.PING, 0, 0, bytes(0))]));
    expect(e instanceof FrameReadError && e.before.map((f) => f.type)).toEqual(["ping", "ping"]);
  });

  it("a connection error is final: every later push throws it again", () => {
    const reader = new FrameReader({ maxFrameSize: 16_384 });
    expect(() => reader.push(raw(0, FrameType.DATA, 0, 0))).toThrow("DATA frame on stream 0");
    expect(() => reader.push(ping)).toThrow("DATA frame on stream 0");
  });

  it("after a stream error an empty push reads on from the frame after the bad one", () => {
    const reader = new FrameReader({ maxFrameSize: 16_384 });
    expect(() => reader.push(concatBytes([ping, badWindow, ping, ping]))).toThrow("WINDOW_UPDATE of 0 on stream 3");
    expect(reader.push(new Uint8Array(0)).map((f) => f.type)).toEqual(["ping", "ping"]);
  });

  it("after a stream error the next chunk is read after what followed the bad frame", () => {
    const reader = new FrameReader({ maxFrameSize: 16_384 });
    const after = rstStreamFrame(5, ErrorCode.CANCEL);
    expect(() => reader.push(concatBytes([badWindow, after.subarray(0, 6)]))).toThrow(FrameReadError);
    expect(reader.buffered).toBe(6);
    expect(reader.push(concatBytes([after.subarray(6), ping])).map((f) => f.type)).toEqual(["rst_stream", "ping"]);
  });

  it("a stream error found in a frame carried across pushes skips exactly that frame", () => {
    const lines = readEvents(cutAt(concatBytes([ping, badWindow, ping]), [20, 21])).lines;
    expect(lines.map((l) => l.split(" ")[0])).toEqual(["ack=false", "error", "ack=false"]);
    expect(lines[1]).toBe("error code=1 stream=3");
  });
});

describe("encoders", () => {
  it("encodeFrame writes the 9-byte header (24-bit length, type, flags, 31-bit stream) then the payload", () => {
    expect(Array.from(encodeFrame(0xab, 0xcd, 0x01020304, bytes(9, 8)))).toEqual([
      0,
      0,
      2,
      0xab,
      0xcd,
      1,
      2,
      3,
      4,
      9,
      8,
    ]);
  });

  it("headerFrames splits a block into HEADERS then CONTINUATION frames of at most maxFrameSize", () => {
    const block = Uint8Array.from({ length: 40_000 }, (_, i) => i & 0xff);
    const frames = headerFrames(5, block, END_STREAM, 16_384);
    expect(frames.map((f) => f.length - 9)).toEqual([16_384, 16_384, 7_232]);
    const got = readOne(concatBytes(frames));
    expect(got.map((f) => [f.type, "endStream" in f && f.endStream, "endHeaders" in f && f.endHeaders])).toEqual([
      ["headers", true, false],
      ["continuation", false, false],
      ["continuation", false, true],
    ]);
    const fragments = got.map((f) => (f.type === "headers" || f.type === "continuation") ? f.fragment : bytes());
    expect(concatBytes(fragments)).toEqual(block);
  });

  it("headerFrames sends a block that fits, or an empty one, as one HEADERS frame with END_HEADERS", () => {
    for (const n of [0, 1, 16_384]) {
      const frames = headerFrames(1, new Uint8Array(n), MORE_TO_COME, 16_384);
      expect(frames.length).toBe(1);
      expect(readOne(frames[0])).toMatchObject([{ type: "headers", endHeaders: true, endStream: false }]);
    }
  });

  it("headersFrameAround writes the same frame as headerFrames in the block's own array, or null past maxFrameSize", () => {
    for (const [n, end] of [[0, END_STREAM], [7, MORE_TO_COME], [16_384, END_STREAM]] as const) {
      const block = Uint8Array.from({ length: n }, (_, i) => i & 0xff);
      const framed = new Uint8Array(9 + n);
      framed.set(block, 9);
      const one = headersFrameAround(framed, 7, end, 16_384);
      expect(one).toBe(framed);
      expect(Array.from(one!)).toEqual(Array.from(headerFrames(7, block, end, 16_384)[0]));
    }
    expect(headersFrameAround(new Uint8Array(9 + 16_385), 7, END_STREAM, 16_384)).toBeNull();
  });

  it("headersFrameIn frames a block that ends before its buffer does (an encoder's own), or leaves it past maxFrameSize", () => {
    for (const [n, end] of [[0, END_STREAM], [7, MORE_TO_COME], [16_384, END_STREAM]] as const) {
      const block = Uint8Array.from({ length: n }, (_, i) => (i * 7) & 0xff);
      const buf = new Uint8Array(9 + n + 50).fill(0xee);
      buf.set(block, 9);
      expect(headersFrameIn(buf, 9 + n, 7, end, 16_384)).toBe(true);
      expect(Array.from(buf.subarray(0, 9 + n))).toEqual(Array.from(headerFrames(7, block, end, 16_384)[0]));
      expect(buf.subarray(9 + n).every((b) => b === 0xee)).toBe(true);
    }
    const big = new Uint8Array(9 + 16_385 + 10).fill(0xee);
    expect(headersFrameIn(big, 9 + 16_385, 7, END_STREAM, 16_384)).toBe(false);
    expect(big.every((b) => b === 0xee)).toBe(true);
  });

  it("settingsFrame writes 6 bytes per parameter in order", () => {
    expect(Array.from(settingsFrame([[1, 0x01020304], [0x0102, 5]]).subarray(9))).toEqual([
      0,
      1,
      1,
      2,
      3,
      4,
      1,
      2,
      0,
      0,
      0,
      5,
    ]);
  });

  it("goawayFrame and rstStreamFrame carry codes up to 2^32-1", () => {
    expect(readOne(concatBytes([goawayFrame(3, 0xffffffff), rstStreamFrame(1, 0xfffffffe)]))).toMatchObject([
      { type: "goaway", lastStream: 3, code: 0xffffffff },
      { type: "rst_stream", code: 0xfffffffe },
    ]);
  });

  it("encoders refuse what no peer could accept with a RangeError", () => {
    expect(() => windowUpdateFrame(1, 0)).toThrow(RangeError);
    expect(() => windowUpdateFrame(1, 2 ** 31)).toThrow(RangeError);
    expect(() => pingFrame(new Uint8Array(7), PING_ACK)).toThrow(RangeError);
    expect(() => dataFrame(2 ** 31, bytes(), MORE_TO_COME)).toThrow(RangeError);
    expect(() => encodeFrame(0, 0, 1, new Uint8Array(MAX_MAX_FRAME_SIZE + 1))).toThrow(RangeError);
    expect(() => headerFrames(1, bytes(), MORE_TO_COME, 100)).toThrow(RangeError);
    expect(() => settingsFrame([[1, 2 ** 32]])).toThrow(RangeError);
  });
});
