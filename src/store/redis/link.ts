/**
 * One Redis server as the rate limits see it: its client, the bucket script called by
 * EVALSHA (EVAL when the server does not know it yet: a new or restarted Redis answers
 * NOSCRIPT, and EVAL caches it for the next calls), and the two log lines an outage
 * deserves: one when Redis goes away, one when it is back, never one per request (an
 * error reply while Redis is up, e.g. OOM or a read-only replica: rate-limited lines).
 */
import type { Clock } from "../../runtime/clock.ts";
import type { Logger } from "../../telemetry/logger.ts";
import { limited } from "../../telemetry/log-limit.ts";
import type { RedisUrl } from "../../config/redis-url.ts";
import { type Connector, RedisClient, type RedisClientOptions } from "./client.ts";
import { RedisErrorReply, type RedisReply } from "./resp.ts";
import { BUCKET_SCRIPT, BUCKET_SHA } from "./bucket-script.ts";
import type { BucketLink } from "./lease-table.ts";

export class RedisLink implements BucketLink {
  readonly client: RedisClient;
  readonly clock: Clock;
  readonly #log: Logger;

  constructor(
    connect: Connector,
    readonly url: RedisUrl,
    log: Logger,
    options: RedisClientOptions & { clock: Clock },
  ) {
    this.clock = options.clock;
    this.#log = log;
    let wasDown = false;
    this.client = new RedisClient(connect, url, {
      ...options,
      onState: (up, reason) => {
        if (up && !wasDown) log.info("redis connected: shared rate limits count there", { store: url.display });
        else if (up) log.info("redis back: shared rate limits count there again", { store: url.display });
        else {
          wasDown = true;
          log.warn("redis unavailable: its rate limits fail open or closed (their on-error) until it is back", {
            store: url.display,
            reason,
          });
        }
      },
    });
    this.client.start();
  }

  /** Whether asking is worth it now (see RedisClient.available). */
  get available(): boolean {
    return this.client.available;
  }

  /**
   * Takes up to `n` tokens from the bucket `key` (a negative `n` gives `-n` back): how
   * many it got. Rejects when Redis does not answer in time or answers with an error.
   */
  async bucket(key: string, rate: number, burst: number, n: number, ttlMs: number): Promise<number> {
    const args = [key, rate, burst, n, ttlMs];
    let reply: RedisReply = await this.client.command(["EVALSHA", BUCKET_SHA, 1, ...args]);
    if (reply instanceof RedisErrorReply && reply.code === "NOSCRIPT") {
      reply = await this.client.command(["EVAL", BUCKET_SCRIPT, 1, ...args]);
    }
    if (typeof reply === "number") return reply;
    const err = reply instanceof RedisErrorReply ? reply : new Error(`unexpected reply to the bucket script: ${reply}`);
    // Redis is up but refuses (OOM, READONLY replica, ACL): said, at most once per 10 s, not per request.
    limited(this.#log).warn("redis refused a rate-limit update: judged by on-error", "store", {
      store: this.url.display,
      reason: err.message,
    });
    throw err;
  }

  close(): void {
    this.client.close();
  }
}
