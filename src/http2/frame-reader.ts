/**
 * FrameReader: the bytes of an HTTP/2 connection, after the preface, into frames
 * (RFC 9113 §4.1), incrementally. Bytes may arrive split anywhere, even inside the 9-byte
 * header, or many frames in one chunk. It is on the hot path of every HTTP/2 connection,
 * so a frame that arrived whole is read in place: the header by byte math, the payload
 * handed out as a view, with no copy. Only the bytes of a frame split across pushes are
 * copied, once, into a buffer of that frame's size (or the 9-byte header buffer).
 */
import { allocBytes, copyBytes } from "../runtime/byte-arrays.ts";
import { FRAME_HEADER_LENGTH, MAX_MAX_FRAME_SIZE, MIN_MAX_FRAME_SIZE } from "./constants.ts";
import { H2Error } from "./errors.ts";
import { checkHeader, decodeFrame } from "./frame-decode.ts";
import type { Frame } from "./frame-types.ts";

/**
 * What FrameReader.push throws: the H2Error, with the frames the pushed bytes held
 * before the bad one, in order. The session handles `before` first, then the error, so
 * no frame that arrived ahead of a violation is lost (GOAWAY's last stream counts them).
 */
export class FrameReadError extends H2Error {
  readonly before: Frame[];

  constructor(cause: H2Error, before: Frame[]) {
    super(cause.code, cause.stream, cause.message);
    this.name = "FrameReadError";
    this.before = before;
  }
}

export interface FrameReaderOptions {
  /** The SETTINGS_MAX_FRAME_SIZE this endpoint advertised (16384 until the peer acks a larger one). */
  maxFrameSize: number;
}

const EMPTY = new Uint8Array(0);

function checkMaxFrameSize(n: number): number {
  if (!Number.isInteger(n) || n < MIN_MAX_FRAME_SIZE || n > MAX_MAX_FRAME_SIZE) {
    throw new RangeError(`maxFrameSize ${n} is outside ${MIN_MAX_FRAME_SIZE}..${MAX_MAX_FRAME_SIZE}`);
  }
  return n;
}

/**
 * Reads frames from the bytes pushed to it; see frame-decode.ts for what it refuses.
 *
 * Byte fields of the frames push() returns (`data`, `fragment`, `debug`, `payload`, a
 * PING's `data`) may be views into the chunk given to that push(): like a chunk from
 * TcpConn.read (src/runtime/types.ts), they are valid until the next push(), so copy
 * what you keep. push() does not keep `chunk` either: what it needs later it copies.
 *
 * Errors: push() throws a FrameReadError (an H2Error) carrying the frames before the bad
 * one. A connection error (`stream` 0) is final: every later push() throws it again. A
 * stream error skips the bad frame only; the bytes after it are kept, and the next
 * push() (an empty chunk will do) goes on from there:
 *
 *   let input = chunk;
 *   for (;;) {
 *     try { handle(reader.push(input)); break; }
 *     catch (e) { if (!(e instanceof FrameReadError) || e.stream === 0) throw e; handle(e.before); reset(e); input = EMPTY; }
 *   }
 */
export class FrameReader {
  #maxFrameSize: number;
  /** A header split across pushes: its first #headerHave bytes. */
  #header = new Uint8Array(FRAME_HEADER_LENGTH);
  #headerHave = 0;
  /** The payload of a frame split across pushes, filled up to #payloadHave; null when none is. */
  #payload: Uint8Array | null = null;
  #payloadHave = 0;
  /** The header fields of the frame being read (set by #startFrame). */
  #type = 0;
  #flags = 0;
  #stream = 0;
  /** Where, in the input being read, the frame being decoded ends: a stream error goes on from there. */
  #frameEnd = 0;
  /** The bytes after a frame that was a stream error, read first by the next push(). */
  #backlog: Uint8Array | null = null;
  #failed: H2Error | null = null;

  constructor(options: FrameReaderOptions) {
    this.#maxFrameSize = checkMaxFrameSize(options.maxFrameSize);
  }

  get maxFrameSize(): number {
    return this.#maxFrameSize;
  }

  /** Applies to frames whose header is read from now on (set it when the peer acks our SETTINGS). */
  set maxFrameSize(n: number) {
    this.#maxFrameSize = checkMaxFrameSize(n);
  }

  /** Bytes held for a frame not yet complete (0 between frames): nonzero at end of stream means a cut frame. */
  get buffered(): number {
    const payload = this.#payload === null ? 0 : FRAME_HEADER_LENGTH + this.#payloadHave;
    return this.#headerHave + payload + (this.#backlog?.length ?? 0);
  }

