/**
 * A scripted HTTP/2 target on the far end of an in-memory connection (fake-conn.ts),
 * for unit tests of vane's HTTP/2 client: it reads the client's preface and frames
 * (header blocks decoded with vane's HPACK decoder, byte fields copied), and sends
 * whatever frames a test writes, well-formed or not, so every rule of RFC 9113 the
 * client must hold a target to can be broken on purpose.
 */
import type { FakeConn } from "./fake-conn.ts";
import { settle } from "./fake-conn.ts";
import { CLIENT_PREFACE } from "../../src/http2/constants.ts";
import { type Frame, FrameReader, headerFrames, settingsFrame } from "../../src/http2/frames.ts";
import { type HeaderField, HpackDecoder, HpackEncoder } from "../../src/http2/hpack.ts";

/** A frame the client sent, its byte fields copied; header blocks also decoded. */
export type Seen = Frame & { fields?: HeaderField[] };

export class FakeTarget {
  readonly frames: Seen[] = [];
  readonly #reader = new FrameReader({ maxFrameSize: 16_384 });
  readonly #decoder = new HpackDecoder();
  readonly #encoder = new HpackEncoder();
  #preface = new Uint8Array(0);
  prefaceOk = false;
  ended = false;

  constructor(readonly conn: FakeConn) {
    void this.#read();
  }

  async #read(): Promise<void> {
    for (;;) {
      const chunk = await this.conn.read().catch(() => null);
      if (chunk === null) {
        this.ended = true;
        return;
      }
      let bytes = chunk;
      if (!this.prefaceOk) {
        const joined = new Uint8Array(this.#preface.length + bytes.length);
        joined.set(this.#preface);
        joined.set(bytes, this.#preface.length);
        if (joined.length < CLIENT_PREFACE.length) {
          this.#preface = joined;
          continue;
        }
        this.prefaceOk = joined.subarray(0, CLIENT_PREFACE.length).every((b, i) => b === CLIENT_PREFACE[i]);
        bytes = joined.subarray(CLIENT_PREFACE.length);
      }
      for (const f of this.#reader.push(bytes)) this.frames.push(this.#copy(f));
    }
  }

  #copy(f: Frame): Seen {
    const copy = Object.fromEntries(
      Object.entries(f).map(([k, v]) => [k, v instanceof Uint8Array ? v.slice() : v]),
    ) as Seen;
    if (f.type === "headers") copy.fields = this.#decoder.decode(f.fragment);
    return copy;
  }

  /** Frames of one type the client sent. */
  of<T extends Seen["type"]>(type: T): Array<Extract<Seen, { type: T }>> {
    return this.frames.filter((f) => f.type === type) as Array<Extract<Seen, { type: T }>>;
  }

  /** Writes raw bytes (frames) to the client, then lets them arrive. */
  async send(...frames: Uint8Array[]): Promise<void> {
    for (const f of frames) void this.conn.write(f).catch(() => {});
    await settle();
  }

  /** The server's preface: SETTINGS with these parameters. */
  settings(params: Array<[number, number]> = []): Promise<void> {
    return this.send(settingsFrame(params));
  }

  /** A header block for `stream`, encoded with this target's HPACK encoder. */
  headers(stream: number, fields: HeaderField[], endStream: boolean): Promise<void> {
    return this.send(...headerFrames(stream, this.#encoder.encode(fields), endStream, 16_384));
  }
}

/** A :status list with regular fields after it. */
export function status(code: number, ...fields: Array<[string, string]>): HeaderField[] {
  return [{ name: ":status", value: String(code) }, ...fields.map(([name, value]) => ({ name, value }))];
}
