/**
 * The read loop both ends of an HTTP/2 connection run (session.ts for clients,
 * client.ts towards targets): bytes in, frames out, each acted on in order. A frame
 * that breaks a rule of its own stream resets that stream and reading goes on; one
 * that breaks the connection's ends it. FrameReader hands over the frames before a bad
 * one with its error (FrameReadError.before), so none of them is lost.
 */
import { type Frame, type FrameReader, FrameReadError } from "./frames.ts";
import { H2Error } from "./errors.ts";

const NO_BYTES = new Uint8Array(0);

/** The connection a read loop drives. */
export interface FrameSink {
  /** Acts on one frame; throws H2Error for a rule it breaks. */
  dispatch(frame: Frame): void;
  /** A stream error: reset its stream and go on (true); a connection error: end it (false). */
  failed(err: H2Error): boolean;
  /** Whether the connection is over (nothing more is read). */
  over(): boolean;
}

/** Reads `conn` into `reader` and `sink` until the connection ends or the sink says it is over. */
export async function readFrames(
  conn: { read(): Promise<Uint8Array | null> },
  reader: FrameReader,
  sink: FrameSink,
): Promise<void> {
  for (;;) {
    const chunk = await conn.read().catch(() => null);
    if (chunk === null || sink.over()) return;
    let input = chunk;
    for (;;) {
      let frames: Frame[];
      let broken: FrameReadError | null = null;
      try {
        frames = reader.push(input);
      } catch (err) {
        if (!(err instanceof FrameReadError)) throw err;
        // The frames before the bad one count; then the bad one's error.
        frames = err.before;
        broken = err;
      }
      if (!handle(frames, sink) || (broken !== null && !sink.failed(broken))) return;
      if (broken === null) break;
      input = NO_BYTES; // after a stream error the reader goes on with what it holds
    }
    if (sink.over()) return;
  }
}

/** Dispatches `frames` in order; false once the connection is over. */
function handle(frames: Frame[], sink: FrameSink): boolean {
  for (const f of frames) {
    try {
      sink.dispatch(f);
    } catch (err) {
      if (!(err instanceof H2Error)) throw err;
      if (!sink.failed(err)) return false;
    }
    if (sink.over()) return false;
  }
  return true;
}
