/**
 * HTTP/2 SETTINGS (src/http2/settings.ts): the defaults, each parameter applied, the
 * values the RFCs forbid (one `it` each, with the error code), unknown identifiers
 * ignored, and what encodeSettings sends, read back through FrameReader.
 */
import { describe, expect, it } from "vitest";
import { ErrorCode, errorCodeName, SettingId } from "../../src/http2/constants.ts";
import { H2Error } from "../../src/http2/errors.ts";
import { FrameReader } from "../../src/http2/frames.ts";
import { applySettings, DEFAULT_SETTINGS, encodeSettings, settingsParams } from "../../src/http2/settings.ts";

/** The error applying `params` to the defaults throws, as [code name, stream]. */
function refusal(params: Array<[number, number]>): [string, number, string] {
  try {
    applySettings(DEFAULT_SETTINGS, params);
  } catch (e) {
    if (e instanceof H2Error) return [errorCodeName(e.code), e.stream, e.message];
    throw e;
  }
  throw new Error("accepted");
}

describe("defaults", () => {
  it("are RFC 9113's initial values: table 4096, push on, no stream limit, window 65535, frames 16384", () => {
    expect(DEFAULT_SETTINGS).toEqual({
      headerTableSize: 4096,
      enablePush: true,
      maxConcurrentStreams: null,
      initialWindowSize: 65_535,
      maxFrameSize: 16_384,
      maxHeaderListSize: null,
      enableConnectProtocol: false,
    });
  });
});

describe("applySettings", () => {
  it("sets every known parameter from its identifier", () => {
    expect(applySettings(DEFAULT_SETTINGS, [
      [SettingId.HEADER_TABLE_SIZE, 0],
      [SettingId.ENABLE_PUSH, 0],
      [SettingId.MAX_CONCURRENT_STREAMS, 100],
      [SettingId.INITIAL_WINDOW_SIZE, 1 << 20],
      [SettingId.MAX_FRAME_SIZE, 1 << 20],
      [SettingId.MAX_HEADER_LIST_SIZE, 8192],
      [SettingId.ENABLE_CONNECT_PROTOCOL, 1],
    ])).toEqual({
      headerTableSize: 0,
      enablePush: false,
      maxConcurrentStreams: 100,
      initialWindowSize: 1 << 20,
      maxFrameSize: 1 << 20,
      maxHeaderListSize: 8192,
      enableConnectProtocol: true,
    });
  });

  it("takes the last value when an identifier comes twice", () => {
    expect(
      applySettings(DEFAULT_SETTINGS, [[SettingId.MAX_CONCURRENT_STREAMS, 1], [SettingId.MAX_CONCURRENT_STREAMS, 2]]),
    )
      .toMatchObject({ maxConcurrentStreams: 2 });
  });

  it("ignores identifiers it does not know", () => {
    expect(applySettings(DEFAULT_SETTINGS, [[0x0, 1], [0x7, 5], [0x9, 1], [0xffff, 0xffffffff]])).toEqual(
      DEFAULT_SETTINGS,
    );
  });

  it("leaves the settings it was given unchanged", () => {
    const current = { ...DEFAULT_SETTINGS };
    applySettings(current, [[SettingId.INITIAL_WINDOW_SIZE, 1]]);
    expect(current).toEqual(DEFAULT_SETTINGS);
  });

  it("accepts the bounds: a window of 2^31-1, frame sizes of 16384 and 16777215", () => {
    expect(applySettings(DEFAULT_SETTINGS, [[SettingId.INITIAL_WINDOW_SIZE, 2 ** 31 - 1]]).initialWindowSize).toBe(
      2 ** 31 - 1,
    );
    expect(applySettings(DEFAULT_SETTINGS, [[SettingId.MAX_FRAME_SIZE, 16_384]]).maxFrameSize).toBe(16_384);
    expect(applySettings(DEFAULT_SETTINGS, [[SettingId.MAX_FRAME_SIZE, 16_777_215]]).maxFrameSize).toBe(16_777_215);
  });

  it("ENABLE_PUSH other than 0 or 1 is a connection error of type PROTOCOL_ERROR", () => {
    expect(refusal([[SettingId.ENABLE_PUSH, 2]])).toEqual([
      "PROTOCOL_ERROR",
      0,
      "SETTINGS_ENABLE_PUSH of 2, not 0 or 1",
    ]);
  });

  it("INITIAL_WINDOW_SIZE over 2^31-1 is a connection error of type FLOW_CONTROL_ERROR", () => {
    expect(refusal([[SettingId.INITIAL_WINDOW_SIZE, 2 ** 31]]).slice(0, 2)).toEqual(["FLOW_CONTROL_ERROR", 0]);
  });

  it("MAX_FRAME_SIZE under 16384 is a connection error of type PROTOCOL_ERROR", () => {
    expect(refusal([[SettingId.MAX_FRAME_SIZE, 16_383]]).slice(0, 2)).toEqual(["PROTOCOL_ERROR", 0]);
  });

  it("MAX_FRAME_SIZE over 16777215 is a connection error of type PROTOCOL_ERROR", () => {
    expect(refusal([[SettingId.MAX_FRAME_SIZE, 16_777_216]]).slice(0, 2)).toEqual(["PROTOCOL_ERROR", 0]);
  });

  it("ENABLE_CONNECT_PROTOCOL other than 0 or 1 is a connection error of type PROTOCOL_ERROR", () => {
    expect(refusal([[SettingId.ENABLE_CONNECT_PROTOCOL, 2]]).slice(0, 2)).toEqual(["PROTOCOL_ERROR", 0]);
  });

  it("ENABLE_CONNECT_PROTOCOL of 0 after 1 is a connection error of type PROTOCOL_ERROR", () => {
    const on = applySettings(DEFAULT_SETTINGS, [[SettingId.ENABLE_CONNECT_PROTOCOL, 1]]);
    expect(() => applySettings(on, [[SettingId.ENABLE_CONNECT_PROTOCOL, 0]])).toThrow(
      "SETTINGS_ENABLE_CONNECT_PROTOCOL of 0 after 1",
    );
    expect(applySettings(on, [[SettingId.ENABLE_CONNECT_PROTOCOL, 1]]).enableConnectProtocol).toBe(true);
  });

  it("a refused value in the middle refuses the whole frame (the error has the code to send)", () => {
    const e = (() => {
      try {
        return applySettings(DEFAULT_SETTINGS, [[SettingId.HEADER_TABLE_SIZE, 0], [SettingId.ENABLE_PUSH, 7]]);
      } catch (e) {
        return e;
      }
    })();
    expect(e instanceof H2Error && e.code).toBe(ErrorCode.PROTOCOL_ERROR);
  });
});

