/**
 * The access log's lines (JSON and nginx's combined layout), its sampling, its batched
 * writes (whole lines, one write per batch), its listeners and its reopen; the request
 * ids and W3C traceparent values it comes with; and the `access-log` key and flags.
 */
import { describe, expect, it } from "vitest";
import { AccessLog } from "../../src/telemetry/access-log.ts";
import { AccessEntry } from "../../src/telemetry/access-entry.ts";
import { combinedLine, jsonLine } from "../../src/telemetry/access-format.ts";
import { parseTraceParent, RequestIds, spanId } from "../../src/telemetry/request-id.ts";
import type { AppendFile } from "../../src/runtime/append-file.ts";
import { formatIssue, loadConfigText } from "../../src/config/yaml-load.ts";
import { parseCli } from "../../src/cli/args.ts";

/** An in-memory file: each write kept as it was made. */
class MemoryFile implements AppendFile {
  writes: string[] = [];
  reopened = 0;
  write(text: string): void {
    this.writes.push(text);
  }
  reopen(): void {
    this.reopened++;
  }
  close(): void {}
}

const SITE = { listener: "http://127.0.0.1:8080", tls: null, sni: null };

function httpEntry(): AccessEntry {
  const e = new AccessEntry("http", SITE, "192.0.2.7", 51000, performance.now());
  e.method = "GET";
  e.path = "/a?b=1";
  e.protocol = "HTTP/1.1";
  e.status = 200;
  e.bytesOut = 512;
  e.userAgent = "curl/8";
  return e;
}

describe("access log lines", () => {
  it("writes JSON with every field, null where it does not apply", () => {
    const line = JSON.parse(jsonLine(httpEntry()));
    expect(line).toMatchObject({ type: "http", client: "192.0.2.7", method: "GET", status: 200, target: null });
    expect(Object.keys(line)).toContain("requestId");
  });

  it("writes nginx's combined layout, escaping quotes as nginx does", () => {
    const e = httpEntry();
    e.userAgent = 'a "b"';
    expect(combinedLine(e)).toMatch(
      /^192\.0\.2\.7 - - \[\d{2}\/\w{3}\/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4}\] "GET \/a\?b=1 HTTP\/1\.1" 200 512 "-" "a \\x22b\\x22"$/,
    );
  });

  it("writes an L4 session's request as TCP and the listener, with - as its status", () => {
    const e = new AccessEntry("tcp", SITE, "192.0.2.7", 51000, performance.now());
    expect(combinedLine(e)).toContain(`"TCP http://127.0.0.1:8080 -" - 0 "-" "-"`);
  });
});

describe("AccessLog", () => {
  it("gathers lines and writes them whole in one write at the end of the turn", async () => {
    const file = new MemoryFile();
    const log = new AccessLog(file);
    for (let i = 0; i < 3; i++) log.record(httpEntry());
    expect(file.writes).toEqual([]);
    await new Promise((r) => setTimeout(r, 5));
    expect(file.writes.length).toBe(1);
    expect(file.writes[0].split("\n")).toHaveLength(4);
    expect(file.writes[0].endsWith("\n")).toBe(true);
  });

  it("keeps a stderr batch within 4 KiB, so that a pipe never splits it", () => {
    const file = new MemoryFile();
    const log = new AccessLog(file, { format: "json" }, true);
    for (let i = 0; i < 40; i++) log.record(httpEntry());
    log.flush();
    expect(file.writes.length).toBeGreaterThan(1);
    for (const w of file.writes) expect(w.length).toBeLessThanOrEqual(4096);
    expect(file.writes.join("").split("\n").filter(Boolean)).toHaveLength(40);
  });

  it("writes the share `sample` asks for, by its random draws", () => {
    const draws = [0.05, 0.5, 0.09, 0.95];
    const file = new MemoryFile();
    const log = new AccessLog(file, { sample: 0.1, random: () => draws.shift() ?? 0.99 });
    for (let i = 0; i < 4; i++) log.record(httpEntry());
    log.flush();
    expect(file.writes.join("").split("\n").filter(Boolean)).toHaveLength(2);
  });

  it("hands each written line to its listeners until they unsubscribe", () => {
    const log = new AccessLog(new MemoryFile());
    const got: string[] = [];
    const stop = log.subscribe((line) => got.push(line));
    log.record(httpEntry());
    stop();
    log.record(httpEntry());
    expect(got.length).toBe(1);
    expect(JSON.parse(got[0]).path).toBe("/a?b=1");
  });

  it("writes what it gathered to the old file before it reopens", () => {
    const file = new MemoryFile();
    const log = new AccessLog(file);
    log.record(httpEntry());
    log.reopen();
    expect(file.writes.length).toBe(1);
    expect(file.reopened).toBe(1);
    log.close();
  });
});

