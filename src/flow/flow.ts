/**
 * The flow engine: a listener's `Rule[]` compiled once into closures, then evaluated
 * per connection (L4) or per request (L7).
 *
 * Rules run in order; the first terminal action (proxy, terminate, respond, redirect,
 * abort, an empty rate-limit bucket) ends the evaluation. Header edits accumulate and
 * stay even when the rules that made them fall through. Sub-flows (`flow`, a plugin's
 * branches and failure rules) end the evaluation when they reach a terminal action and
 * otherwise hand back to the rule after theirs.
 *
 * Only plugins need to wait, so a list of rules without one (the common case) is
 * evaluated synchronously even by `run`, and a single Promise wraps the result. A
 * rate-limit counted across workers (flow/rate-store.ts) may wait too, but rarely (when
 * its lease of tokens is spent): its list runs synchronously until a step does wait.
 */
import {
  type Action,
  type Allowance,
  CONN_KEYS,
  PLUGIN_KEY_PREFIX,
  type Rule,
  type TlsFiles,
} from "../config/model.ts";
import type { Logger } from "../telemetry/logger.ts";
import { compileCondition, conditionKeys, type Predicate } from "./condition.ts";
import { type FlowInput, pluginKeysOf, type Scope } from "./input.ts";
import { type FlowFunction, type PluginAnswer, PluginClient } from "./plugin.ts";
import { TokenBuckets } from "./rate-limit.ts";
import type { RateLimitSpec, RateStore } from "./rate-store.ts";
import { compileTemplate, type Template } from "./template.ts";
import { decidingKeys } from "./deciding-keys.ts";
import { limited } from "../telemetry/log-limit.ts";
import { errorText } from "../errors/mod.ts";
import type { HeaderEdit } from "../http/headers.ts";

export type { FlowFunction, PluginAnswer } from "./plugin.ts";
export type { FlowInput, KeyValue } from "./input.ts";
export { inputOf } from "./input.ts";

export type Outcome =
  /** `allow`: what the rule lets through that vane refuses by default (see Allowance); absent: none. */
  | { kind: "proxy"; pool: string; allow?: readonly Allowance[] }
  | { kind: "terminate"; step: TerminateStep }
  /** A redirect comes out as respond with a Location header and an empty body. */
  | { kind: "respond"; status: number; headers: Array<[string, string]>; body: string }
  | { kind: "abort" }
  /** A rate-limit bucket was empty (the caller answers 429 at L7, closes at L4). */
  | { kind: "limited" }
  /** No terminal action matched. */
  | { kind: "none" };

export interface FlowResult {
  outcome: Outcome;
  request: HeaderEdit[];
  response: HeaderEdit[];
}

/** One `terminate` action, compiled once: the caller keeps per-step state (an internal TLS listener) keyed by this object. */
export interface TerminateStep {
  readonly tls: TlsFiles[];
  readonly flow: CompiledFlow;
}

export interface FlowDeps {
  log: Logger;
  functions?: ReadonlyMap<string, FlowFunction>;
  /** ms clock, default performance.now; injected in tests. */
  now?: () => number;
  /**
   * Where rate-limit actions count (flow/rate-store.ts `limitOpener`), called once per
   * action as the flow compiles. Absent, or null for an action: it counts alone in this process.
   */
  limits?: (limit: RateLimitSpec) => RateStore | null;
}

export interface CompiledFlow {
  /** Evaluates the rules in order; first terminal action wins. Never throws or rejects. */
  run(input: FlowInput): Promise<FlowResult>;
  /** `run`, answering at once (no promise) when no rule can wait: the per-request hot path. */
  runNow(input: FlowInput): FlowResult | Promise<FlowResult>;
  /** Same, without awaiting anything: for UDP, whose flows contain no plugins (throws if one is reached: a bug). */
  runSync(input: FlowInput): FlowResult;
  /**
   * Whether any rule (nested ones included, terminate sub-flows excluded) reads a key
   * beyond conn.ip/conn.port/listener.port, or has an HTTP-only action (respond,
   * redirect, set-headers, remove-headers). A tcp:// listener peeks at the first bytes
   * only when this is true.
   */
  readonly needsDetection: boolean;
  /**
   * The keys whose values alone decide an evaluation (deciding-keys.ts), or null when a
   * rate limit or a plugin may answer differently for the same values.
   */
  readonly decidingKeys: readonly string[] | null;
}

