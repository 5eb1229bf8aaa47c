/**
 * loadConfigText (src/config/yaml-load.ts). Inputs are vane configs: the test
 * fixtures and every YAML example in docs/config.md, and configs generated from the
 * grammar (listeners of every protocol, flows with conditions, operators, every
 * action, nested flows, terminate, plugins, pools, nodes, the top-level sections),
 * written in varied YAML styles; then line-, token- and character-level mutations,
 * and structural extremes (deep nesting, alias bombs, self-referencing anchors, very
 * many entries, long scalars), all within MAX_YAML_CHARS. Bad input must come back as
 * {ok: false, issues} with positions; a third of the configs that load are printed
 * (printConfig) and must load back equal (off the input's clock: the printer is not
 * the parser under test).
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { printConfig } from "../../../src/config/print.ts";
import type { Config } from "../../../src/config/model.ts";
import { loadConfigText, type LoadOptions } from "../../../src/config/yaml-load.ts";
import { EXAMPLES, RICH_FUNCTIONS } from "../../../test/fixtures/config/examples.ts";
import type { Rng } from "../rng.ts";
import { offClock, tally, type Target } from "../target.ts";
import { emitDocument, type Value } from "../yaml-emit.ts";
import { CONDITION_KEYS, INTERESTING_VALUES, mutateChars, mutateLines, mutateTokens } from "../yaml-mutate.ts";

/** The ```yaml blocks of docs/config.md. */
function docExamples(): string[] {
  try {
    const md = readFileSync(fileURLToPath(new URL("../../../docs/config.md", import.meta.url)), "utf8");
    return [...md.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]);
  } catch {
    return [];
  }
}

const LISTEN = [
  "tcp://0.0.0.0:8443",
  "tcp://:9000",
  "http://:8080",
  "https://[::]:443",
  "udp://:5353",
  "http://127.0.0.1:80",
];
const BAD_LISTEN = [
  "tcp://:0",
  "tcp://:65536",
  "ftp://:21",
  ":80",
  "tcp://[::1",
  "tcp://host:80",
  "",
  "http://:8080/x",
];
const TEXTS = [
  "api.example.com",
  "*.example.com",
  "/v1/",
  "GET",
  "h2",
  "tls",
  "http",
  "yes",
  "a?z",
  "5",
  "{{conn.ip}}",
];
const TARGETS = ["10.0.0.1:80", "[::1]:9000", "web.internal:443", "node:web:443", "10.0.0.2:80@3", "127.0.0.1:1"];
const CIDRS = ["10.0.0.0/8", "fd00::/8", "192.0.2.0/24", "::1/128", "0.0.0.0/0"];
const DURATIONS = ["1s", "250ms", "5m", "1h", "0s", "1500ms"];

class Gen {
  /** Pool names defined so far, for `proxy: NAME`. */
  pools = ["web", "api"];
  constructor(readonly rng: Rng) {}

  pick<T>(xs: readonly T[]): T {
    return this.rng.pick(xs);
  }

  odd(v: Value): Value {
    return this.rng.chance(0.04) ? this.pick(INTERESTING_VALUES) : v;
  }

  matcher(depth: number): Value {
    const r = this.rng.int(12);
    if (r < 4) return this.odd(this.pick(TEXTS));
    if (r < 6) return [this.pick(TEXTS), this.pick(TEXTS)];
    const op = this.pick(["equals", "glob", "prefix", "suffix", "regex", "cidr", "in", "not", "any", "all"]);
    switch (op) {
      case "regex":
        return { regex: this.pick(["^adm(in)?$", "(a+)+$", "[", "\\d{3}", ".*"]) };
      case "cidr":
        return { cidr: this.rng.chance(0.5) ? this.pick(CIDRS) : [this.pick(CIDRS), this.pick(CIDRS)] };
      case "in":
        return { in: [this.pick(TEXTS), 5] };
      case "not":
        return depth > 3 ? { not: "x" } : { not: this.matcher(depth + 1) };
      case "any":
      case "all":
        return depth > 3 ? { [op]: ["x"] } : { [op]: [this.matcher(depth + 1), this.matcher(depth + 1)] };
      default:
        return { [op]: this.odd(this.pick(TEXTS)) };
    }
  }