  /** The frames `chunk` completes, in order (often none, often several). */
  push(chunk: Uint8Array): Frame[] {
    if (this.#failed !== null) throw new FrameReadError(this.#failed, []);
    const frames: Frame[] = [];
    const backlog = this.#backlog;
    if (backlog !== null) {
      this.#backlog = null;
      this.#feed(backlog, chunk, frames);
    }
    this.#feed(chunk, EMPTY, frames);
    return frames;
  }

  /** Reads `input` into `frames`; on a stream error keeps what follows the bad frame, and `next`, for later. */
  #feed(input: Uint8Array, next: Uint8Array, frames: Frame[]): void {
    try {
      const at = this.#headerHave > 0 || this.#payload !== null ? this.#carryOn(input, frames) : 0;
      this.#readFrames(input, at, frames);
    } catch (e) {
      if (!(e instanceof H2Error)) throw e;
      if (e.stream === 0) {
        this.#failed = e;
        this.#payload = null;
        this.#headerHave = 0;
      } else {
        this.#backlog = keep(input.subarray(this.#frameEnd), next);
      }
      throw new FrameReadError(e, frames);
    }
  }

  /** Frames read in place from input[at..]; a cut frame at the end is carried over. */
  #readFrames(input: Uint8Array, at: number, frames: Frame[]): void {
    const end = input.length;
    while (end - at >= FRAME_HEADER_LENGTH) {
      const length = this.#startFrame(input, at);
      const start = at + FRAME_HEADER_LENGTH;
      if (end - start < length) {
        this.#payload = allocBytes(length);
        this.#payloadHave = copyBytes(this.#payload, 0, input, start, end);
        return;
      }
      at = start + length;
      this.#frameEnd = at;
      frames.push(decodeFrame(this.#type, this.#flags, this.#stream, input, start, at));
    }
    if (at < end) this.#headerHave = copyBytes(this.#header, 0, input, at, end);
  }

  /** Goes on with the frame carried over from earlier pushes; returns where in `input` it ended. */
  #carryOn(input: Uint8Array, frames: Frame[]): number {
    let at = 0;
    if (this.#payload === null) {
      at = Math.min(FRAME_HEADER_LENGTH - this.#headerHave, input.length);
      this.#headerHave = copyBytes(this.#header, this.#headerHave, input, 0, at);
      if (this.#headerHave < FRAME_HEADER_LENGTH) return at;
      this.#headerHave = 0;
      const length = this.#startFrame(this.#header, 0);
      if (input.length - at >= length) {
        // Only the header was cut: the payload is all here, so it is read in place.
        this.#frameEnd = at + length;
        frames.push(decodeFrame(this.#type, this.#flags, this.#stream, input, at, at + length));
        return at + length;
      }
      this.#payload = allocBytes(length);
      this.#payloadHave = 0;
    }
    const payload = this.#payload;
    const n = Math.min(payload.length - this.#payloadHave, input.length - at);
    this.#payloadHave = copyBytes(payload, this.#payloadHave, input, at, at + n);
    at += n;
    if (this.#payloadHave < payload.length) return at;
    this.#payload = null;
    this.#frameEnd = at;
    frames.push(decodeFrame(this.#type, this.#flags, this.#stream, payload, 0, payload.length));
    return at;
  }

  /** Reads and judges the header at buf[at..at+9); returns the payload length. */
  #startFrame(buf: Uint8Array, at: number): number {
    const length = (buf[at] << 16) | (buf[at + 1] << 8) | buf[at + 2];
    const type = buf[at + 3];
    const flags = buf[at + 4];
    // The reserved top bit of the stream identifier is ignored on read (§4.1).
    const stream = ((buf[at + 5] & 0x7f) << 24) | (buf[at + 6] << 16) | (buf[at + 7] << 8) | buf[at + 8];
    checkHeader(type, flags, stream, length, this.#maxFrameSize);
    this.#type = type;
    this.#flags = flags;
    this.#stream = stream;
    return length;
  }
}

/** A copy of `rest` then `next` (both may be views the caller reuses), or null when both are empty. */
function keep(rest: Uint8Array, next: Uint8Array): Uint8Array | null {
  const n = rest.length + next.length;
  if (n === 0) return null;
  const out = new Uint8Array(n);
  out.set(rest);
  out.set(next, rest.length);
  return out;
}
