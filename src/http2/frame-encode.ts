/**
 * HTTP/2 frames vane sends (RFC 9113 §4.1, §6), each as one Uint8Array: the 9-byte
 * header and the payload written into a single buffer, so a frame is one write with no
 * concat after. The peer's limits (its SETTINGS_MAX_FRAME_SIZE, its windows) are the
 * caller's to respect, except in headerFrames, which splits a field block to fit; an
 * argument no peer could accept (a length over 2^24-1, a stream over 2^31-1, an
 * increment of 0) is a bug here, so it throws RangeError.
 */
import { allocBytes, copyBytes } from "../runtime/byte-arrays.ts";
import {
  Flag,
  FRAME_HEADER_LENGTH,
  FrameType,
  MAX_MAX_FRAME_SIZE,
  MAX_STREAM_ID,
  MAX_WINDOW_SIZE,
  MIN_MAX_FRAME_SIZE,
} from "./constants.ts";

/** For dataFrame and headerFrames: this frame ends the stream (END_STREAM)... */
export const END_STREAM = true;
/** ...or more is to come on it. */
export const MORE_TO_COME = false;
/** For pingFrame: an answer to a PING (ACK)... */
export const PING_ACK = true;
/** ...or a PING of our own. */
export const PING_REQUEST = false;

const EMPTY = new Uint8Array(0);
const SETTING_LENGTH = 6;
const PING_LENGTH = 8;

/** A buffer for a frame of `length` payload bytes, its header written; the payload goes at offset 9. */
function frameBuffer(type: number, flags: number, stream: number, length: number): Uint8Array {
  const out = allocBytes(FRAME_HEADER_LENGTH + length);
  putFrameHeader(out, 0, type, flags, stream, length);
  return out;
}

/** A frame's 9-byte header at `out[at]`, for `length` payload bytes after it. */
function putFrameHeader(out: Uint8Array, at: number, type: number, flags: number, stream: number, length: number) {
  if (!(length >= 0 && length <= MAX_MAX_FRAME_SIZE)) throw new RangeError(`frame payload of ${length} bytes`);
  if (!(stream >= 0 && stream <= MAX_STREAM_ID)) throw new RangeError(`stream ${stream} outside 0..2^31-1`);
  out[at] = length >>> 16;
  out[at + 1] = (length >>> 8) & 0xff;
  out[at + 2] = length & 0xff;
  out[at + 3] = type;
  out[at + 4] = flags;
  writeU32(out, at + 5, stream);
}

/**
 * dataFrame written into `out` at `at` (which must have room for the 9-byte header and
 * the payload) rather than into an array of its own; returns where it ends there.
 */
export function putDataFrame(
  out: Uint8Array,
  at: number,
  stream: number,
  data: Uint8Array,
  endStream: boolean,
  from: number,
  to: number,
): number {
  putFrameHeader(out, at, FrameType.DATA, endStream ? Flag.END_STREAM : 0, stream, to - from);
  return copyBytes(out, at + FRAME_HEADER_LENGTH, data, from, to);
}

function writeU32(out: Uint8Array, at: number, n: number): void {
  out[at] = n >>> 24;
  out[at + 1] = (n >>> 16) & 0xff;
  out[at + 2] = (n >>> 8) & 0xff;
  out[at + 3] = n & 0xff;
}

/**
 * Any frame: the header for `type`, `flags` and `stream`, then `payload` as is.
 *
 * @example encodeFrame(FrameType.PRIORITY, 0, 3, priorityPayload)
 */
export function encodeFrame(type: number, flags: number, stream: number, payload: Uint8Array): Uint8Array {
  const out = frameBuffer(type, flags, stream, payload.length);
  copyBytes(out, FRAME_HEADER_LENGTH, payload, 0, payload.length);
  return out;
}

/** A SETTINGS frame with `params` ([identifier, value]) in order (§6.5). */
export function settingsFrame(params: ReadonlyArray<readonly [number, number]>): Uint8Array {
  const out = frameBuffer(FrameType.SETTINGS, 0, 0, params.length * SETTING_LENGTH);
  let at = FRAME_HEADER_LENGTH;
  for (const [id, value] of params) {
    if (!(id >= 0 && id <= 0xffff && value >= 0 && value <= 0xffff_ffff)) {
      throw new RangeError(`setting ${id} = ${value} does not fit 16 and 32 bits`);
    }
    out[at] = (id >>> 8) & 0xff;
    out[at + 1] = id & 0xff;
    writeU32(out, at + 2, value);
    at += SETTING_LENGTH;
  }
  return out;
}

/** The empty SETTINGS frame with ACK that acknowledges the peer's SETTINGS (§6.5.3). */
export function settingsAck(): Uint8Array {
  return frameBuffer(FrameType.SETTINGS, Flag.ACK, 0, 0);
}

