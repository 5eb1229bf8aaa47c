/**
 * `--pid-file PATH`: the primary's pid, written once it serves. After `vane upgrade`
 * the new process writes its own pid there before the old one exits, so systemd
 * (PIDFile=) and scripts follow the process that serves. A process removes the file
 * at exit only while it still names that process.
 */
import { readFileSync, renameSync, unlinkSync, writeFileSync } from "node:fs";
import { errorText } from "../errors/mod.ts";

/** Writes `pid` to `path` at once for readers (a temporary file renamed over it); returns an error text or null. */
export function writePidFile(path: string, pid: number): string | null {
  const temporary = `${path}.${pid}.tmp`;
  try {
    writeFileSync(temporary, `${pid}\n`, { mode: 0o644 });
    renameSync(temporary, path);
    return null;
  } catch (err) {
    try {
      unlinkSync(temporary);
    } catch {
      // never written
    }
    return `${path}: cannot write the pid file: ${errorText(err)}`;
  }
}

/** The pid a pid file names, or null when it is missing or holds no pid. */
export function readPidFile(path: string): number | null {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    return null;
  }
  const pid = Number(text.trim());
  return Number.isInteger(pid) && pid > 0 ? pid : null;
}

/** Removes the pid file if it still names `pid` (a process that took over keeps its own). */
export function removePidFile(path: string, pid: number): void {
  if (readPidFile(path) !== pid) return;
  try {
    unlinkSync(path);
  } catch {
    // gone already
  }
}
