/**
 * A file vane appends lines to (the access log), or stderr: opened with O_APPEND, so
 * that several processes (`--workers`) appending to one file never overwrite each
 * other, and written with one write(2) per call, so that a line is never split by
 * another process's. node:fs, which Deno and Bun both provide, is the one place here
 * that touches descriptors; reopening after logrotate renamed the file is `reopen()`.
 */
import { closeSync, openSync, writeSync } from "node:fs";

/** Where `openAppend` writes: a path, or "-" for stderr. */
export const STDERR_PATH = "-";

/** Lines appended to one file (or stderr) with one write each. */
export interface AppendFile {
  /** Appends `text` (whole lines) in one write; throws when the write fails. */
  write(text: string): void;
  /** Opens the path again (a rename by logrotate left the old descriptor on the old file). */
  reopen(): void;
  close(): void;
}

/**
 * Opens `path` for appending (created if absent, mode 0640), or stderr for "-".
 * @throws When the file cannot be opened (the error names the path).
 */
export function openAppend(path: string): AppendFile {
  return path === STDERR_PATH ? new StderrFile() : new PathFile(path);
}

class PathFile implements AppendFile {
  #fd: number;
  constructor(readonly path: string) {
    this.#fd = openFd(path);
  }
  write(text: string): void {
    writeSync(this.#fd, text);
  }
  reopen(): void {
    const fd = openFd(this.path);
    const old = this.#fd;
    this.#fd = fd;
    closeSync(old);
  }
  close(): void {
    if (this.#fd < 0) return;
    closeSync(this.#fd);
    this.#fd = -1;
  }
}

function openFd(path: string): number {
  try {
    return openSync(path, "a", 0o640);
  } catch (err) {
    throw new Error(`cannot open ${path}: ${(err as Error).message}`, { cause: err });
  }
}

class StderrFile implements AppendFile {
  write(text: string): void {
    writeSync(2, text);
  }
  reopen(): void {}
  close(): void {}
}