/** One evaluation: the keys it reads and the edits it has made so far. */
interface State extends Scope {
  /** The keys read (set anew when a spare state is reused: see `compileFlow`). */
  input: FlowInput;
  /** NO_EDITS until a rule adds one (most evaluations never do). */
  request: HeaderEdit[];
  response: HeaderEdit[];
}

/** Shared by every evaluation without edits: never modified (see addEdits). */
const NO_EDITS: HeaderEdit[] = Object.freeze([]) as unknown as HeaderEdit[];

function newState(input: FlowInput): State {
  return { input, plugin: null, request: NO_EDITS, response: NO_EDITS };
}

function addEdits(st: State, side: "request" | "response", edits: HeaderEdit[]): void {
  if (edits.length === 0) return;
  if (st[side] === NO_EDITS) st[side] = [];
  for (let i = 0; i < edits.length; i++) st[side].push(edits[i]);
}

/** null: not terminal, go on with the next rule. */
type Step = Outcome | null;

interface CompiledRule {
  readonly when: Predicate | null;
  readonly apply: (st: State) => Step;
  /** Set when the action has to wait (a plugin, or a sub-flow holding one). */
  readonly applyAsync: ((st: State) => Promise<Step>) | null;
  /** Set when the action may wait, answering at once most times (a shared rate-limit, or a sub-flow holding one). */
  readonly applyNow: ((st: State) => Step | Promise<Step>) | null;
}

interface RuleList {
  readonly rules: readonly CompiledRule[];
  readonly waits: boolean;
  /** A rule may wait (applyNow), none has to: evaluated by evalNow. */
  readonly mayWait: boolean;
}

const ABORT: Outcome = Object.freeze({ kind: "abort" });
const LIMITED: Outcome = Object.freeze({ kind: "limited" });
const NONE: Outcome = Object.freeze({ kind: "none" });

export function compileFlow(rules: Rule[], deps: FlowDeps): CompiledFlow {
  const ctx: Ctx = { deps, now: deps.now ?? (() => performance.now()) };
  const list = compileList(rules, ctx);

  // The state of an evaluation that answered at once is dead once it has (a result
  // keeps its edit arrays, not the state): the next evaluation takes it, as one per
  // request was garbage. One spare: an evaluation under way (a promise) keeps its own.
  let spare: State | null = null;
  const take = (input: FlowInput): State => {
    const st = spare;
    if (st === null) return newState(input);
    spare = null;
    st.input = input;
    st.plugin = null;
    st.request = NO_EDITS;
    st.response = NO_EDITS;
    return st;
  };

  const runSync = (input: FlowInput): FlowResult => {
    const st = take(input);
    const out = result(evalSync(list, st) ?? NONE, st);
    spare = st;
    return out;
  };

  const failed = (e: unknown): FlowResult => {
    // A bug or a throwing input, not a plugin failure (those are handled where they
    // happen): closing is safer than guessing a route.
    limited(deps.log).error("flow evaluation failed; aborting", null, {
      error: errorText(e),
    });
    return { outcome: ABORT, request: [], response: [] };
  };

  const runNow = list.waits
    ? async (input: FlowInput): Promise<FlowResult> => {
      const st = newState(input);
      try {
        return result((await evalAsync(list, st)) ?? NONE, st);
      } catch (e) {
        return failed(e);
      }
    }
    : list.mayWait
    ? (input: FlowInput): FlowResult | Promise<FlowResult> => {
      const st = take(input);
      try {
        const step = evalNow(list, st, 0);
        if (!(step instanceof Promise)) {
          const out = result(step ?? NONE, st);
          spare = st;
          return out;
        }
        return step.then((s) => result(s ?? NONE, st), failed);
      } catch (e) {
        return failed(e);
      }
    }
    : (input: FlowInput): FlowResult => {
      try {
        return runSync(input);
      } catch (e) {
        return failed(e);
      }
    };
  const run = (input: FlowInput): Promise<FlowResult> => Promise.resolve(runNow(input));

  return { run, runNow, runSync, needsDetection: needsDetection(rules), decidingKeys: decidingKeys(rules) };
}

