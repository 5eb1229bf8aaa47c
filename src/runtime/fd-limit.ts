/**
 * The open-file limit (RLIMIT_NOFILE), shared by both adapters. Neither runtime has
 * getrlimit/setrlimit, so the adapters hand in libc's through FFI (bun:ffi, Deno.dlopen);
 * where FFI is not to be had (no permission, no glibc), /proc/self/limits still tells
 * the limit on Linux. Both runtimes raise the soft limit to the hard one as they start
 * (Bun 1.4, Deno 2.9), so the raise here is for whatever starts vane without that.
 *
 * Also the probe that tells a local failure from a remote one: Bun reports a connect
 * that failed for want of a descriptor (EMFILE at socket()) as ECONNREFUSED, which
 * would blame the target; opening /dev/null fails the same way when the process is out.
 */
import { closeSync, openSync, readFileSync } from "node:fs";
import type { FileLimit } from "./types.ts";

/** getrlimit/setrlimit(RLIMIT_NOFILE) as an adapter reaches them. */
export interface RlimitCalls {
  /** [soft, hard], or null when the call failed. */
  get(): [number, number] | null;
  /** Sets the soft limit, keeping the hard one as the last get() read it; true when that worked. */
  set(soft: number): boolean;
}

/** RLIM_INFINITY is 2^64-1: anything past 2^53 reads as no limit. */
const INFINITE = 2 ** 53;
/** Linux's default fs.nr_open: the most a soft limit may be raised to when the hard one is unlimited. */
const UNLIMITED_TARGET = 1 << 20;
/** macOS refuses a soft limit above OPEN_MAX (10240) when the hard one is unlimited. */
const OPEN_MAX = 10240;

const finite = (n: number) => (n >= INFINITE ? Infinity : n);

/**
 * Raises the soft limit to the hard one (`calls`, or nothing when null) and reads the
 * limit back (from `calls`, else /proc/self/limits). Never throws.
 */
export function raiseFileLimit(calls: RlimitCalls | null): FileLimit | null {
  const before = calls?.get() ?? null;
  if (before && calls) {
    const [soft, hard] = before.map(finite);
    if (soft < hard) {
      const target = hard === Infinity ? UNLIMITED_TARGET : hard;
      const raised = calls.set(target) || (target > OPEN_MAX && OPEN_MAX > soft && calls.set(OPEN_MAX));
      const after = raised ? calls.get() : null;
      if (after) return { soft: finite(after[0]), hard: finite(after[1]), raisedFrom: soft };
    }
    return { soft, hard, raisedFrom: null };
  }
  return procLimit();
}

/** The limit as /proc/self/limits shows it (Linux), or null. */
function procLimit(): FileLimit | null {
  try {
    return parseProcLimits(readFileSync("/proc/self/limits", "utf8"));
  } catch {
    return null;
  }
}

/** The "Max open files" line of a /proc/PID/limits text. */
export function parseProcLimits(text: string): FileLimit | null {
  const m = /^Max open files\s+(\d+|unlimited)\s+(\d+|unlimited)/m.exec(text);
  if (!m) return null;
  const num = (s: string) => (s === "unlimited" ? Infinity : Number(s));
  return { soft: num(m[1]), hard: num(m[2]), raisedFrom: null };
}

/** The error code of opening /dev/null when the process (or system) is out of descriptors, else null. */
export function outOfFiles(): string | null {
  let fd: number;
  try {
    fd = openSync("/dev/null", "r");
  } catch (err) {
    const code = (err as { code?: string }).code;
    return code === "EMFILE" || code === "ENFILE" ? code : null;
  }
  closeSync(fd);
  return null;
}

/**
 * `err` as the local failure it was, when it reads as ECONNREFUSED but the process is
 * out of descriptors (Bun); otherwise `err` itself.
 */
export function localCause(err: unknown, probe: () => string | null = outOfFiles): unknown {
  if ((err as { code?: string } | null)?.code !== "ECONNREFUSED") return err;
  const code = probe();
  if (code === null) return err;
  const what = code === "EMFILE" ? "this process" : "the system";
  const local = new Error(`${code}: too many open files in ${what} (the connect failed here, not at the target)`, {
    cause: err,
  });
  (local as Error & { code: string }).code = code;
  return local;
}
