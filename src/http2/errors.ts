/**
 * The one error type of the HTTP/2 layer (RFC 9113 §5.4): a protocol violation with the
 * error code to send and its scope. A connection error (stream 0) ends the connection
 * with GOAWAY; a stream error ends one stream with RST_STREAM and the connection goes on.
 * The frame reader and applySettings throw it; the session decides what to send.
 */
import { errorCodeName } from "./constants.ts";

export class H2Error extends Error {
  /** The error code to put in GOAWAY or RST_STREAM (constants.ts ErrorCode). */
  readonly code: number;
  /** 0 for a connection error (§5.4.1), else the stream a stream error (§5.4.2) ends. */
  readonly stream: number;

  /** `message` is one line naming the rule broken, e.g. "WINDOW_UPDATE of 0 on stream 3". */
  constructor(code: number, stream: number, message: string) {
    super(message);
    this.name = "H2Error";
    this.code = code;
    this.stream = stream;
  }

  /** Whether the whole connection must end (GOAWAY) rather than one stream (RST_STREAM). */
  get isConnectionError(): boolean {
    return this.stream === 0;
  }

  /** "PROTOCOL_ERROR: ..." (connection) or "PROTOCOL_ERROR on stream 3: ..." (stream), for logs. */
  describe(): string {
    const scope = this.stream === 0 ? "" : ` on stream ${this.stream}`;
    return `${errorCodeName(this.code)}${scope}: ${this.message}`;
  }
}

/**
 * A connection error (§5.4.1): the peer broke a rule the whole connection depends on.
 *
 * @example throw connectionError(ErrorCode.FRAME_SIZE_ERROR, "PING of 7 bytes, not 8")
 */
export function connectionError(code: number, message: string): H2Error {
  return new H2Error(code, 0, message);
}

/**
 * A stream error (§5.4.2): only stream `stream` is broken; it is reset, the rest goes on.
 *
 * @example throw streamError(3, ErrorCode.PROTOCOL_ERROR, "WINDOW_UPDATE of 0 on stream 3")
 */
export function streamError(stream: number, code: number, message: string): H2Error {
  return new H2Error(code, stream, message);
}
