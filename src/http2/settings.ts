/**
 * HTTP/2 SETTINGS (RFC 9113 §6.5.2; RFC 8441 §3) as named values: the defaults a
 * connection starts with, `applySettings` for what the peer sends (refusing values the
 * RFCs forbid, ignoring identifiers it does not know, as §6.5.2 requires), and
 * `encodeSettings` for what vane sends. What a setting means for streams already open
 * (a new INITIAL_WINDOW_SIZE shifting every window) is the session's to apply.
 */
import {
  DEFAULT_HEADER_TABLE_SIZE,
  DEFAULT_WINDOW_SIZE,
  ErrorCode,
  MAX_MAX_FRAME_SIZE,
  MAX_WINDOW_SIZE,
  MIN_MAX_FRAME_SIZE,
  SettingId,
} from "./constants.ts";
import { connectionError, H2Error } from "./errors.ts";
import { settingsFrame } from "./frame-encode.ts";

export interface Settings {
  /** HPACK dynamic table size the sender's decoder allows the encoder. */
  headerTableSize: number;
  enablePush: boolean;
  /** null: unlimited, the value until one is sent. */
  maxConcurrentStreams: number | null;
  /** Each new stream's flow-control window, 0..2^31-1. */
  initialWindowSize: number;
  /** The largest frame payload the sender will accept, 16384..16777215. */
  maxFrameSize: number;
  /** Advisory bound on a field section's size; null: unlimited. */
  maxHeaderListSize: number | null;
  /** Extended CONNECT (RFC 8441), for WebSockets over HTTP/2. */
  enableConnectProtocol: boolean;
}

/** Every setting's initial value (§6.5.2), in force until the peer's SETTINGS says otherwise. */
export const DEFAULT_SETTINGS: Readonly<Settings> = Object.freeze({
  headerTableSize: DEFAULT_HEADER_TABLE_SIZE,
  enablePush: true,
  maxConcurrentStreams: null,
  initialWindowSize: DEFAULT_WINDOW_SIZE,
  maxFrameSize: MIN_MAX_FRAME_SIZE,
  maxHeaderListSize: null,
  enableConnectProtocol: false,
});

function flag(name: string, value: number): boolean {
  if (value > 1) throw connectionError(ErrorCode.PROTOCOL_ERROR, `SETTINGS_${name} of ${value}, not 0 or 1`);
  return value === 1;
}

/** Sets one parameter on `s`; throws H2Error for a value the RFCs forbid. */
function applyOne(s: Settings, id: number, value: number): void {
  switch (id) {
    case SettingId.HEADER_TABLE_SIZE:
      s.headerTableSize = value;
      return;
    case SettingId.ENABLE_PUSH:
      s.enablePush = flag("ENABLE_PUSH", value);
      return;
    case SettingId.MAX_CONCURRENT_STREAMS:
      s.maxConcurrentStreams = value;
      return;
    case SettingId.INITIAL_WINDOW_SIZE:
      if (value > MAX_WINDOW_SIZE) {
        throw connectionError(ErrorCode.FLOW_CONTROL_ERROR, `SETTINGS_INITIAL_WINDOW_SIZE of ${value}, over 2^31-1`);
      }
      s.initialWindowSize = value;
      return;
    case SettingId.MAX_FRAME_SIZE:
      if (value < MIN_MAX_FRAME_SIZE || value > MAX_MAX_FRAME_SIZE) {
        throw connectionError(
          ErrorCode.PROTOCOL_ERROR,
          `SETTINGS_MAX_FRAME_SIZE of ${value}, outside ${MIN_MAX_FRAME_SIZE}..${MAX_MAX_FRAME_SIZE}`,
        );
      }
      s.maxFrameSize = value;
      return;
    case SettingId.MAX_HEADER_LIST_SIZE:
      s.maxHeaderListSize = value;
      return;
    case SettingId.ENABLE_CONNECT_PROTOCOL:
      applyConnectProtocol(s, value);
      return;
  }
  // Any other identifier is one this endpoint does not understand: ignored (§6.5.2).
}

function applyConnectProtocol(s: Settings, value: number): void {
  const enable = flag("ENABLE_CONNECT_PROTOCOL", value);
  // RFC 8441 §3: once 1 was sent, the sender must not take it back with 0.
  if (s.enableConnectProtocol && !enable) {
    throw connectionError(ErrorCode.PROTOCOL_ERROR, "SETTINGS_ENABLE_CONNECT_PROTOCOL of 0 after 1");
  }
  s.enableConnectProtocol = enable;
}

/**
 * The settings after a SETTINGS frame's `params` ([identifier, value], in order: a later
 * value for the same identifier wins, §6.5.3). `current` is not changed. Throws H2Error
 * (a connection error) for a forbidden value.
 *
 * @example applySettings(DEFAULT_SETTINGS, [[SettingId.MAX_FRAME_SIZE, 32768]]).maxFrameSize === 32768
 */
export function applySettings(current: Readonly<Settings>, params: ReadonlyArray<readonly [number, number]>): Settings {
  const next: Settings = { ...current };
  for (const [id, value] of params) applyOne(next, id, value);
  return next;
}

/** Each setting's identifier and its value on the wire, in identifier order. */
const WIRE: ReadonlyArray<readonly [keyof Settings, number]> = [
  ["headerTableSize", SettingId.HEADER_TABLE_SIZE],
  ["enablePush", SettingId.ENABLE_PUSH],
  ["maxConcurrentStreams", SettingId.MAX_CONCURRENT_STREAMS],
  ["initialWindowSize", SettingId.INITIAL_WINDOW_SIZE],
  ["maxFrameSize", SettingId.MAX_FRAME_SIZE],
  ["maxHeaderListSize", SettingId.MAX_HEADER_LIST_SIZE],
  ["enableConnectProtocol", SettingId.ENABLE_CONNECT_PROTOCOL],
];

/**
 * The [identifier, value] pairs for the settings in `partial`, in identifier order. A
 * setting left out, or null (unlimited, which is the default), is not sent. Throws
 * RangeError for a value the peer would have to refuse.
 */
export function settingsParams(partial: Partial<Settings>): Array<[number, number]> {
  const params: Array<[number, number]> = [];
  for (const [key, id] of WIRE) {
    const value = partial[key];
    if (value === undefined || value === null) continue;
    params.push([id, typeof value === "boolean" ? (value ? 1 : 0) : value]);
  }
  try {
    applySettings(DEFAULT_SETTINGS, params);
  } catch (e) {
    if (e instanceof H2Error) throw new RangeError(`not a setting to send: ${e.message}`);
    throw e;
  }
  return params;
}

/**
 * The SETTINGS frame vane sends for `partial` (see settingsParams).
 *
 * @example encodeSettings({ enablePush: false, maxConcurrentStreams: 100 })
 */
export function encodeSettings(partial: Partial<Settings>): Uint8Array {
  return settingsFrame(settingsParams(partial));
}
