/**
 * An HTTP/2 request forwarded as an HTTP/2 stream to a pool that speaks h2c: what gRPC
 * needs, since HTTP/1.1 has no trailers a client can rely on and no full duplex. The
 * flow decided it (session.ts runs the same decide the engine runs, once); this carries
 * it out: the request's fields as the target gets them (normalised path, Host as
 * :authority, X-Forwarded-*, the rule's header edits), DATA both ways at once with each
 * side's flow control pacing the other, trailers both ways, resets both ways.
 */
import type { Decision } from "../http/types.ts";
import type { RequestHead } from "../detect/http-head.ts";
import type { RequestTarget } from "../http/request-target.ts";
import { applyEdits, type HeaderEdit, reasonPhrase } from "../http/headers.ts";
import type { Header } from "../detect/http-fields.ts";
import type { HeaderField } from "./hpack.ts";
import type { BodyPlan } from "./request-head.ts";
import type { H2ClientStream } from "./client-stream.ts";
import type { OpenStream, StreamHost } from "./stream.ts";
import { ErrorCode } from "./constants.ts";
import type { ForwardAttempts } from "./forward-attempts.ts";
import { deadline } from "../runtime/timeout.ts";
import { statusFor } from "../http/failure-status.ts";
import type { AccessEntry } from "../telemetry/access-entry.ts";
import type { H2Response } from "./client-stream.ts";
import type { OpenFailure } from "./upstreams.ts";

/** A target's response head, or why there is none. */
type AnswerHead = Extract<H2Response, { ok: true }>;
type FailedHead = Extract<H2Response, { ok: false }>;

/** Fields of the client's request the target does not get from it: vane writes its own. */
const REWRITTEN = new Set(["host", "x-forwarded-for", "x-forwarded-proto", "x-forwarded-host"]);

const COLON = 0x3a;
/** :method, :scheme, :authority and :path, first in the list upstreamFields makes. */
const PSEUDO_FIELDS = 4;

/** Who asked, for X-Forwarded-*. */
export interface Asker {
  client: string;
  proto: "http" | "https";
}

/** The header list the target gets for `head`, as the engine would send it over HTTP/1.1. */
export function upstreamFields(
  fields: readonly HeaderField[],
  head: RequestHead,
  target: RequestTarget,
  decision: Extract<Decision, { kind: "proxy" }>,
  asker: Asker,
): HeaderField[] {
  const authority = target.authority ?? head.host ?? "";
  const out: HeaderField[] = [
    { name: ":method", value: head.method },
    { name: ":scheme", value: "http" },
    { name: ":authority", value: authority },
    { name: ":path", value: target.forward },
  ];
  let forwardedFor = asker.client;
  // The client's fields go on as they came (request-head.ts checked their names are
  // lower case), then vane's own.
  for (const f of fields) {
    const name = f.name;
    if (name.charCodeAt(0) === COLON) continue;
    if (name === "x-forwarded-for") forwardedFor = `${f.value}, ${asker.client}`;
    if (!REWRITTEN.has(name)) out.push(f);
  }
  out.push({ name: "x-forwarded-for", value: forwardedFor }, { name: "x-forwarded-proto", value: asker.proto });
  if (authority !== "") out.push({ name: "x-forwarded-host", value: authority });
  const edits = decision.request;
  if (edits.length === 0) return out;
  // The route's edits apply to the regular fields, as pairs.
  const regular = out.splice(PSEUDO_FIELDS).map((f) => [f.name, f.value] as Header);
  for (const [name, value] of applyEdits(regular, edits)) out.push({ name: name.toLowerCase(), value });
  return out;
}

/**
 * The response head the client gets: the target's fields (lower case: the client
 * connection checked them) after the route's edits. Without edits the fields go as
 * received, a never-indexed one still marked so (RFC 7541 §7.1.3).
 */
function responseFields(status: number, fields: readonly HeaderField[], edits: readonly HeaderEdit[]): HeaderField[] {
  const out: HeaderField[] = [{ name: ":status", value: String(status) }];
  if (edits.length === 0) {
    for (const f of fields) if (f.name.charCodeAt(0) !== COLON) out.push(f);
    return out;
  }
  const edited = applyEdits(fields.map((f) => [f.name, f.value] as Header), edits);
  for (const [name, value] of edited) if (!name.startsWith(":")) out.push({ name: name.toLowerCase(), value });
  return out;
}

/** vane's own answer's fields after :status. */
const ANSWER_FIELDS: readonly HeaderField[] = [{ name: "content-length", value: "0" }];

/** A head's length as HTTP/1.1 writes it (what the access log counts for HTTP/2 too). */
function headLength(status: number, fields: readonly HeaderField[]): number {
  let n = "HTTP/1.1 200 \r\n\r\n".length + reasonPhrase(status).length;
  for (const f of fields) if (f.name.charCodeAt(0) !== COLON) n += f.name.length + f.value.length + 4;
  return n;
}

