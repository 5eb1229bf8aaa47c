/**
 * docs/config.md cannot drift from the code: every ```yaml block in it is loaded with
 * the real loader. A block is a whole config unless the line right before its fence is
 * an HTML comment that says otherwise:
 *
 * - `<!-- fragment -->`: a list of rules, checked inside a tcp:// listener's flow with
 *   the pools the doc's short examples name (web, api, static) and a top-level tls;
 * - `<!-- invalid -->`: broken on purpose, must NOT load; a `<!-- check-output -->`
 *   console block after it must show exactly what `vane check` prints for it;
 * - `<!-- print-config -->`: the output of the one-liner in the ```sh block before it,
 *   which must equal what printConfig gives for that one-liner today;
 * - `<!-- bootstrap -->`: a bootstrap file (`source: etcd`), read as one.
 *
 * Besides: ```json blocks parse, and the yaml examples use only documentation or
 * loopback IPv4 addresses (and those of the one-liner the doc quotes).
 */
import { readSourceFile } from "../../src/config/yaml-source.ts";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { parseCli } from "../../src/cli/args.ts";
import { printConfig } from "../../src/config/print.ts";
import { formatIssue, loadConfigText } from "../../src/config/yaml-load.ts";

const DOC = readFileSync(new URL("../../docs/config.md", import.meta.url), "utf8");

/** Functions the doc's `plugin: { function: NAME }` examples use (section 9). */
const FUNCTIONS: ReadonlySet<string> = new Set(["tenant"]);

const MARKERS = ["fragment", "invalid", "print-config", "check-output", "bootstrap"];

interface Block {
  lang: string;
  /** The `<!-- marker -->` on the line before the fence, or null. */
  marker: string | null;
  /** 1-based line of the opening fence, for test names. */
  line: number;
  /** The lines between the fences, each ending in "\n". */
  text: string;
}

function fencedBlocks(md: string): Block[] {
  const lines = md.split("\n");
  const out: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\S*)\s*$/.exec(lines[i]);
    if (!open) continue;
    let end = i + 1;
    while (end < lines.length && lines[end] !== "```") end++;
    if (end >= lines.length) throw new Error(`docs/config.md:${i + 1}: fence never closed`);
    const comment = /^<!--\s*(.*?)\s*-->$/.exec(lines[i - 1]?.trim() ?? "");
    const body = lines.slice(i + 1, end);
    out.push({
      lang: open[1],
      marker: comment ? comment[1] : null,
      line: i + 1,
      text: body.length === 0 ? "" : body.join("\n") + "\n",
    });
    i = end;
  }
  return out;
}

const BLOCKS = fencedBlocks(DOC);
const YAML = BLOCKS.filter((b) => b.lang === "yaml");

/** A rule list inside a minimal config: a tcp:// listener (where every action may stand). */
function wrapFragment(rules: string): string {
  const flow = rules.split("\n").map((l) => (l === "" ? "" : `      ${l}`)).join("\n");
  return `listeners:
  - listen: tcp://127.0.0.1:8000
    flow:
${flow}
pools:
  web: { targets: [127.0.0.1:8081] }
  api: { targets: [127.0.0.1:8082] }
  static: { targets: [127.0.0.1:8083] }
tls:
  - { cert: /etc/vane/example.com.pem, key: /etc/vane/example.com.key }
`;
}

function issuesOf(text: string): string[] {
  const r = loadConfigText(text, { functions: FUNCTIONS });
  return r.ok ? [] : r.issues.map((i) => formatIssue("example.yaml", i));
}

/** Splits a one-line shell command into words: plain, '...' and "..." (no escapes needed here). */
function shellWords(line: string): string[] {
  const words: string[] = [];
  const re = /'([^']*)'|"([^"]*)"|(\S+)/g;
  for (const m of line.matchAll(re)) words.push(m[1] ?? m[2] ?? m[3]);
  return words;
}

/** The block before `b` (in document order) that satisfies `pred`. */
function before(b: Block, pred: (x: Block) => boolean): Block | undefined {
  return BLOCKS.filter((x) => x.line < b.line && pred(x)).pop();
}

describe("docs/config.md: its code blocks", () => {
  it("has the blocks this test expects", () => {
    expect(YAML.length).toBeGreaterThanOrEqual(30);
    expect(YAML.filter((b) => b.marker === "fragment").length).toBeGreaterThanOrEqual(5);
    expect(YAML.filter((b) => b.marker === "invalid").length).toBeGreaterThanOrEqual(1);
    expect(YAML.filter((b) => b.marker === "print-config").length).toBe(1);
    expect(BLOCKS.filter((b) => b.marker === "check-output").length).toBeGreaterThanOrEqual(1);
  });

  it("uses only known markers, each on a block of the right kind", () => {
    for (const b of BLOCKS) {
      if (b.marker === null) continue;
      expect(MARKERS, `line ${b.line}`).toContain(b.marker);
      expect(b.lang, `line ${b.line}`).toBe(b.marker === "check-output" ? "console" : "yaml");
    }
  });
});