/** A PING with 8 opaque bytes (§6.7): our own (PING_REQUEST) or the answer to one (PING_ACK, same bytes). */
export function pingFrame(data: Uint8Array, ack: boolean): Uint8Array {
  if (data.length !== PING_LENGTH) throw new RangeError(`PING data of ${data.length} bytes, not 8`);
  return encodeFrame(FrameType.PING, ack ? Flag.ACK : 0, 0, data);
}

/** A GOAWAY (§6.8): the last stream we acted on, why, and optional debug bytes. */
export function goawayFrame(lastStream: number, code: number, debug: Uint8Array = EMPTY): Uint8Array {
  const out = frameBuffer(FrameType.GOAWAY, 0, 0, 8 + debug.length);
  writeU32(out, FRAME_HEADER_LENGTH, lastStream & MAX_STREAM_ID);
  writeU32(out, FRAME_HEADER_LENGTH + 4, code);
  copyBytes(out, FRAME_HEADER_LENGTH + 8, debug, 0, debug.length);
  return out;
}

/** An RST_STREAM (§6.4) ending `stream` with error code `code`. */
export function rstStreamFrame(stream: number, code: number): Uint8Array {
  const out = frameBuffer(FrameType.RST_STREAM, 0, stream, 4);
  writeU32(out, FRAME_HEADER_LENGTH, code);
  return out;
}

/** A WINDOW_UPDATE (§6.9) of `increment` (1..2^31-1) on `stream`, 0 for the connection. */
export function windowUpdateFrame(stream: number, increment: number): Uint8Array {
  if (!(increment >= 1 && increment <= MAX_WINDOW_SIZE)) throw new RangeError(`WINDOW_UPDATE of ${increment}`);
  const out = frameBuffer(FrameType.WINDOW_UPDATE, 0, stream, 4);
  writeU32(out, FRAME_HEADER_LENGTH, increment);
  return out;
}

/** A DATA frame (§6.1), unpadded; END_STREAM or MORE_TO_COME. */
export function dataFrame(
  stream: number,
  data: Uint8Array,
  endStream: boolean,
  from = 0,
  to = data.length,
): Uint8Array {
  const out = allocBytes(FRAME_HEADER_LENGTH + to - from);
  putDataFrame(out, 0, stream, data, endStream, from, to);
  return out;
}

/**
 * A HEADERS frame (END_HEADERS) around a field block encoded after FRAME_HEADER_LENGTH
 * free bytes (HpackEncoder.encode's `room`), written in place: the usual head, which
 * fits one frame, costs no copy. Null when the block is over `maxFrameSize` (use
 * headerFrames on the block).
 */
export function headersFrameAround(
  framed: Uint8Array,
  stream: number,
  endStream: boolean,
  maxFrameSize: number,
): Uint8Array | null {
  return headersFrameIn(framed, framed.length, stream, endStream, maxFrameSize) ? framed : null;
}

/**
 * headersFrameAround for a block that ends at `end` in `buf` (an encoder's own buffer,
 * with no view made of it): false, and nothing written, when it is over `maxFrameSize`.
 */
export function headersFrameIn(
  buf: Uint8Array,
  end: number,
  stream: number,
  endStream: boolean,
  maxFrameSize: number,
): boolean {
  const length = end - FRAME_HEADER_LENGTH;
  if (length > maxFrameSize) return false;
  const flags = endStream ? Flag.END_STREAM | Flag.END_HEADERS : Flag.END_HEADERS;
  putFrameHeader(buf, 0, FrameType.HEADERS, flags, stream, length);
  return true;
}

/**
 * A field block (HPACK-encoded) as one HEADERS frame and as many CONTINUATION frames as
 * it takes so that none is over `maxFrameSize` (the peer's SETTINGS_MAX_FRAME_SIZE), the
 * last with END_HEADERS (§4.3, §6.2, §6.10). END_STREAM, if asked, goes on the HEADERS.
 * The frames must go out back to back: nothing may come between them on the connection.
 */
export function headerFrames(
  stream: number,
  block: Uint8Array,
  endStream: boolean,
  maxFrameSize: number,
): Uint8Array[] {
  if (!(maxFrameSize >= MIN_MAX_FRAME_SIZE && maxFrameSize <= MAX_MAX_FRAME_SIZE)) {
    throw new RangeError(`maxFrameSize ${maxFrameSize} outside ${MIN_MAX_FRAME_SIZE}..${MAX_MAX_FRAME_SIZE}`);
  }
  const frames: Uint8Array[] = [];
  let type: number = FrameType.HEADERS;
  let flags = endStream ? Flag.END_STREAM : 0;
  let at = 0;
  do {
    const end = Math.min(block.length, at + maxFrameSize);
    const last = end === block.length;
    const out = frameBuffer(type, last ? flags | Flag.END_HEADERS : flags, stream, end - at);
    copyBytes(out, FRAME_HEADER_LENGTH, block, at, end);
    frames.push(out);
    type = FrameType.CONTINUATION;
    flags = 0;
    at = end;
  } while (at < block.length);
  return frames;
}
