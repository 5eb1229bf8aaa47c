/**
 * The numbers of HTTP/2's wire format (RFC 9113 §4, §6, §7, §11; RFC 8441 §3): frame
 * types, flags, error codes, settings identifiers, the client preface and the bounds
 * the frame layer and the session check against. One leaf file that imports nothing,
 * so the frame reader, the encoders and the settings agree on every value.
 */

/** Frame types (RFC 9113 §6; §11.2 registry). Any other type is an extension frame, ignored (§4.1, §5.5). */
export const FrameType = {
  DATA: 0x0,
  HEADERS: 0x1,
  PRIORITY: 0x2,
  RST_STREAM: 0x3,
  SETTINGS: 0x4,
  PUSH_PROMISE: 0x5,
  PING: 0x6,
  GOAWAY: 0x7,
  WINDOW_UPDATE: 0x8,
  CONTINUATION: 0x9,
} as const;

/** The registry's names by type, for error messages (the values above are 0..9 in key order). */
const FRAME_NAMES: readonly string[] = Object.keys(FrameType);

/**
 * A frame type's name ("WINDOW_UPDATE"), or "frame type 0x.." for an extension type.
 *
 * @example frameTypeName(0x8) === "WINDOW_UPDATE"; frameTypeName(0x10) === "frame type 0x10"
 */
export function frameTypeName(type: number): string {
  return FRAME_NAMES[type] ?? `frame type 0x${type.toString(16)}`;
}

/**
 * Frame flags (RFC 9113 §6). The same bit means different things per frame type:
 * 0x1 is END_STREAM on DATA and HEADERS and ACK on SETTINGS and PING.
 */
export const Flag = {
  END_STREAM: 0x1,
  ACK: 0x1,
  END_HEADERS: 0x4,
  PADDED: 0x8,
  PRIORITY: 0x20,
} as const;

/** Error codes of RST_STREAM and GOAWAY (RFC 9113 §7). An unknown code MUST NOT trigger special behaviour. */
export const ErrorCode = {
  NO_ERROR: 0x0,
  PROTOCOL_ERROR: 0x1,
  INTERNAL_ERROR: 0x2,
  FLOW_CONTROL_ERROR: 0x3,
  SETTINGS_TIMEOUT: 0x4,
  STREAM_CLOSED: 0x5,
  FRAME_SIZE_ERROR: 0x6,
  REFUSED_STREAM: 0x7,
  CANCEL: 0x8,
  COMPRESSION_ERROR: 0x9,
  CONNECT_ERROR: 0xa,
  ENHANCE_YOUR_CALM: 0xb,
  INADEQUATE_SECURITY: 0xc,
  HTTP_1_1_REQUIRED: 0xd,
} as const;

/** The registry's names by code, for logs and error messages (the values above are 0..0xd in key order). */
const ERROR_NAMES: readonly string[] = Object.keys(ErrorCode);

/**
 * An error code's name ("PROTOCOL_ERROR"), or its hex for a code this table lacks (a
 * peer may send any 32-bit value).
 *
 * @example errorCodeName(0x1) === "PROTOCOL_ERROR"; errorCodeName(0xff) === "0xff"
 */
export function errorCodeName(code: number): string {
  return ERROR_NAMES[code] ?? `0x${code.toString(16)}`;
}

/** SETTINGS parameter identifiers (RFC 9113 §6.5.2; ENABLE_CONNECT_PROTOCOL from RFC 8441 §3). */
export const SettingId = {
  HEADER_TABLE_SIZE: 0x1,
  ENABLE_PUSH: 0x2,
  MAX_CONCURRENT_STREAMS: 0x3,
  INITIAL_WINDOW_SIZE: 0x4,
  MAX_FRAME_SIZE: 0x5,
  MAX_HEADER_LIST_SIZE: 0x6,
  ENABLE_CONNECT_PROTOCOL: 0x8,
} as const;

/** The client connection preface (RFC 9113 §3.4), "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", before the client's SETTINGS. */
export { H2_PREFACE as CLIENT_PREFACE } from "../detect/h2-preface.ts";

/** Every frame starts with a 9-byte header: length (24 bits), type, flags, R bit and stream (31 bits) (§4.1). */
export const FRAME_HEADER_LENGTH = 9;

/** The initial flow-control window of the connection and of every stream (§6.9.2). */
export const DEFAULT_WINDOW_SIZE = 65_535;
/** The largest a flow-control window may grow (§6.9.1): 2^31-1. */
export const MAX_WINDOW_SIZE = 0x7fff_ffff;
/** The default SETTINGS_MAX_FRAME_SIZE, and the smallest value it may be set to (§6.5.2): 2^14. */
export const MIN_MAX_FRAME_SIZE = 16_384;
/** The largest SETTINGS_MAX_FRAME_SIZE may be (§6.5.2): 2^24-1, what the 24-bit length field holds. */
export const MAX_MAX_FRAME_SIZE = 0xff_ffff;
/** The default SETTINGS_HEADER_TABLE_SIZE (§6.5.2): the HPACK dynamic table's initial size. */
export const DEFAULT_HEADER_TABLE_SIZE = 4_096;
/** The largest stream identifier (§5.1.1): 31 bits. */
export const MAX_STREAM_ID = 0x7fff_ffff;