/**
 * The result of an evaluation that made no edits, per outcome that is a rule's frozen
 * constant (proxy, terminate, abort, none, limited; not a response made per request),
 * made once: nobody modifies a result, and one per request was garbage. A WeakMap, as
 * outcomes go with their flow.
 */
const PLAIN = new WeakMap<Outcome, FlowResult>();
/**
 * The last of PLAIN's results handed out, looked at first: a listener's requests mostly
 * end in the same rule, and isFrozen and a WeakMap lookup cost JavaScriptCore more.
 * (It holds one outcome of a flow a reload replaced until the new flow's first result.)
 */
let lastPlain: FlowResult | null = null;

function result(outcome: Outcome, st: State): FlowResult {
  const edited = st.request !== NO_EDITS || st.response !== NO_EDITS;
  if (!edited && lastPlain !== null && lastPlain.outcome === outcome) return lastPlain;
  if (edited || !Object.isFrozen(outcome)) {
    return { outcome, request: st.request, response: st.response };
  }
  let r = PLAIN.get(outcome);
  if (r === undefined) PLAIN.set(outcome, r = { outcome, request: NO_EDITS, response: NO_EDITS });
  return (lastPlain = r);
}

function evalSync(list: RuleList, st: State): Step {
  const rules = list.rules;
  for (let i = 0; i < rules.length; i++) {
    const r = rules[i];
    if (r.when !== null && !r.when(st)) continue;
    const step = r.apply(st);
    if (step !== null) return step;
  }
  return null;
}

/** Synchronous until a step answers with a promise; the rules after it then wait for it. */
function evalNow(list: RuleList, st: State, from: number): Step | Promise<Step> {
  const rules = list.rules;
  for (let i = from; i < rules.length; i++) {
    const r = rules[i];
    if (r.when !== null && !r.when(st)) continue;
    const step = r.applyNow !== null ? r.applyNow(st) : r.apply(st);
    if (step instanceof Promise) return step.then((s) => (s !== null ? s : evalNow(list, st, i + 1)));
    if (step !== null) return step;
  }
  return null;
}

async function evalAsync(list: RuleList, st: State): Promise<Step> {
  if (!list.waits) return list.mayWait ? evalNow(list, st, 0) : evalSync(list, st);
  const rules = list.rules;
  for (let i = 0; i < rules.length; i++) {
    const r = rules[i];
    if (r.when !== null && !r.when(st)) continue;
    const step = r.applyAsync !== null
      ? await r.applyAsync(st)
      : r.applyNow !== null
      ? await r.applyNow(st)
      : r.apply(st);
    if (step !== null) return step;
  }
  return null;
}

// ---------------------------------------------------------------------------
// Compiling
// ---------------------------------------------------------------------------

interface Ctx {
  deps: FlowDeps;
  now: () => number;
}

function compileList(rules: Rule[], ctx: Ctx): RuleList {
  const compiled = rules.map((r) => compileRule(r, ctx));
  return {
    rules: compiled,
    waits: compiled.some((r) => r.applyAsync !== null),
    mayWait: compiled.some((r) => r.applyNow !== null),
  };
}