describe("encodeSettings", () => {
  it("sends only what is given, in identifier order, booleans as 0 or 1 and null (unlimited) left out", () => {
    expect(settingsParams({
      enableConnectProtocol: true,
      maxHeaderListSize: null,
      initialWindowSize: 1 << 20,
      enablePush: false,
      maxConcurrentStreams: 128,
    })).toEqual([
      [SettingId.ENABLE_PUSH, 0],
      [SettingId.MAX_CONCURRENT_STREAMS, 128],
      [SettingId.INITIAL_WINDOW_SIZE, 1 << 20],
      [SettingId.ENABLE_CONNECT_PROTOCOL, 1],
    ]);
  });

  it("writes a SETTINGS frame that reads back to the same settings", () => {
    const mine = { enablePush: false, maxConcurrentStreams: 100, maxFrameSize: 65_536, headerTableSize: 0 };
    const [frame] = new FrameReader({ maxFrameSize: 16_384 }).push(encodeSettings(mine));
    expect(frame.type).toBe("settings");
    if (frame.type !== "settings") return;
    expect(frame.ack).toBe(false);
    expect(applySettings(DEFAULT_SETTINGS, frame.params)).toEqual({ ...DEFAULT_SETTINGS, ...mine });
  });

  it("an empty partial is an empty SETTINGS frame", () => {
    expect(Array.from(encodeSettings({}))).toEqual([0, 0, 0, 4, 0, 0, 0, 0, 0]);
  });

  it("refuses with a RangeError a value the peer would have to refuse", () => {
    expect(() => encodeSettings({ maxFrameSize: 100 })).toThrow(RangeError);
    expect(() => encodeSettings({ initialWindowSize: 2 ** 31 })).toThrow(RangeError);
    expect(() => encodeSettings({ headerTableSize: -1 })).toThrow(RangeError);
  });
});
