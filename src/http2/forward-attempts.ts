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
import { DEFAULT_RETRY_ON } from "../config/model.ts";
import { formatDuration } from "../config/duration.ts";
import type { TargetHealth } from "../health/registry.ts";
import type { HttpRoute } from "../http/types.ts";
import { avoided, IDEMPOTENT } from "../http/retry.ts";
import { statusFor } from "../http/failure-status.ts";
import { deadline } from "../runtime/timeout.ts";
import type { Clock } from "../runtime/clock.ts";
import type { Logger } from "../telemetry/logger.ts";
import { limited } from "../telemetry/log-limit.ts";
import type { H2ClientStream, H2Response } from "./client-stream.ts";
import type { OpenFailure } from "./upstreams.ts";

/** A stream opened on a target the pool picked (none of `exclude`), or why none was. */
export type Opener = (
  exclude: ReadonlySet<TargetHealth> | undefined,
  picked: (entry: TargetHealth) => void,
) => Promise<H2ClientStream | OpenFailure>;

/** The answer's head, or why there is none: a stream error, or no head within timeouts.upstream. */
export type Answer = H2Response | { ok: false; timeout: string };

/** What the client gets when no try answered. */
export interface GaveUp {
  readonly code: number;
  readonly why: string;
}

/** What a stream's tries need of the connection's context. */
export interface AttemptsContext {
  readonly log: Logger;
  readonly clock: Clock;
  readonly upstreamMs: number;
  onRetrySkipped?(pool: string, reason: "budget"): void;
}

export class ForwardAttempts {
  /** The first try, opened at once. */
  readonly first: Promise<H2ClientStream | OpenFailure>;
  /** Targets tried so far (for the next retry to avoid), in order. */
  readonly #tried: TargetHealth[] = [];
  #retries = 0;
  #resent = false;
  #holdsBudget = false;
  /** The last failure a retry followed: the answer when no later try could be had. */
  #retriedAfter: GaveUp | null = null;
  readonly #canResend: boolean;

  constructor(
    readonly route: HttpRoute,
    readonly open: Opener,
    /** The pool's targets, primary and fallback (a retry avoids all tried while any is left). */
    readonly poolSize: number,
    method: string,
    hasBody: boolean,
    readonly ctx: AttemptsContext,
  ) {
    this.#canResend = !hasBody;
    this.#idempotent = IDEMPOTENT.has(method);
    this.first = open(undefined, this.#picked);
  }

  readonly #idempotent: boolean;
  readonly #picked = (entry: TargetHealth): void => void this.#tried.push(entry);

  /** The head of `stream`'s answer, or a timeout after timeouts.upstream (the stream is then cancelled). */
  headOf(stream: H2ClientStream): Promise<Answer> {
    const ms = this.ctx.upstreamMs;
    return new Promise((resolve) => {
      const limit = deadline(ms, () => {
        const why = `no response within ${formatDuration(ms)}`;
        stream.timedOut = why;
        stream.reset();
        resolve({ ok: false, timeout: why });
      });
      void stream.response.then((head) => limit.settle() && resolve(head));
    });
  }

  /**
   * After a failed try (`failed`: why no stream opened, or why it gave no answer): the
   * next try, or what the client gets.
   */
  next(failed: OpenFailure | Answer): Promise<H2ClientStream | OpenFailure> | GaveUp {
    if ("kind" in failed) return this.#notOpened(failed);
    if (failed.ok) throw new Error("ForwardAttempts.next: the try was answered");
    if ("timeout" in failed) {
      return this.#retry("response-timeout", { code: statusFor("upstream-timeout"), why: failed.timeout });
    }
    if (failed.retryable && this.#canResend && !this.#resent) {
      // Never acted on: sent again once, on any target, outside retry-on and the budget.
      this.#resent = true;
      return this.open(undefined, this.#picked);
    }
    return this.#retry("empty-response", { code: statusFor("upstream-reset"), why: failed.reason });
  }

  #notOpened(failed: OpenFailure): Promise<H2ClientStream | OpenFailure> | GaveUp {
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
  #retry(cause: RetryOn, failure: GaveUp): Promise<H2ClientStream | OpenFailure> | GaveUp {
    const { route, ctx } = this;
    const allowed = this.#retries < (route.retry?.policy.retries ?? 1) && this.#canResend &&
      (cause === "conn-failure" || this.#idempotent) && (route.retryOn ?? DEFAULT_RETRY_ON).includes(cause);
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
    const exclude = avoided(this.#tried, this.poolSize);
    const wait = control?.backoffMs(this.#retries) ?? 0;
    if (wait <= 0) return this.open(exclude, this.#picked);
    return new Promise((resolve) => ctx.clock.setTimeout(() => resolve(this.open(exclude, this.#picked)), wait));
  }

  #gaveUp(failure: GaveUp): GaveUp {
    limited(this.ctx.log).warn(failure.code === 504 ? "upstream timeout" : "upstream failed", "route", {
      route: this.route.name,
      error: failure.why,
    });
    return failure;
  }

  /** The stream is over: a retry budget it held goes back. */
  over(): void {
    if (!this.#holdsBudget) return;
    this.#holdsBudget = false;
    this.route.retry?.done();
  }
}
