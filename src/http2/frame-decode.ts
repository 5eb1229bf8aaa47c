/**
 * What one HTTP/2 frame alone says (RFC 9113 §4, §6), in two steps FrameReader calls:
 * `checkHeader` judges the 9-byte header as soon as it is read (size, stream 0 or not,
 * fixed lengths), so a frame that is refused is never buffered; `decodeFrame` turns a
 * complete payload into a Frame and judges what needs the payload (padding, a zero
 * WINDOW_UPDATE, PRIORITY's length). Stream state is not judged here: that is the
 * session's. Byte fields of the result are views into the buffer given.
 */
import { ErrorCode, Flag, FrameType, frameTypeName } from "./constants.ts";
import { connectionError, streamError } from "./errors.ts";
import type { Frame, StreamPriority } from "./frame-types.ts";

/** Bytes of the stream dependency and weight a PRIORITY flag adds (§6.2). */
const PRIORITY_FIELDS_LENGTH = 5;
const SETTING_LENGTH = 6;
const PING_LENGTH = 8;
const GOAWAY_MIN_LENGTH = 8;
const WINDOW_UPDATE_LENGTH = 4;
const RST_STREAM_LENGTH = 4;
const PROMISED_STREAM_LENGTH = 4;

/**
 * Judges a frame header; throws H2Error for a frame that is refused whatever its
 * payload. Every rule here is a connection error.
 */
export function checkHeader(type: number, flags: number, stream: number, length: number, maxFrameSize: number): void {
  if (length > maxFrameSize) {
    throw connectionError(
      ErrorCode.FRAME_SIZE_ERROR,
      `${frameTypeName(type)} frame of ${length} bytes over SETTINGS_MAX_FRAME_SIZE ${maxFrameSize}`,
    );
  }
  switch (type) {
    case FrameType.DATA:
      checkOnStream(type, stream);
      return checkRoom(type, flags, length, 0);
    case FrameType.HEADERS:
      checkOnStream(type, stream);
      return checkRoom(type, flags, length, (flags & Flag.PRIORITY) === 0 ? 0 : PRIORITY_FIELDS_LENGTH);
    case FrameType.PRIORITY: // its length is judged with the payload: a stream error (decodeFrame)
    case FrameType.CONTINUATION:
      return checkOnStream(type, stream);
    case FrameType.RST_STREAM:
      checkOnStream(type, stream);
      return checkLength(type, length, RST_STREAM_LENGTH);
    case FrameType.PUSH_PROMISE:
      checkOnStream(type, stream);
      return checkRoom(type, flags, length, PROMISED_STREAM_LENGTH);
    case FrameType.SETTINGS:
      return checkSettingsHeader(flags, stream, length);
    case FrameType.PING:
      checkOnConnection(type, stream);
      return checkLength(type, length, PING_LENGTH);
    case FrameType.GOAWAY:
      checkOnConnection(type, stream);
      if (length < GOAWAY_MIN_LENGTH) {
        throw connectionError(
          ErrorCode.FRAME_SIZE_ERROR,
          `GOAWAY frame of ${length} bytes, under ${GOAWAY_MIN_LENGTH}`,
        );
      }
      return;
    case FrameType.WINDOW_UPDATE:
      return checkLength(type, length, WINDOW_UPDATE_LENGTH);
  }
}

/** Frames that belong to a stream (§6.1-6.4, §6.6, §6.10). */
function checkOnStream(type: number, stream: number): void {
  if (stream === 0) throw connectionError(ErrorCode.PROTOCOL_ERROR, `${frameTypeName(type)} frame on stream 0`);
}

/** Frames that belong to the connection (§6.5, §6.7, §6.8). */
function checkOnConnection(type: number, stream: number): void {
  if (stream !== 0) {
    throw connectionError(ErrorCode.PROTOCOL_ERROR, `${frameTypeName(type)} frame on stream ${stream}, not 0`);
  }
}