  condition(depth: number): Value {
    const out: { [k: string]: Value } = {};
    const n = this.rng.range(1, 3);
    for (let i = 0; i < n; i++) {
      const r = this.rng.int(10);
      if (r === 0 && depth < 4) out.not = this.condition(depth + 1);
      else if (r === 1 && depth < 4) {
        out[this.pick(["any", "all"])] = [this.condition(depth + 1), this.condition(depth + 1)];
      } else {
        const key = this.rng.chance(0.95)
          ? this.pick(CONDITION_KEYS)
          : this.pick(["req.pth", "conn.ipp", "req.header.", "x"]);
        out[key] = key === "conn.ip" && this.rng.chance(0.6) ? { cidr: this.pick(CIDRS) } : this.matcher(depth);
      }
    }
    return out;
  }

  pool(): Value {
    const p: { [k: string]: Value } = {};
    p.targets = this.rng.chance(0.2)
      ? TARGETS.slice(0, 2).join(", ")
      : [this.pick(TARGETS), this.odd(this.pick(TARGETS))];
    if (this.rng.chance(0.4)) p.strategy = this.odd(this.pick(["random", "serial", "fastest"]));
    if (this.rng.chance(0.2)) p.fallback = [this.pick(TARGETS)];
    if (this.rng.chance(0.4)) {
      p.health = this.rng.chance(0.5)
        ? { check: this.pick(["tcp", "none"]), interval: this.odd(this.pick(DURATIONS)) }
        : { check: "http", path: "/healthz", expect: this.odd(this.pick(["200", "200-299", 204])), rise: 2, fall: 3 };
    }
    if (this.rng.chance(0.2)) p.passive = this.rng.chance(0.5) ? "off" : { failures: this.odd(3) };
    if (this.rng.chance(0.2)) p["proxy-protocol"] = this.odd(this.pick(["v1", "v2", "off"]));
    return p;
  }

  action(depth: number, udp: boolean): { [k: string]: Value } {
    const kinds = udp ? ["proxy", "abort", "rate-limit", "flow"] : [
      "proxy",
      "proxy",
      "respond",
      "redirect",
      "abort",
      "set-headers",
      "remove-headers",
      "rate-limit",
      "plugin",
      "flow",
      "terminate",
    ];
    const kind = this.rng.chance(0.97) ? this.pick(kinds) : this.pick(["proxy", "respond", "terminate", "prox"]);
    switch (kind) {
      case "proxy": {
        const r = this.rng.int(4);
        return {
          proxy: r === 0
            ? this.pick(TARGETS.slice(0, 3))
            : r === 1
            ? [this.pick(TARGETS)]
            : r === 2
            ? this.pool()
            : this.pick(this.pools),
        };
      }
      case "respond":
        return {
          respond: {
            status: this.odd(this.pick([200, 403, 404])),
            headers: { "X-A": "b", "X-B": "{{conn.ip}}" },
            body: "ok\n",
          },
        };
      case "redirect":
        return {
          redirect: this.rng.chance(0.5)
            ? "https://{{req.host}}{{req.path}}"
            : { location: "/x", status: this.odd(301) },
        };
      case "abort":
        return { abort: this.pick([true, null, {}] as Value[]) };
      case "set-headers":
        return {
          "set-headers": {
            request: { "X-Forwarded-Proto": "https" },
            response: { [this.odd("X-Frame-Options") as string]: "DENY" },
          },
        };
      case "remove-headers":
        return { "remove-headers": { request: ["X-Internal"], response: this.odd("Server") } };
      case "rate-limit":
        return {
          "rate-limit": {
            rate: this.odd(this.pick(["10/s", "100/m", 5, "5000/h"])),
            burst: this.odd(20),
            key: "{{conn.ip}}",
          },
        };
      case "plugin": {
        const spec: { [k: string]: Value } = this.rng.chance(0.5)
          ? { http: this.odd("http://127.0.0.1:9100/decide") }
          : this.rng.chance(0.5)
          ? { command: ["/bin/echo", "x"] }
          : { function: this.pick(["auth", "geo", "nope"]) };
        spec.timeout = this.odd("250ms");
        if (depth < 4 && this.rng.chance(0.5)) spec.branches = { allow: [], deny: this.flow(depth + 1, udp, 2) };
        if (this.rng.chance(0.3)) spec.failure = this.rng.chance(0.5) ? null : this.flow(depth + 1, udp, 1);
        return { plugin: spec };
      }
      case "terminate":
        return depth < 4
          ? { terminate: { tls: [{ cert: "a.pem", key: "a.key" }], flow: this.flow(depth + 1, false, 3) } }
          : { abort: true };
      case "flow":
        return depth < 4 ? { flow: this.flow(depth + 1, udp, 3) } : { abort: true };
      default:
        return { [kind]: "x" };
    }
  }