function compileRule(rule: Rule, ctx: Ctx): CompiledRule {
  const when = rule.when === null ? null : compileCondition(rule.when);
  const action = rule.action;
  if (action.kind === "plugin") return { when, ...compilePlugin(action, ctx), applyNow: null };
  if (action.kind === "flow") {
    const sub = compileList(action.rules, ctx);
    return {
      when,
      apply: (st) => evalSync(sub, st),
      applyAsync: sub.waits ? (st) => evalAsync(sub, st) : null,
      applyNow: !sub.waits && sub.mayWait ? (st) => evalNow(sub, st, 0) : null,
    };
  }
  if (action.kind === "rate-limit" && ctx.deps.limits) {
    const shared = compileSharedLimit(action, ctx.deps.limits);
    if (shared !== null) return { when, ...shared };
  }
  return { when, apply: compileStep(action, ctx), applyAsync: null, applyNow: null };
}

function compileStep(action: Exclude<Action, { kind: "plugin" | "flow" }>, ctx: Ctx): (st: State) => Step {
  switch (action.kind) {
    case "proxy": {
      const allow = action.allow?.length ? { allow: Object.freeze([...action.allow]) } : {};
      const outcome: Outcome = Object.freeze({ kind: "proxy", pool: action.pool, ...allow });
      return () => outcome;
    }
    case "terminate": {
      const step: TerminateStep = Object.freeze({ tls: action.tls, flow: compileFlow(action.flow, ctx.deps) });
      const outcome: Outcome = Object.freeze({ kind: "terminate", step });
      return () => outcome;
    }
    case "abort":
      return () => ABORT;
    case "respond": {
      const status = action.status;
      const headers = action.headers.map(([name, value]) => ({
        name: name.toLowerCase(),
        value: compileTemplate(value, { header: true }),
      }));
      const body = compileTemplate(action.body, { header: false });
      return (st) => ({
        kind: "respond",
        status,
        headers: headers.map((h): [string, string] => [h.name, h.value.expand(st)]),
        body: body.expand(st),
      });
    }
    case "redirect": {
      const { status } = action;
      const location = compileTemplate(action.location, { header: true });
      return (st) => ({ kind: "respond", status, headers: [["location", location.expand(st)]], body: "" });
    }
    case "set-headers": {
      const request = setEdits(action.request);
      const response = setEdits(action.response);
      return (st) => {
        addEdits(st, "request", request.map((e) => e(st)));
        addEdits(st, "response", response.map((e) => e(st)));
        return null;
      };
    }
    case "remove-headers": {
      const request = action.request.map(removeEdit);
      const response = action.response.map(removeEdit);
      return (st) => {
        addEdits(st, "request", request);
        addEdits(st, "response", response);
        return null;
      };
    }
    case "rate-limit": {
      const buckets = new TokenBuckets(action.rate, action.burst, ctx.now);
      const key = compileTemplate(action.key, { header: false });
      return (st) => (buckets.take(key.expand(st)) ? null : LIMITED);
    }
  }
}

/** A rate-limit whose counts a RateStore keeps (shared with other processes): it may wait for them. */
function compileSharedLimit(
  action: Extract<Action, { kind: "rate-limit" }>,
  open: (limit: RateLimitSpec) => RateStore | null,
): Pick<CompiledRule, "apply" | "applyAsync" | "applyNow"> | null {
  const { rate, burst, store: where } = action;
  const store = open(where === undefined ? { rate, burst } : { rate, burst, store: where });
  if (store === null) return null;
  const key = compileTemplate(action.key, { header: false });
  const judged = (ok: boolean): Step => (ok ? null : LIMITED);
  return {
    apply: (st) => judged(store.takeNow(key.expand(st))),
    applyAsync: null,
    applyNow: (st) => {
      const ok = store.take(key.expand(st));
      return typeof ok === "boolean" ? judged(ok) : ok.then(judged);
    },
  };
}