function checkLength(type: number, length: number, expected: number): void {
  if (length !== expected) {
    throw connectionError(
      ErrorCode.FRAME_SIZE_ERROR,
      `${frameTypeName(type)} frame of ${length} bytes, not ${expected}`,
    );
  }
}

function checkSettingsHeader(flags: number, stream: number, length: number): void {
  checkOnConnection(FrameType.SETTINGS, stream);
  if ((flags & Flag.ACK) !== 0 && length !== 0) {
    throw connectionError(ErrorCode.FRAME_SIZE_ERROR, "SETTINGS frame with ACK and a payload");
  }
  if (length % SETTING_LENGTH !== 0) {
    throw connectionError(ErrorCode.FRAME_SIZE_ERROR, `SETTINGS frame of ${length} bytes, not a multiple of 6`);
  }
}

/**
 * A frame too short for its fixed fields (the pad length byte when PADDED, then
 * `fixed` bytes) cannot be read: FRAME_SIZE_ERROR (§4.2, "too small to contain
 * mandatory frame data"), a connection error: HEADERS and PUSH_PROMISE carry field
 * blocks, which the connection's HPACK state depends on, and a DATA frame counts
 * against the connection's window.
 */
function checkRoom(type: number, flags: number, length: number, fixed: number): void {
  const needed = ((flags & Flag.PADDED) === 0 ? 0 : 1) + fixed;
  if (length < needed) {
    throw connectionError(
      ErrorCode.FRAME_SIZE_ERROR,
      `${frameTypeName(type)} frame of ${length} bytes, too short for its ${needed} bytes of fixed fields`,
    );
  }
}

/**
 * The frame whose header was judged by checkHeader and whose payload is buf[start, end).
 * Throws H2Error for what the payload breaks.
 */
export function decodeFrame(
  type: number,
  flags: number,
  stream: number,
  buf: Uint8Array,
  start: number,
  end: number,
): Frame {
  switch (type) {
    case FrameType.DATA:
      return decodeData(flags, stream, buf, start, end);
    case FrameType.HEADERS:
      return decodeHeaders(flags, stream, buf, start, end);
    case FrameType.PRIORITY:
      if (end - start !== PRIORITY_FIELDS_LENGTH) {
        // §6.3: a stream error, the one frame size error that leaves the connection up.
        throw streamError(stream, ErrorCode.FRAME_SIZE_ERROR, `PRIORITY frame of ${end - start} bytes, not 5`);
      }
      return { type: "priority", stream, priority: readPriority(buf, start) };
    case FrameType.RST_STREAM:
      return { type: "rst_stream", stream, code: readU32(buf, start) };
    case FrameType.SETTINGS:
      return decodeSettings(flags, buf, start, end);
    case FrameType.PUSH_PROMISE:
      return decodePushPromise(flags, stream, buf, start, end);
    case FrameType.PING:
      return { type: "ping", stream: 0, ack: (flags & Flag.ACK) !== 0, data: buf.subarray(start, end) };
    case FrameType.GOAWAY:
      return {
        type: "goaway",
        stream: 0,
        lastStream: readU31(buf, start),
        code: readU32(buf, start + 4),
        debug: buf.subarray(start + GOAWAY_MIN_LENGTH, end),
      };
    case FrameType.WINDOW_UPDATE:
      return decodeWindowUpdate(stream, buf, start);
    case FrameType.CONTINUATION:
      return {
        type: "continuation",
        stream,
        endHeaders: (flags & Flag.END_HEADERS) !== 0,
        fragment: buf.subarray(start, end),
      };
    default:
      return { type: "unknown", frameType: type, flags, stream, payload: buf.subarray(start, end) };
  }
}

function decodeData(flags: number, stream: number, buf: Uint8Array, start: number, end: number): Frame {
  const flowLength = end - start;
  if ((flags & Flag.PADDED) !== 0) end = unpad(FrameType.DATA, buf, start++, end);
  return {
    type: "data",
    stream,
    endStream: (flags & Flag.END_STREAM) !== 0,
    data: buf.subarray(start, end),
    flowLength,
  };
}