  flow(depth: number, udp: boolean, max: number): Value[] {
    const n = this.rng.range(1, max);
    return Array.from({ length: n }, () => {
      const rule: { [k: string]: Value } = {};
      if (this.rng.chance(0.5)) rule.when = this.condition(0);
      Object.assign(rule, this.action(depth, udp));
      if (this.rng.chance(0.02)) Object.assign(rule, this.action(depth, udp)); // two actions: an error
      return rule;
    });
  }

  config(): Value {
    const cfg: { [k: string]: Value } = {};
    const listeners: Value[] = [];
    const n = this.rng.range(1, 3);
    for (let i = 0; i < n; i++) {
      const listen = this.rng.chance(0.93) ? this.pick(LISTEN) : this.pick(BAD_LISTEN);
      const l: { [k: string]: Value } = { listen };
      if (this.rng.chance(0.15)) l["accept-proxy"] = [this.pick(CIDRS)];
      if (listen.startsWith("https") && this.rng.chance(0.7)) l.tls = [{ cert: "s.pem", key: "s.key" }];
      l.flow = this.flow(0, listen.startsWith("udp"), 4);
      listeners.push(l);
    }
    const pools: { [k: string]: Value } = {};
    for (const name of this.pools) pools[name] = this.pool();
    // Sections in a random order, each present or not (listeners nearly always).
    const sections: Array<[string, () => Value]> = [
      ["listeners", () => listeners],
      ["pools", () => pools],
      ["nodes", () => ({ web: [this.odd("10.0.0.7"), "2001:DB8::7"], db: "10.0.0.5" })],
      ["control", () => ({ listen: this.odd("127.0.0.1:9901"), token: "s3cret" })],
      [
        "timeouts",
        () => ({ connect: this.odd(this.pick(DURATIONS)), idle: "1h", grace: "0s", "request-head": this.odd("10s") }),
      ],
      ["http", () => ({
        "max-header-line": this.odd(this.pick([8192, 1024, 65536] as Value[])),
        "max-partial-heads": this.odd(32),
        "encoded-slash": this.odd(this.pick(["reject", "decode", "pass"])),
      })],
      ["log", () => ({ format: this.odd("json"), level: this.odd("debug") })],
      ["tls", () => [{ cert: "/etc/a.pem", key: "/etc/a.key" }]],
      ["resolver", () => this.odd("127.0.0.53:53")],
      ["workers", () => this.odd(this.pick(["auto", 4, 64] as Value[]))],
    ];
    for (let i = sections.length - 1; i > 0; i--) {
      const j = this.rng.int(i + 1);
      [sections[i], sections[j]] = [sections[j], sections[i]];
    }
    for (const [k, make] of sections) {
      if (k === "listeners" ? this.rng.chance(0.97) : k === "pools" ? this.rng.chance(0.9) : this.rng.chance(0.3)) {
        cfg[k] = make();
      }
    }
    return cfg;
  }
}

