/**
 * One `plugin` action's client: dispatch to the http, command or function kind under
 * one deadline, answer validation, a circuit breaker, and warnings limited per plugin
 * (telemetry/log-limit.ts).
 *
 * The breaker: after `failures` failures in a row the plugin is not asked for
 * `quietMs`, and every evaluation meanwhile takes the failure path at once (a plugin
 * that times out would otherwise add its timeout to every request). After the quiet
 * period one call is let through as a trial: success closes the breaker, failure
 * opens it for another quiet period. Calls arriving while the trial is out are not
 * let through either, so a struggling plugin gets one request, not a burst.
 */
import type { PluginSpec } from "../config/model.ts";
import type { Logger } from "../telemetry/logger.ts";
import { limited } from "../telemetry/log-limit.ts";
import { type PluginAnswer, toAnswer } from "./plugin-answer.ts";
import { askCommand } from "./plugin-command.ts";
import { askHttp } from "./plugin-http.ts";
import { errorText } from "../errors/mod.ts";

export type { PluginAnswer } from "./plugin-answer.ts";

/**
 * A plugin written in TypeScript: flows call it by name (`plugin: { function: NAME }`)
 * with the connection's and request's keys. Its answer's `branch` picks the rule list to
 * go on with and its `keys` become `plugin.<name>` keys; a throw or a timeout (`signal`
 * aborts) takes the rule's `failure` branch.
 *
 * @example
 * ```ts
 * import type { FlowFunction } from "./mod.ts";
 * const auth: FlowFunction = (keys) => ({
 *   branch: keys["req.header.x-key"] === "k" ? "allow" : "deny",
 *   keys: { user: "alice" },
 * });
 * ```
 */
export type FlowFunction = (
  keys: Record<string, string | readonly string[]>,
  signal: AbortSignal,
) => PluginAnswer | Promise<PluginAnswer>;

export interface PluginOptions {
  spec: PluginSpec;
  timeoutMs: number;
  /** Failures in a row that open the breaker; 0 or less: never open it. */
  failures: number;
  quietMs: number;
}

export interface PluginDeps {
  log: Logger;
  functions?: ReadonlyMap<string, FlowFunction>;
  now: () => number;
}

export function describePlugin(spec: PluginSpec): string {
  switch (spec.kind) {
    case "http":
      return spec.url;
    case "command":
      return spec.argv.join(" ");
    case "function":
      return `function:${spec.name}`;
  }
}

export class PluginClient {
  readonly name: string;
  #failuresInRow = 0;
  /** While open: the clock time at which a trial may go. */
  #openUntil: number | null = null;
  #trialOut = false;

  readonly #deps: PluginDeps;
  constructor(readonly options: PluginOptions, deps: PluginDeps) {
    this.#deps = deps;
    this.name = describePlugin(options.spec);
  }

  /** Whether the breaker is open (the plugin is being skipped). */
  get open(): boolean {
    return this.#openUntil !== null;
  }

  /** The plugin's answer, or null when it failed or was skipped (already logged). Never rejects. */
  async ask(keys: Record<string, string | readonly string[]>): Promise<PluginAnswer | null> {
    let trial = false;
    if (this.#openUntil !== null) {
      if (this.#trialOut || this.#deps.now() < this.#openUntil) return null;
      trial = this.#trialOut = true;
    }
    let answer: PluginAnswer;
    try {
      answer = toAnswer(await this.#call(keys));
    } catch (e) {
      this.#failed(e, trial);
      return null;
    } finally {
      if (trial) this.#trialOut = false;
    }
    this.#succeeded();
    return answer;
  }

  #call(keys: Record<string, string | readonly string[]>): Promise<unknown> {
    const { spec, timeoutMs } = this.options;
    const ac = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const err = new Error(`timed out after ${timeoutMs}ms`);
        ac.abort(err);
        reject(err);
      }, timeoutMs);
    });
    let work: Promise<unknown>;
    switch (spec.kind) {
      case "http":
        // Raced as well as aborted: the deadline holds even if a body read ignored the signal.
        work = Promise.race([askHttp(spec.url, JSON.stringify(keys), ac.signal), timedOut]);
        break;
      case "command":
        // Not raced: it settles once the killed child has exited, so none outlives the call.
        work = askCommand(spec.argv, JSON.stringify(keys), ac.signal);
        break;
      case "function": {
        const fn = this.#deps.functions?.get(spec.name);
        // Raced: a function may ignore its signal, and the evaluation must not wait for it.
        // The executor turns a synchronous throw into a rejection.
        work = fn
          ? Promise.race([new Promise((resolve) => resolve(fn(keys, ac.signal))), timedOut])
          : Promise.reject(new Error(`no function named ${JSON.stringify(spec.name)} is registered`));
        break;
      }
    }
    // The deadline's own rejection is only observed through the race; keep it from being unhandled.
    timedOut.catch(() => {});
    return work.finally(() => clearTimeout(timer));
  }

  #succeeded(): void {
    this.#failuresInRow = 0;
    if (this.#openUntil !== null) {
      this.#openUntil = null;
      this.#deps.log.info("plugin answers again; no longer skipped", { plugin: this.name });
    }
  }

  #failed(e: unknown, trial: boolean): void {
    const reason = errorText(e);
    this.#failuresInRow++;
    const { failures, quietMs } = this.options;
    if (trial) {
      this.#openUntil = this.#deps.now() + quietMs;
      this.#warn(`plugin failed again: skipped for another ${quietMs}ms`, reason);
    } else if (failures > 0 && this.#failuresInRow >= failures && this.#openUntil === null) {
      this.#openUntil = this.#deps.now() + quietMs;
      // Logged whatever the rate limit: it happens once per opening.
      this.#deps.log.warn(`plugin failed ${this.#failuresInRow} times in a row: skipped for ${quietMs}ms`, {
        plugin: this.name,
        reason,
      });
    } else {
      this.#warn("plugin failed", reason);
    }
  }

  #warn(msg: string, reason: string): void {
    limited(this.#deps.log).warn(msg, "plugin", { plugin: this.name, reason });
  }
}