function decodeHeaders(flags: number, stream: number, buf: Uint8Array, start: number, end: number): Frame {
  if ((flags & Flag.PADDED) !== 0) end = unpad(FrameType.HEADERS, buf, start++, end);
  let priority: StreamPriority | null = null;
  if ((flags & Flag.PRIORITY) !== 0) {
    if (end - start < PRIORITY_FIELDS_LENGTH) throw paddingError(FrameType.HEADERS);
    priority = readPriority(buf, start);
    start += PRIORITY_FIELDS_LENGTH;
  }
  return {
    type: "headers",
    stream,
    endStream: (flags & Flag.END_STREAM) !== 0,
    endHeaders: (flags & Flag.END_HEADERS) !== 0,
    fragment: buf.subarray(start, end),
    priority,
  };
}

function decodePushPromise(flags: number, stream: number, buf: Uint8Array, start: number, end: number): Frame {
  if ((flags & Flag.PADDED) !== 0) end = unpad(FrameType.PUSH_PROMISE, buf, start++, end);
  if (end - start < PROMISED_STREAM_LENGTH) throw paddingError(FrameType.PUSH_PROMISE);
  return {
    type: "push_promise",
    stream,
    endHeaders: (flags & Flag.END_HEADERS) !== 0,
    promised: readU31(buf, start),
    fragment: buf.subarray(start + PROMISED_STREAM_LENGTH, end),
  };
}

function decodeSettings(flags: number, buf: Uint8Array, start: number, end: number): Frame {
  const params: Array<[number, number]> = [];
  for (let at = start; at < end; at += SETTING_LENGTH) {
    params.push([(buf[at] << 8) | buf[at + 1], readU32(buf, at + 2)]);
  }
  return { type: "settings", stream: 0, ack: (flags & Flag.ACK) !== 0, params };
}

function decodeWindowUpdate(stream: number, buf: Uint8Array, start: number): Frame {
  const increment = readU31(buf, start);
  if (increment === 0) {
    // §6.9: a stream error on a stream, a connection error on the connection's window.
    if (stream === 0) throw connectionError(ErrorCode.PROTOCOL_ERROR, "WINDOW_UPDATE of 0 on the connection");
    throw streamError(stream, ErrorCode.PROTOCOL_ERROR, `WINDOW_UPDATE of 0 on stream ${stream}`);
  }
  return { type: "window_update", stream, increment };
}

/**
 * Where the content of a PADDED payload buf[at, end) ends: the pad length byte at `at`
 * says how many bytes at the end are padding. Padding that leaves no room for the pad
 * length byte is a connection error of type PROTOCOL_ERROR (§6.1, §6.2, §6.6).
 */
function unpad(type: number, buf: Uint8Array, at: number, end: number): number {
  const padding = buf[at];
  if (padding >= end - at) throw paddingError(type, padding, end - at);
  return end - padding;
}

function paddingError(type: number, padding?: number, length?: number) {
  const what = padding === undefined
    ? "leaves no room for its fixed fields"
    : `of ${padding} bytes in a ${length}-byte payload`;
  return connectionError(ErrorCode.PROTOCOL_ERROR, `${frameTypeName(type)} frame padding ${what}`);
}

function readPriority(buf: Uint8Array, at: number): StreamPriority {
  return { exclusive: (buf[at] & 0x80) !== 0, dependsOn: readU31(buf, at), weight: buf[at + 4] + 1 };
}

/** A 31-bit stream identifier or increment: the reserved top bit is ignored on read (§4.1). */
function readU31(buf: Uint8Array, at: number): number {
  return ((buf[at] & 0x7f) << 24) | (buf[at + 1] << 16) | (buf[at + 2] << 8) | buf[at + 3];
}

function readU32(buf: Uint8Array, at: number): number {
  return ((buf[at] << 24) | (buf[at + 1] << 16) | (buf[at + 2] << 8) | buf[at + 3]) >>> 0;
}
