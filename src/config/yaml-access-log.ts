/**
 * The `access-log` key: `access-log: FILE` (or `-` for stderr), or a map
 * `{ path: FILE|-, format: json|combined, sample: 0.1, request-id: true, trace: false }`.
 */
import { isScalar, type Node } from "yaml";
import { ACCESS_LOG_FORMATS, ACCESS_LOG_SAMPLE_EXPECTED, type AccessLogConfig, DEFAULT_ACCESS_LOG } from "./model.ts";
import type { Entry, Reader } from "./yaml-reader.ts";

const KEYS = ["path", "format", "sample", "request-id", "trace"];
const EXPECTED = "a FILE, - (stderr), or a map {path: FILE, format: json|combined, sample: 0..1}";

/** The access log an `access-log` entry describes; undefined when absent or wrong (reported). */
export function readAccessLog(r: Reader, entry: Entry | undefined): { accessLog?: AccessLogConfig } {
  if (!entry) return {};
  const v = entry.value;
  if (isScalar(v)) {
    const path = r.nonEmpty(v, entry.path, EXPECTED);
    return path === undefined ? {} : { accessLog: { path, ...DEFAULT_ACCESS_LOG } };
  }
  const e = r.entries(v, entry.path, EXPECTED, KEYS);
  if (!e) return {};
  const p = r.required(e, "path", v, entry.path);
  const path = p ? r.nonEmpty(p.value, p.path, "a FILE, or - for stderr") : undefined;
  const log: AccessLogConfig = { path: path ?? "-", ...DEFAULT_ACCESS_LOG };
  const f = e.get("format");
  if (f) log.format = r.keyword(f.value, f.path, ACCESS_LOG_FORMATS) ?? log.format;
  const s = e.get("sample");
  if (s) log.sample = sample(r, s.value, s.path) ?? log.sample;
  const id = e.get("request-id");
  if (id) log.requestId = flag(r, id.value, id.path) ?? log.requestId;
  const t = e.get("trace");
  if (t) log.trace = flag(r, t.value, t.path) ?? log.trace;
  return path === undefined ? {} : { accessLog: log };
}

function sample(r: Reader, node: Node, path: string): number | undefined {
  if (isScalar(node) && typeof node.value === "number" && node.value >= 0 && node.value <= 1) return node.value;
  return r.fail(node, path, ACCESS_LOG_SAMPLE_EXPECTED);
}

function flag(r: Reader, node: Node, path: string): boolean | undefined {
  if (isScalar(node) && typeof node.value === "boolean") return node.value;
  return r.fail(node, path, "true or false");
}