/** One set-headers side: the first value of a name replaces that field, later ones add to it. */
function setEdits(pairs: ReadonlyArray<[string, string]>): Array<(st: State) => HeaderEdit> {
  const seen = new Set<string>();
  return pairs.map(([name, value]) => {
    const lower = name.toLowerCase();
    const op = seen.has(lower) ? "add" : "set";
    seen.add(lower);
    return setEdit(op, lower, value);
  });
}

function setEdit(op: "set" | "add", lower: string, value: string): (st: State) => HeaderEdit {
  const tpl: Template = compileTemplate(value, { header: true });
  if (tpl.constant !== null) {
    // Edits without a template are the same every time: made once, frozen, shared.
    const edit: HeaderEdit = Object.freeze({ op, name: lower, value: tpl.constant });
    return () => edit;
  }
  return (st) => ({ op, name: lower, value: tpl.expand(st) });
}

function removeEdit(name: string): HeaderEdit {
  return Object.freeze({ op: "remove", name: name.toLowerCase() });
}

function compilePlugin(
  action: Extract<Action, { kind: "plugin" }>,
  ctx: Ctx,
): Pick<CompiledRule, "apply" | "applyAsync"> {
  const client = new PluginClient(
    { spec: action.plugin, timeoutMs: action.timeoutMs, failures: action.failures, quietMs: action.quietMs },
    { log: ctx.deps.log, functions: ctx.deps.functions, now: ctx.now },
  );
  // A Map: branch names come from the plugin, and "constructor" must not find Object's.
  const branches = new Map(Object.entries(action.branches).map(([name, rules]) => [name, compileList(rules, ctx)]));
  const failure = action.failure === null ? null : compileList(action.failure, ctx);

  const applyAsync = async (st: State): Promise<Step> => {
    const answer: PluginAnswer | null = await client.ask(pluginKeysOf(st));
    if (answer === null) return failure === null ? null : evalAsync(failure, st);
    if (answer.keys) {
      const keys = st.plugin ?? (st.plugin = new Map());
      for (const [k, v] of Object.entries(answer.keys)) keys.set(PLUGIN_KEY_PREFIX + k, v);
    }
    const branch = answer.branch === undefined ? undefined : branches.get(answer.branch);
    return branch === undefined ? null : evalAsync(branch, st);
  };
  return {
    apply: () => {
      throw new Error(`flow: plugin ${client.name} reached in a synchronous evaluation (runSync); plugins need run()`);
    },
    applyAsync,
  };
}

// ---------------------------------------------------------------------------
// needsDetection
// ---------------------------------------------------------------------------

const CONN: ReadonlySet<string> = new Set(CONN_KEYS);
const HTTP_ONLY: ReadonlySet<Action["kind"]> = new Set(["respond", "redirect", "set-headers", "remove-headers"]);

/** A key that a tcp:// listener only has after peeking. Plugin keys come from plugins, not bytes. */
const needsPeek = (key: string) => !CONN.has(key) && !key.startsWith(PLUGIN_KEY_PREFIX);

/**
 * A plugin rule by itself does not ask for detection: it is sent whatever keys are
 * known, and peeking would stall server-first protocols (SMTP, MySQL) on that listener.
 */
function needsDetection(rules: readonly Rule[]): boolean {
  return rules.some((rule) => {
    if (rule.when && [...conditionKeys(rule.when)].some(needsPeek)) return true;
    const a = rule.action;
    // A terminate step needs the ClientHello read (and its SNI) before it can hand over.
    if (HTTP_ONLY.has(a.kind) || a.kind === "terminate") return true;
    switch (a.kind) {
      case "rate-limit":
        return compileTemplate(a.key, { header: false }).keys.some(needsPeek);
      case "flow":
        return needsDetection(a.rules);
      case "plugin":
        return Object.values(a.branches).some(needsDetection) || (a.failure !== null && needsDetection(a.failure));
      default:
        return false;
    }
  });
}
