/**
 * The tries of one HTTP/2 client stream forwarded to a pool that speaks h2c or h2
 * (forward.ts): the first target the pool picks, then, after a failure before any
 * answer, the retries the pool allows, on the HTTP/1.1 engine's terms (engine.ts's
 * mayRetry and retryElsewhere; docs/config.md, retry-on): the pool's `retry-on`,
 * `retries`, budget and backoff, each retry on a target not tried yet. The wait for
 * the answer's head is bounded by `timeouts.upstream`, as for HTTP/1.1 (504).
 *
 * A request with a body is never sent again (its body went to the first stream).
 * A stream the target never acted on (REFUSED_STREAM, or above a GOAWAY's last
 * stream: RFC 9113 §8.7) goes again once, on any target, as a keep-alive race does.
 */
import type { RetryOn } from "../config/model.ts";
import { formatDuration } from "../config/duration.ts";
import type { TargetHealth } from "../health/registry.ts";
import type { HttpRoute } from "../http/types.ts";
import { avoided, IDEMPOTENT, poolRetries } from "../http/retry.ts";
import { statusFor } from "../http/failure-status.ts";
import { deadline } from "../runtime/timeout.ts";
import { type Clock, SYSTEM_CLOCK } from "../runtime/clock.ts";
import type { Logger } from "../telemetry/logger.ts";
import { limited } from "../telemetry/log-limit.ts";
import type { H2ClientStream, H2Response } from "./client-stream.ts";
import type { H2Upstreams, OpenFailure } from "./upstreams.ts";
import type { Pool } from "../balance/pool.ts";
import type { HeaderField } from "./hpack.ts";

/** The next try, or (GaveUp) what the client gets. */
export type Next = Promise<H2ClientStream | OpenFailure> | GaveUp;

/** What the client gets when no try answered. */
export interface GaveUp {
  readonly code: number;
  readonly why: string;
}

/** What a stream's tries need of the connection's context (HttpContext has it all: dispatch passes that). */
export interface AttemptsContext {
  readonly log: Logger;
  /** For the backoff's wait (a test's fake clock); absent: the real one. */
  readonly clock?: Clock;
  readonly upstreamMs: number;
  /** timeouts.body: a body that moves no byte this long ends the stream (forward.ts). */
  readonly bodyMs: number;
  onRetrySkipped?(pool: string, reason: "budget"): void;
}

/** What a retry's open needs: the connections, the pool and the request's header list. */
export interface OpenArgs {
  readonly upstreams: H2Upstreams;
  /** undefined: a reload removed the pool. */
  readonly pool: Pool | undefined;
  readonly fields: HeaderField[];
  readonly endStream: boolean;
}

const POOL_GONE: OpenFailure = { ok: false, kind: "none", reason: "the pool is no longer configured" };

export class ForwardAttempts {
  /** The first try, opened at once. */
  readonly first: Promise<H2ClientStream | OpenFailure>;
  /** Targets tried so far (for the next retry to avoid), in order; made at the first failure. */
  #tried: TargetHealth[] | null = null;
  #retries = 0;
  #resent = false;
  #holdsBudget = false;
  /** The last failure a retry followed: the answer when no later try could be had. */
  #retriedAfter: GaveUp | null = null;

  constructor(
    readonly route: HttpRoute,
    readonly args: OpenArgs,
    readonly method: string,
    readonly ctx: AttemptsContext,
  ) {
    this.first = this.#open(undefined);
  }

