/**
 * The HTTP/2 frame layer (RFC 9113 §4, §6) in one import: the Frame types, FrameReader
 * (bytes to frames, incremental, judging what a frame alone says) and the encoders of
 * the frames vane sends. Each part lives in its own file; this one only gathers them.
 */
export type * from "./frame-types.ts";
export { FrameReader, type FrameReaderOptions, FrameReadError } from "./frame-reader.ts";
export {
  dataFrame,
  encodeFrame,
  END_STREAM,
  goawayFrame,
  headerFrames,
  headersFrameAround,
  headersFrameIn,
  MORE_TO_COME,
  PING_ACK,
  PING_REQUEST,
  pingFrame,
  rstStreamFrame,
  settingsAck,
  settingsFrame,
  windowUpdateFrame,
} from "./frame-encode.ts";