describe("request ids and traceparent", () => {
  it("makes ids of a per-process prefix and a counter", () => {
    const ids = new RequestIds();
    const [a, b] = [ids.next(), ids.next()];
    expect(a.split("-")[0]).toBe(b.split("-")[0]);
    expect(a).not.toBe(b);
    expect(spanId()).toMatch(/^[0-9a-f]{16}$/);
  });

  it("reads a valid traceparent and refuses invalid ones", () => {
    const trace = "4bf92f3577b34da6a3ce929d0e0e4736";
    expect(parseTraceParent(`00-${trace}-00f067aa0ba902b7-01`)).toEqual({ traceId: trace, flags: "01" });
    expect(parseTraceParent(`01-${trace}-00f067aa0ba902b7-00-extra`)).toEqual({ traceId: trace, flags: "00" });
    expect(parseTraceParent(`00-${trace}-00f067aa0ba902b7-01-extra`)).toBeNull();
    expect(parseTraceParent(`ff-${trace}-00f067aa0ba902b7-01`)).toBeNull();
    expect(parseTraceParent(`00-${"0".repeat(32)}-00f067aa0ba902b7-01`)).toBeNull();
    expect(parseTraceParent(`00-${trace}-${"0".repeat(16)}-01`)).toBeNull();
    expect(parseTraceParent(`00-${trace.toUpperCase()}-00f067aa0ba902b7-01`)).toBeNull();
  });
});

describe("access-log in YAML and flags", () => {
  const LISTENER = "listeners: [{ listen: :8080, flow: [{ proxy: [127.0.0.1:9000] }] }]\n";

  it("reads a path alone or a map, with defaults", () => {
    const short = loadConfigText(LISTENER + "access-log: /tmp/a.log\n");
    expect(short.ok && short.config.accessLog).toEqual({
      path: "/tmp/a.log",
      format: "json",
      sample: 1,
      requestId: true,
      trace: false,
    });
    const full = loadConfigText(LISTENER + "access-log: { path: '-', format: combined, sample: 0.5, trace: true }\n");
    expect(full.ok && full.config.accessLog).toMatchObject({ path: "-", format: "combined", sample: 0.5, trace: true });
  });

  it("names the file, line and column of a bad value", () => {
    const r = loadConfigText(LISTENER + "access-log: { path: /tmp/a.log, format: xml, sample: 2 }\n");
    expect(r.ok).toBe(false);
    const text = r.ok ? [] : r.issues.map((i) => formatIssue("v.yaml", i));
    expect(text).toEqual([
      'v.yaml:2:41: access-log.format: expected json or combined; got "xml"',
      "v.yaml:2:54: access-log.sample: expected a number from 0 to 1, like 0.1; got a number (2)",
    ]);
  });

  it("takes the flags, and refuses a format or sample without --access-log", () => {
    const r = parseCli(["--route", "*=127.0.0.1:9000", "--access-log", "-", "--access-log-format", "combined"]);
    expect(r.kind === "run" && r.config?.accessLog).toMatchObject({ path: "-", format: "combined", sample: 1 });
    expect(() => parseCli(["--route", "*=127.0.0.1:9000", "--access-log-sample", "0.5"])).toThrow(
      "--access-log-sample: needs --access-log FILE (or - for stderr)",
    );
    expect(() => parseCli(["--route", "*=127.0.0.1:9000", "--access-log", "x", "--access-log-sample", "1.5"])).toThrow(
      '--access-log-sample: expected a number from 0 to 1, like 0.1; got "1.5"',
    );
  });
});