  #open(exclude: ReadonlySet<TargetHealth> | undefined): Promise<H2ClientStream | OpenFailure> {
    const { upstreams, pool, fields, endStream } = this.args;
    if (pool === undefined) return Promise.resolve(POOL_GONE);
    return upstreams.request(pool, fields, endStream, exclude);
  }

  /**
   * Cancels `stream` if no head of its answer came within timeouts.upstream (its
   * `timedOut` then says why); settle() the returned deadline once the head came.
   */
  limit(stream: H2ClientStream): { settle(): boolean } {
    const ms = this.ctx.upstreamMs;
    return deadline(ms, () => {
      stream.timedOut = `no response within ${formatDuration(ms)}`;
      stream.reset();
    });
  }

  /** After `stream` failed before its answer's head (`head`): the next try, or what the client gets. */
  failed(stream: H2ClientStream, head: Extract<H2Response, { ok: false }>): Next {
    if (stream.target !== null) (this.#tried ??= []).push(stream.target);
    if (stream.timedOut !== null) {
      return this.#retry("response-timeout", { code: statusFor("upstream-timeout"), why: stream.timedOut });
    }
    if (head.retryable && this.args.endStream && !this.#resent) {
      // Never acted on: sent again once, on any target, outside retry-on and the budget.
      this.#resent = true;
      return this.#open(undefined);
    }
    return this.#retry("empty-response", { code: statusFor("upstream-reset"), why: head.reason });
  }

  /** After no stream could be opened (`failed` says why): the next try, or what the client gets. */
  notOpened(failed: OpenFailure): Next {
    if (failed.target !== undefined) (this.#tried ??= []).push(failed.target);
    const first = this.#retriedAfter;
    if (failed.kind !== "connect" && first !== null) {
      return this.#gaveUp({ code: first.code, why: `${first.why}; no retry: ${failed.reason}` });
    }
    if (failed.kind === "queue") {
      limited(this.ctx.log).warn("pool queue refused the request", "route", {
        route: this.route.name,
        error: failed.reason,
      });
      return { code: statusFor("queue"), why: failed.reason };
    }
    if (failed.kind === "none") {
      limited(this.ctx.log).warn("upstream unavailable", "route", { route: this.route.name, error: failed.reason });
      return { code: statusFor("unavailable"), why: failed.reason };
    }
    // A connect that failed sent nothing: any method may go on to another target.
    return this.#retry("conn-failure", { code: statusFor("unavailable"), why: failed.reason });
  }

  /** A retry on a target not tried yet, when `retry-on` names `cause` and the request may go again. */
  #retry(cause: RetryOn, failure: GaveUp): Next {
    const { route, ctx } = this;
    const allowed = this.args.endStream && (cause === "conn-failure" || IDEMPOTENT.has(this.method)) &&
      poolRetries(route, this.#retries, cause);
    if (!allowed) return this.#gaveUp(failure);
    const control = route.retry;
    if (control !== undefined && !this.#holdsBudget) {
      if (!control.take()) {
        ctx.onRetrySkipped?.(route.pool, "budget");
        return this.#gaveUp({ code: failure.code, why: `${failure.why}; no retry: the retry budget is spent` });
      }
      this.#holdsBudget = true;
    }
    this.#retriedAfter = failure;
    this.#retries++;
    limited(ctx.log).info("upstream failed; retrying on another target", "route", {
      route: route.name,
      error: failure.why,
    });
    const pool = this.args.pool;
    const exclude = avoided(this.#tried ?? [], pool === undefined ? 0 : pool.primary.length + pool.fallback.length);
    const wait = control?.backoffMs(this.#retries) ?? 0;
    if (wait <= 0) return this.#open(exclude);
    const clock = ctx.clock ?? SYSTEM_CLOCK;
    return new Promise((resolve) => clock.setTimeout(() => resolve(this.#open(exclude)), wait));
  }

  #gaveUp(failure: GaveUp): GaveUp {
    limited(this.ctx.log).warn(failure.code === 504 ? "upstream timeout" : "upstream failed", "route", {
      route: this.route.name,
      error: failure.why,
    });
    return failure;
  }

  /** Tries after the first so far (retries, and a refused stream sent again). */
  get tries(): number {
    return this.#retries + (this.#resent ? 1 : 0);
  }

  /** The stream is over: a retry budget it held goes back. */
  over(): void {
    if (!this.#holdsBudget) return;
    this.#holdsBudget = false;
    this.route.retry?.done();
  }
}