/**
 * Longest YAML input. The yaml library parses at roughly 1 to 2 µs per byte on this
 * machine, so a file much past this exceeds 100 ms by its size alone; capped, the hang
 * criterion tests for superlinear work instead (real configs are a few KiB).
 */
export const MAX_YAML_CHARS = 16 * 1024;

/** Structural extremes within MAX_YAML_CHARS: deep nesting, alias bombs, self-reference, many entries, long scalars. */
function extreme(rng: Rng, corpus: readonly string[]): string {
  const depth = rng.pick([50, 200, 800, 1200, 1600, 8000]);
  switch (rng.int(9)) {
    case 0:
      return "listeners: " + "[".repeat(depth) + "]".repeat(rng.chance(0.8) ? depth : 0);
    case 1:
      return "listeners: " + "{a: ".repeat(depth) + "x" + "}".repeat(depth);
    case 2: { // nested sub-flows, each a level deeper (block style; the indent grows, so not too deep)
      let text = "listeners:\n  - listen: tcp://:1\n    flow:\n";
      const n = rng.range(1, 85);
      for (let i = 0; i < n; i++) text += " ".repeat(6 + 4 * i) + "- flow:\n";
      text += " ".repeat(6 + 4 * n) + "- abort: true\n";
      return text;
    }
    case 3: { // nested sub-flows in flow style, through the loader's own recursion
      const n = Math.min(depth, 1600);
      return `listeners: [{listen: "tcp://:1", flow: ${"[{flow: ".repeat(n)}[{abort: true}]${"}]".repeat(n)}}]\n`;
    }
    case 4: { // alias bomb inside the flow the loader walks: each level doubles
      const levels = rng.range(5, 40);
      let text = "listeners:\n  - listen: tcp://:1\n    flow:\n      - &a0 {abort: true}\n";
      for (let i = 1; i < levels; i++) text += `      - flow: &a${i} [*a${i - 1}, *a${i - 1}]\n`;
      return text;
    }
    case 5: // self-reference
      return rng.pick([
        "listeners: &l\n  - listen: tcp://:1\n    flow: *l\n",
        "listeners:\n  - &r {listen: tcp://:1, flow: [*r]}\n",
        "pools: &p {web: {targets: *p}}\nlisteners: [{listen: tcp://:1, flow: [{proxy: web}]}]\n",
        "listeners: [{listen: tcp://:1, flow: &f [{flow: *f}]}]\n",
        "listeners: [{listen: tcp://:1, flow: [&w {when: *w, abort: true}]}]\n",
        "a: &a\n  <<: *a\n",
      ]);
    case 6: { // many entries
      const n = rng.pick([100, 300, 450]);
      let text = "listeners: [{listen: tcp://:1, flow: [{proxy: p0}]}]\npools:\n";
      for (let i = 0; i < n; i++) text += `  p${i}: {targets: [10.0.${(i >> 8) & 255}.${i & 255}:80]}\n`;
      return text;
    }
    case 7: { // a long scalar, key or regex
      const long = "x".repeat(rng.pick([1000, 15000]));
      return rng.pick([
        `listeners: [{listen: tcp://:1, flow: [{respond: {body: "${long}"}}]}]\n`,
        `${long}: 1\n`,
        `listeners: [{listen: tcp://:1, flow: [{when: {req.path: {regex: "${"(a|".repeat(500)}a${
          ")".repeat(500)
        }"}}, abort: true}]}]\n`,
      ]);
    }
    default: { // one corpus document repeated, or many documents
      const doc = rng.pick(corpus);
      return rng.chance(0.5) ? doc.repeat(rng.range(2, 8)) : (doc + "\n---\n").repeat(rng.range(2, 8));
    }
  }
}

function generate(rng: Rng, corpus: readonly string[]): string {
  const text = build(rng, corpus);
  return text.length > MAX_YAML_CHARS ? text.slice(0, MAX_YAML_CHARS) : text;
}

