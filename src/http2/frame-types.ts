/**
 * What one HTTP/2 frame says, as FrameReader hands it out (RFC 9113 §6): a union tagged
 * by `type`, one shape per frame type, plus `unknown` for extension frames, which the
 * session MUST ignore (§4.1, §5.5). A leaf of types only, so the reader, the decoder
 * and the session share it without importing one another.
 *
 * Byte fields (`data`, `fragment`, `debug`, a PING's `data`, an unknown frame's
 * `payload`) may be views into the chunk given to FrameReader.push: they are valid until
 * the next push(), so a caller that keeps one must copy it (see frame-reader.ts).
 */

/** The stream dependency a HEADERS frame with the PRIORITY flag, or a PRIORITY frame, carries (§5.3, §6.3). */
export interface StreamPriority {
  exclusive: boolean;
  /** The stream this one depends on (31 bits; 0 is the root). */
  dependsOn: number;
  /** 1 to 256: the weight byte on the wire plus one. */
  weight: number;
}

export interface DataFrame {
  type: "data";
  stream: number;
  endStream: boolean;
  /** The data, without the pad length byte and padding. */
  data: Uint8Array;
  /**
   * What the frame counts against the flow-control windows: its whole payload length,
   * pad length byte and padding included (§6.9.1), so never less than `data.length`.
   */
  flowLength: number;
}

export interface HeadersFrame {
  type: "headers";
  stream: number;
  endStream: boolean;
  endHeaders: boolean;
  /** A field block fragment (HPACK), without padding and priority fields. */
  fragment: Uint8Array;
  /** Present when the PRIORITY flag was set. */
  priority: StreamPriority | null;
}

export interface PriorityFrame {
  type: "priority";
  stream: number;
  priority: StreamPriority;
}

export interface RstStreamFrame {
  type: "rst_stream";
  stream: number;
  /** An error code (constants.ts ErrorCode); any 32-bit value may arrive. */
  code: number;
}

export interface SettingsFrame {
  type: "settings";
  stream: 0;
  ack: boolean;
  /** [identifier, value] in the order sent: a later value for the same id wins (§6.5.3). Empty on an ACK. */
  params: Array<[number, number]>;
}

export interface PushPromiseFrame {
  type: "push_promise";
  stream: number;
  endHeaders: boolean;
  /** The stream the server reserves (reserved bit dropped). */
  promised: number;
  fragment: Uint8Array;
}

export interface PingFrame {
  type: "ping";
  stream: 0;
  ack: boolean;
  /** The 8 opaque bytes, echoed in the ACK. */
  data: Uint8Array;
}

export interface GoawayFrame {
  type: "goaway";
  stream: 0;
  /** The highest stream the sender may have acted on (reserved bit dropped). */
  lastStream: number;
  code: number;
  /** Opaque diagnostic data, often empty. */
  debug: Uint8Array;
}

export interface WindowUpdateFrame {
  type: "window_update";
  /** 0 for the connection's window. */
  stream: number;
  /** 1 to 2^31-1 (reserved bit dropped; 0 is refused by the reader). */
  increment: number;
}

export interface ContinuationFrame {
  type: "continuation";
  stream: number;
  endHeaders: boolean;
  fragment: Uint8Array;
}

/** A frame of a type this layer does not know: callers ignore it (§4.1, §5.5). */
export interface UnknownFrame {
  type: "unknown";
  /** The type byte on the wire. */
  frameType: number;
  flags: number;
  stream: number;
  payload: Uint8Array;
}

export type Frame =
  | DataFrame
  | HeadersFrame
  | PriorityFrame
  | RstStreamFrame
  | SettingsFrame
  | PushPromiseFrame
  | PingFrame
  | GoawayFrame
  | WindowUpdateFrame
  | ContinuationFrame
  | UnknownFrame;