describe("docs/config.md: yaml examples", () => {
  for (const b of YAML) {
    if (b.marker === "invalid") {
      it(`line ${b.line}: broken on purpose, refused by the loader`, () => {
        expect(loadConfigText(b.text, { functions: FUNCTIONS }).ok).toBe(false);
      });
    } else if (b.marker === "bootstrap") {
      it(`line ${b.line}: a bootstrap file (source: etcd) that reads`, () => {
        expect(readSourceFile(b.text).kind).toBe("etcd");
      });
    } else if (b.marker === "fragment") {
      it(`line ${b.line}: a list of rules that loads inside a listener's flow`, () => {
        expect(Array.isArray(parse(b.text)), "a fragment is a YAML list of rules").toBe(true);
        expect(issuesOf(wrapFragment(b.text))).toEqual([]);
      });
    } else {
      it(`line ${b.line}: a whole config that loads`, () => {
        expect(issuesOf(b.text)).toEqual([]);
      });
    }
  }
});

describe("docs/config.md: outputs pasted in it", () => {
  it("shows exactly what --print-config prints for its one-liner, and that it loads back equal", () => {
    const printed = YAML.find((b) => b.marker === "print-config")!;
    const sh = before(printed, (x) => x.lang === "sh")!;
    const command = sh.text.split("\n").find((l) => l.includes("--print-config"))!;
    const words = shellWords(command);
    expect(words[0]).toBe("vane");
    const cli = parseCli(words.slice(1));
    if (cli.kind !== "run" || cli.config === null) throw new Error(`not a one-liner: ${command}`);
    expect(cli.printConfig).toBe(true);
    expect(printed.text).toBe(printConfig(cli.config));
    const back = loadConfigText(printed.text);
    expect(back.ok && back.config).toEqual(cli.config);
  });

  it("shows exactly what vane check prints for the broken file before it", () => {
    for (const out of BLOCKS.filter((b) => b.marker === "check-output")) {
      const broken = before(out, (x) => x.marker === "invalid")!;
      const lines = out.text.trimEnd().split("\n");
      const command = /^\$ vane check (\S+)$/.exec(lines[0]);
      expect(command, `line ${out.line} starts with $ vane check FILE`).not.toBeNull();
      const file = command![1];
      const next = lines.findIndex((l, i) => i > 0 && l.startsWith("$ "));
      const shown = lines.slice(1, next < 0 ? undefined : next);
      const r = loadConfigText(broken.text, { functions: FUNCTIONS });
      if (r.ok) throw new Error(`the block at line ${broken.line} loads`);
      const n = r.issues.length;
      // main.ts reportErrors: every issue, then the count.
      expect(shown).toEqual([
        ...r.issues.map((i) => formatIssue(file, i)),
        `${file}: ${n} error${n === 1 ? "" : "s"}; nothing was started`,
      ]);
    }
  });

  it("has json blocks that parse", () => {
    const json = BLOCKS.filter((b) => b.lang === "json");
    expect(json.length).toBeGreaterThanOrEqual(1);
    for (const b of json) expect(() => JSON.parse(b.text), `line ${b.line}`).not.toThrow();
  });
});

describe("docs/config.md: example addresses", () => {
  it("uses documentation, loopback or wildcard IPv4 addresses (and the quoted one-liner's)", () => {
    const printed = YAML.find((b) => b.marker === "print-config")!;
    const sh = before(printed, (x) => x.lang === "sh")!;
    const ipv4 = /(?<![\d.])\d{1,3}(?:\.\d{1,3}){3}(?![\d.])/g;
    const quoted = new Set(sh.text.match(ipv4) ?? []);
    const ok = (ip: string) =>
      quoted.has(ip) || ip === "0.0.0.0" || /^(192\.0\.2|198\.51\.100|203\.0\.113|127\.\d+\.\d+)\./.test(ip);
    const bad = YAML.flatMap((b) =>
      (b.text.match(ipv4) ?? []).filter((ip) => !ok(ip)).map((ip) => `line ${b.line}: ${ip}`)
    );
    expect(bad).toEqual([]);
  });
});

describe("README.md: its config example", () => {
  // README's blocks are whole configs; its first yaml block is the config-file section's example.
  const readme = fencedBlocks(readFileSync(new URL("../../README.md", import.meta.url), "utf8"))
    .filter((b) => b.lang === "yaml");

  it("has a yaml example, and every yaml block loads", () => {
    expect(readme.length).toBeGreaterThan(0);
    for (const b of readme) expect(issuesOf(b.text), `README.md:${b.line}`).toEqual([]);
  });
});