const openedStream = (got: H2ClientStream | { reason: string }): H2ClientStream | null => "reason" in got ? null : got;

/**
 * The client's side of a forwarded stream: its body goes to the target's stream as
 * that takes it. `attempts` opens the target's stream (ForwardAttempts: the first try
 * at once; retries only for a request without a body); body pieces wait for the first
 * try in order.
 */
export class ForwardStream implements OpenStream {
  sendWindow: number;
  recvWindow: number;
  unacked = 0;
  #requestDone: boolean;
  #received = 0;
  #gone = false;
  /** The try whose answer is awaited or relayed (a retry replaces it). */
  #current: H2ClientStream | null = null;
  /**
   * The access log's record of the stream when the log is on (dispatch sets it and its
   * acquireAt): its target, tries and times are noted as the stream goes.
   */
  entry: AccessEntry | null = null;
  /** The status the client got (0: none yet), and the bytes it was sent (head as HTTP/1.1 would write it, and body). */
  status = 0;
  bytesOut = 0;
  /** Body pieces go upstream in order, each once the one before was taken (made at the first). */
  #chain: Promise<H2ClientStream | null> | null = null;
  /** Body pieces received and not yet taken by the target. */
  #inFlight = 0;
  /** The wait for the client's next body piece (timeouts.body), while it is the client's turn. */
  #requestWatch: { settle(): boolean } | null = null;
  #onRequestStall: (() => void) | null = null;
  #onStatus: ((code: number) => void) | null = null;

  constructor(
    readonly host: StreamHost,
    readonly id: number,
    readonly body: BodyPlan,
    readonly attempts: ForwardAttempts,
    windows: { send: number; receive: number },
  ) {
    this.sendWindow = windows.send;
    this.recvWindow = windows.receive;
    this.#requestDone = body.kind === "none";
    if (!this.#requestDone) this.#watchRequest();
  }

  /**
   * The body's pieces so far, in order, begun with the first try's stream (which takes
   * the body: a request with one is never tried again).
   */
  #body(): Promise<H2ClientStream | null> {
    return this.#chain ??= this.attempts.first.then(openedStream);
  }

  get requestDone(): boolean {
    return this.#requestDone;
  }

  /** The request's body bytes received so far. */
  get bodyIn(): number {
    return this.#received;
  }

  deliver(data: Uint8Array): boolean {
    this.#received += data.length;
    if (this.body.kind === "length" && this.#received > this.body.length) return false;
    this.#requestWatch?.settle();
    this.#inFlight++;
    // The client gets its window back once the target's stream took the bytes: a slow
    // target slows the client, and vane holds at most one window per stream.
    this.#chain = this.#body().then(async (up) => {
      if (up !== null && !this.#gone) await up.write(data);
      this.host.consumed(this, data.length);
      this.#inFlight--;
      this.#watchRequest();
      return up;
    });
    return true;
  }

  /**
   * While the request's body is the client's to send (all it sent was taken, no answer
   * yet), it must send more within timeouts.body: else 408, as for an HTTP/1.1 body.
   */
  #watchRequest(): void {
    if (this.#requestDone || this.#inFlight > 0 || this.status !== 0 || this.#gone) return;
    this.#requestWatch?.settle();
    this.#requestWatch = deadline(this.attempts.ctx.bodyMs, this.#onRequestStall ??= () => this.#requestStalled());
  }

  #requestStalled(): void {
    this.#requestWatch = null;
    if (this.#requestDone || this.#inFlight > 0 || this.status !== 0 || this.#gone) return;
    this.#current?.reset(ErrorCode.CANCEL);
    this.#answer(statusFor("request-timeout"), this.#onStatus!);
  }

  endRequest(): boolean {
    this.#requestWatch?.settle();
    this.#requestDone = true;
    if (this.body.kind === "length" && this.#received !== this.body.length) return false;
    if (this.body.kind !== "none") {
      this.#chain = this.#body().then(async (up) => {
        if (up !== null && !this.#gone) await up.end();
        return up;
      });
    }
    return true;
  }

