/**
 * The other half of the translation in request-head.ts: the engine writes its answer
 * to a stream as HTTP/1.1 bytes (the target's response with vane's edits, or vane's
 * own), and this reads them back as what HTTP/2 sends: interim and final header lists
 * (`:status` first, the connection-specific fields of §8.2.2 left out) and body bytes,
 * with where the body ends. The head was already checked by the engine's strict parser
 * when it came from the target, so this parse only splits it.
 */
import { parseResponseHead } from "../detect/http-head.ts";
import { ChunkedDecoder } from "../http/framing.ts";
import { concatBytes } from "../runtime/byte-arrays.ts";
import type { HeaderField } from "./hpack.ts";

/** What a piece of the engine's answer came to. `end`: the response is complete. */
export type ResponsePart =
  | { kind: "headers"; fields: HeaderField[]; interim: boolean; end: boolean }
  | { kind: "data"; data: Uint8Array; end: boolean };

const DROPPED = new Set(["connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade"]);

type Body =
  | { kind: "head" }
  | { kind: "length"; left: number }
  | { kind: "chunked"; decoder: ChunkedDecoder }
  | { kind: "until-close" }
  | { kind: "done" };

/** Reads one response, fed as the engine writes it. */
export class ResponseReader {
  #body: Body = { kind: "head" };
  #held: Uint8Array | null = null;

  /** `headRequest`: the request was HEAD, so the answer has no body whatever its head says. */
  constructor(readonly headRequest: boolean) {}

  get done(): boolean {
    return this.#body.kind === "done";
  }

  /** The parts `bytes` make; throws on an answer that is not HTTP/1.1 (a bug, not the target's doing). */
  push(bytes: Uint8Array): ResponsePart[] {
    const out: ResponsePart[] = [];
    let input = bytes;
    while (input.length > 0 && this.#body.kind !== "done") {
      if (this.#body.kind === "head") {
        const rest = this.#head(input, out);
        if (rest === null) break;
        input = rest;
        continue;
      }
      input = this.#bodyBytes(input, out);
    }
    return out;
  }

  /** The engine closed its side: an until-close body ends here. */
  end(): Extract<ResponsePart, { kind: "data" }> | null {
    if (this.#body.kind !== "until-close") return null;
    this.#body = { kind: "done" };
    return { kind: "data", data: new Uint8Array(0), end: true };
  }

  #head(input: Uint8Array, out: ResponsePart[]): Uint8Array | null {
    const buf = this.#held === null ? input : concatBytes(this.#held, input);
    const got = parseResponseHead(buf);
    if (got.status === "need-more") {
      this.#held = buf.slice();
      return null;
    }
    this.#held = null;
    if (got.status === "error") throw new Error(`engine answer not HTTP/1.1: ${got.reason}`);
    const head = got.head;
    const named = new Set(connectionNamed(head.headers));
    const fields: HeaderField[] = [{ name: ":status", value: String(head.status) }];
    let length: number | null = null;
    let chunked = false;
    for (const [rawName, value] of head.headers) {
      const name = rawName.toLowerCase();
      if (name === "transfer-encoding") chunked = value.toLowerCase().includes("chunked");
      if (DROPPED.has(name) || named.has(name)) continue;
      if (name === "content-length") length = Number(value);
      fields.push({ name, value });
    }
    const rest = buf.subarray(got.length);
    const interim = head.status < 200;
    if (interim) {
      out.push({ kind: "headers", fields, interim, end: false });
      return rest;
    }
    const noBody = this.headRequest || head.status === 204 || head.status === 304;
    this.#body = noBody
      ? { kind: "done" }
      : chunked
      ? { kind: "chunked", decoder: new ChunkedDecoder() }
      : length !== null
      ? (length === 0 ? { kind: "done" } : { kind: "length", left: length })
      : { kind: "until-close" };
    out.push({ kind: "headers", fields, interim, end: this.#body.kind === "done" });
    return rest;
  }

  /** Body bytes of `input`; returns what follows the body (nothing should). */
  #bodyBytes(input: Uint8Array, out: ResponsePart[]): Uint8Array {
    const body = this.#body;
    if (body.kind === "length") {
      const take = Math.min(body.left, input.length);
      body.left -= take;
      if (body.left === 0) this.#body = { kind: "done" };
      out.push({ kind: "data", data: input.subarray(0, take), end: body.left === 0 });
      return input.subarray(take);
    }
    if (body.kind === "chunked") {
      const pieces = body.decoder.push(input);
      if (body.decoder.error !== null) throw new Error(`engine answer: ${body.decoder.error}`);
      const done = body.decoder.done;
      if (done) this.#body = { kind: "done" };
      for (let i = 0; i < pieces.length; i++) {
        out.push({ kind: "data", data: pieces[i], end: done && i === pieces.length - 1 });
      }
      if (done && pieces.length === 0) out.push({ kind: "data", data: new Uint8Array(0), end: true });
      return new Uint8Array(0);
    }
    out.push({ kind: "data", data: input, end: false });
    return new Uint8Array(0);
  }
}

/** Field names the Connection field lists: hop-by-hop by that word (RFC 9110 §7.6.1). */
function connectionNamed(headers: ReadonlyArray<readonly [string, string]>): string[] {
  const named: string[] = [];
  for (const [name, value] of headers) {
    if (name.toLowerCase() !== "connection") continue;
    for (const token of value.split(",")) {
      const t = token.trim().toLowerCase();
      if (t !== "") named.push(t);
    }
  }
  return named;
}