function build(rng: Rng, corpus: readonly string[]): string {
  const r = rng.int(100);
  let text: string;
  if (r < 3) return rng.pick(corpus);
  if (r < 4) return extreme(rng, corpus);
  if (r < 50) text = emitDocument(rng, new Gen(rng).config());
  else text = rng.chance(0.7) ? rng.pick(corpus) : emitDocument(rng, new Gen(rng).config());
  if (r < 30) return text;
  const rounds = 1 + rng.small(5);
  for (let i = 0; i < rounds; i++) {
    const m = rng.int(10);
    text = m < 4 ? mutateTokens(rng, text) : m < 8 ? mutateLines(rng, text, corpus) : mutateChars(rng, text);
  }
  return text;
}

/** Share of the configs that load which are also printed and loaded again. */
const ROUND_TRIP_SHARE = 1 / 3;

/** Deepest nesting of objects and arrays in a config checked by printing it. */
const MAX_PRINT_DEPTH = 64;

function depthOf(v: unknown, d: number): number {
  if (typeof v !== "object" || v === null || d > MAX_PRINT_DEPTH) return d;
  let max = d;
  for (const x of Object.values(v)) max = Math.max(max, depthOf(x, d + 1));
  return max;
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  const ra = a as Record<string, unknown>;
  const rb = b as Record<string, unknown>;
  return ka.every((k) => Object.prototype.hasOwnProperty.call(rb, k) && deepEqual(ra[k], rb[k]));
}

/** A loaded config printed (printConfig) and loaded again must come back equal. */
function roundTrip(config: Config, opts: LoadOptions): string | null {
  const printed = printConfig(config);
  const again = loadConfigText(printed, opts);
  if (!again.ok) {
    return `printConfig's text does not load: ${JSON.stringify(again.issues.slice(0, 3))}\n  printed ${
      JSON.stringify(printed)
    }`;
  }
  if (!deepEqual(again.config, config)) {
    return `printConfig's text loads as a different config\n  printed ${JSON.stringify(printed)}`;
  }
  return null;
}

export interface YamlInput {
  text: string;
  /** Register the functions the RICH example names. */
  functions: boolean;
}

export const yamlConfig: Target<YamlInput> = {
  name: "yaml-config",
  ciCount: 2_000,
  corpus: () => [...Object.values(EXAMPLES), ...docExamples()].map((text) => ({ text, functions: true })),
  generate(rng, corpus) {
    return { text: generate(rng, corpus.map((c) => c.text)), functions: rng.chance(0.7) };
  },
  check(input, rng) {
    const opts = input.functions ? { functions: RICH_FUNCTIONS } : {};
    const r = loadConfigText(input.text, opts);
    tally(r.ok ? "ok" : r.issues.some((i) => i.message.startsWith("invalid YAML")) ? "invalid YAML" : "config issues");
    if (r.ok) {
      if (!Array.isArray(r.config.listeners) || r.config.listeners.length === 0) return "ok without listeners";
      // Block YAML indents every level, so printing a config nested N deep writes O(N²) bytes: the
      // round trip is checked for the nesting real configs have, not for the depth extremes.
      if (depthOf(r.config, 0) > MAX_PRINT_DEPTH) return null;
      // Printing costs more than loading: a third of the loaded configs are printed, enough to catch a
      // printer bug in a run without making the run about the printer.
      if (!rng.chance(ROUND_TRIP_SHARE)) return null;
      return offClock(() => roundTrip(r.config, opts));
    }
    if (r.ok !== false || !Array.isArray(r.issues) || r.issues.length === 0) {
      return `not ok without issues: ${JSON.stringify(r)}`;
    }
    for (const i of r.issues) {
      if (!Number.isInteger(i.line) || i.line < 1 || !Number.isInteger(i.col) || i.col < 1) {
        return `issue at line ${i.line} col ${i.col}: ${i.message}`;
      }
      if (typeof i.message !== "string" || i.message === "" || typeof i.path !== "string") {
        return `malformed issue ${JSON.stringify(i)}`;
      }
    }
    return null;
  },
  show: (input) => `functions ${input.functions}\n  text ${JSON.stringify(input.text)}`,
};