  abandon(): void {
    if (this.#gone) return;
    this.#gone = true;
    this.#current?.reset(ErrorCode.CANCEL);
  }

  /** The target's answer relayed to the client; resolves when the stream is over. */
  async relay(response: readonly HeaderEdit[], onStatus: (code: number) => void): Promise<void> {
    this.#onStatus = onStatus;
    const first = await this.attempts.first;
    let up = first as H2ClientStream;
    let head: H2Response | null = null;
    if (!("reason" in first) && !this.#gone) {
      this.#current = first;
      if (this.entry !== null) this.#opened(first);
      const limit = this.attempts.limit(first);
      head = await first.response;
      limit.settle();
    }
    if (head === null || !head.ok) {
      // (Apart: the usual stream is answered by its first try.)
      const answered = await this.#tryAgain(first, head, onStatus);
      if (answered === null) return;
      ({ up, head } = answered);
    }
    this.attempts.over();
    const { status, fields } = head as AnswerHead;
    this.#reported(status, onStatus);
    const out = responseFields(status, fields, response);
    if (this.entry !== null) this.#answered(status, out);
    // A response that ended with its headers (gRPC's trailers-only answer) must end with
    // them here too: a client reads grpc-status only from the block that ends the stream.
    if (up.remoteDone && up.buffered === 0 && up.trailers === null) {
      this.host.sendHeaders(this, out, true);
      return this.#over();
    }
    this.host.sendHeaders(this, out, false);
    for (;;) {
      // A piece not in hand must come within timeouts.body, or the answer is cut.
      const stall = up.buffered === 0 && !up.remoteDone ? this.#watchResponse(up) : null;
      const piece = await up.read().catch(() => undefined);
      stall?.settle();
      if (piece === undefined || this.#gone) {
        // The target reset the stream or its connection died mid-answer: the client must not take it as whole.
        if (!this.#gone) this.host.reset(this, ErrorCode.INTERNAL_ERROR);
        return;
      }
      if (piece === null) break;
      // The target's last piece (no trailers after it) carries END_STREAM itself: no empty DATA frame to end.
      const last = up.remoteDone && up.buffered === 0 && up.trailers === null;
      this.bytesOut += piece.length;
      const sent = this.host.sendData(this, piece, last);
      if (sent !== true && !(await sent)) return;
      if (last) return this.#over();
    }
    const trailers = up.trailers;
    if (trailers !== null && trailers.length > 0) this.host.sendHeaders(this, trailers, true);
    else await this.host.sendData(this, new Uint8Array(0), true);
    this.#over();
  }

  /** Cuts the answer (both streams reset) if `up` sends nothing more within timeouts.body. */
  #watchResponse(up: H2ClientStream): { settle(): boolean } {
    return deadline(this.attempts.ctx.bodyMs, () => {
      if (this.#gone) return;
      this.#gone = true;
      up.reset(ErrorCode.CANCEL);
      this.host.reset(this, ErrorCode.INTERNAL_ERROR);
    });
  }

  /** The head of `up`'s answer, within timeouts.upstream (ForwardAttempts.limit). */
  async #headOf(up: H2ClientStream): Promise<H2Response> {
    this.#current = up;
    const limit = this.attempts.limit(up);
    const head = await up.response;
    limit.settle();
    return head;
  }

  /**
   * After the try `got` failed (`head`: its answer's failure; null: no stream, or the
   * client went), the next tries: the one that answered, or null when the client went
   * or got vane's answer.
   */
  async #tryAgain(
    got: H2ClientStream | OpenFailure,
    head: H2Response | null,
    onStatus: (code: number) => void,
  ): Promise<{ up: H2ClientStream; head: H2Response } | null> {
    const { attempts } = this;
    for (;;) {
      if (this.#gone) {
        attempts.over();
        if (!("reason" in got)) got.reset(ErrorCode.CANCEL);
        return null;
      }
      if (head !== null && head.ok) return { up: got as H2ClientStream, head };
      const next = "reason" in got ? attempts.notOpened(got) : attempts.failed(got, head as FailedHead);
      if (!(next instanceof Promise)) {
        attempts.over();
        this.#answer(next.code, onStatus);
        return null;
      }
      got = await next;
      if (!("reason" in got) && this.entry !== null) this.#opened(got);
      head = "reason" in got || this.#gone ? null : await this.#headOf(got);
    }
  }

  /** vane's own answer: no target answered (http/failure-status.ts). */
  #answer(code: number, onStatus: (code: number) => void): void {
    this.#reported(code, onStatus);
    this.bytesOut = headLength(code, ANSWER_FIELDS);
    this.host.sendHeaders(
      this,
      [{ name: ":status", value: String(code) }, ...ANSWER_FIELDS],
      true,
    );
    this.#over();
  }

  #reported(code: number, onStatus: (code: number) => void): void {
    this.status = code;
    onStatus(code);
  }

  /** The access record: the try `up` opened (its target, the tries before it, the time it took). */
  #opened(up: H2ClientStream): void {
    const entry = this.entry!;
    // The target as the pool names it (an HTTP/1.1 lease's key names it so too).
    entry.target = up.target?.key ?? null;
    entry.retries = this.attempts.tries;
    entry.connectMs = Math.round((performance.now() - entry.acquireAt) * 1000) / 1000;
  }

  /** The access record: the answer's head came, and what it weighs as HTTP/1.1. */
  #answered(status: number, fields: readonly HeaderField[]): void {
    this.entry!.firstByteMs = performance.now();
    this.bytesOut = headLength(status, fields);
  }

  #over(): void {
    if (!this.#requestDone) this.host.reset(this, ErrorCode.NO_ERROR);
    this.#gone = true;
    this.host.finished(this);
  }
}
