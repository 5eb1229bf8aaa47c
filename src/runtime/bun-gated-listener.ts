/**
 * Pausing a Bun listener (max-conns, descriptor exhaustion) through libc over bun:ffi:
 * Bun.listen has no pause, so the listening socket is kept open through a dup while
 * the Bun listener is stopped. Bun only (see bun.ts).
 */
import type { AcceptGate } from "./types.ts";
import { outOfFiles, type RlimitCalls } from "./fd-limit.ts";
import type { BunFfi, BunListener } from "./bun.d.ts";

// require, not import: bun:ffi exists only on Bun, and this module loads on Deno too.
declare const require: (id: "bun:ffi") => BunFfi;

/**
 * A Bun listener that can stop accepting without closing its socket, so connections
 * wait in the kernel's listen backlog as they do at HAProxy's maxconn: Bun.listen has
 * no pause, but a stopped listener whose socket has another descriptor (a dup kept
 * here) leaves the socket listening, and Bun.listen({ fd }) takes it up again. It
 * pauses while the gate is shut (max-conns) and while the process is out of
 * descriptors: Bun's own accept loop tries again at once when accept fails with
 * EMFILE, for as long as a connection waits (100% CPU, thousands of failing accept4
 * calls a second, nothing said to JavaScript), so it is probed (outOfFiles) every
 * PROBE_MS. Without FFI (no dup) it cannot pause: connections over max-conns are
 * closed unread, and out of descriptors the socket is closed and bound again later.
 */
export class GatedListener {
  static readonly PROBE_MS = 250;
  #listener: BunListener;
  /** Our own descriptor of the listening socket, or null without FFI. */
  #spare: number | null;
  #paused = false;
  /** Paused because out of descriptors (not only because of the gate). */
  #starved = false;
  #closed = false;
  #timer: ReturnType<typeof setInterval>;

  /** Listens again, on the given descriptor of the same socket (none: binds anew). */
  readonly #listen: (fd?: number) => BunListener;
  readonly #gate: AcceptGate;

  constructor(listener: BunListener, listen: (fd?: number) => BunListener, gate: AcceptGate) {
    this.#listener = listener;
    this.#listen = listen;
    this.#gate = gate;
    const libc = bunLibc();
    const fd = libc && typeof listener.fd === "number" ? libc.dup(listener.fd) : -1;
    this.#spare = fd >= 0 ? fd : null;
    this.#timer = setInterval(() => this.#probe(), GatedListener.PROBE_MS);
    this.#timer.unref?.();
  }

  /** Stops accepting until the gate opens (and descriptors are free). */
  pause(): void {
    if (this.#paused || this.#closed || this.#spare === null) return;
    this.#stop();
    void this.#gate.opened().then(() => this.#resume());
  }

  #stop(): void {
    this.#paused = true;
    this.#listener.stop(false);
  }

  #resume(): void {
    if (!this.#paused || this.#closed || this.#starved) return;
    if (!this.#gate.open()) return void this.#gate.opened().then(() => this.#resume());
    try {
      const fd = this.#spare === null ? undefined : bunLibc()!.dup(this.#spare);
      this.#listener = this.#listen(fd !== undefined && fd >= 0 ? fd : undefined);
      this.#paused = false;
    } catch {
      // Still short of descriptors, or (no spare) the port was taken: the next probe tries again.
      this.#starved = true;
    }
  }

  #probe(): void {
    const out = outOfFiles();
    if (out !== null && !this.#starved) {
      this.#starved = true;
      if (!this.#paused) this.#stop();
      const err = new Error(`${out}: too many open files; not accepting until descriptors are free`);
      (err as Error & { code: string }).code = out;
      this.#gate.failed(err);
    } else if (out === null && this.#starved) {
      this.#starved = false;
      this.#resume();
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    if (!this.#paused) this.#listener.stop(false);
    if (this.#spare !== null) bunLibc()!.close(this.#spare);
  }
}

export interface BunLibc extends RlimitCalls {
  dup(fd: number): number;
  close(fd: number): number;
}

let libcCalls: BunLibc | null | undefined;

/** libc through bun:ffi (once), or null where that cannot be had. */
export function bunLibc(): BunLibc | null {
  if (libcCalls !== undefined) return libcCalls;
  try {
    const { dlopen, FFIType, ptr, suffix } = require("bun:ffi");
    const darwin = process.platform === "darwin";
    const lib = dlopen(darwin ? `libc.${suffix}` : "libc.so.6", {
      getrlimit: { args: [FFIType.i32, FFIType.ptr], returns: FFIType.i32 },
      setrlimit: { args: [FFIType.i32, FFIType.ptr], returns: FFIType.i32 },
      dup: { args: [FFIType.i32], returns: FFIType.i32 },
      close: { args: [FFIType.i32], returns: FFIType.i32 },
    });
    const RLIMIT_NOFILE = darwin ? 8 : 7;
    const buf = new BigUint64Array(2);
    libcCalls = {
      get: () => (lib.symbols.getrlimit(RLIMIT_NOFILE, ptr(buf)) === 0 ? [Number(buf[0]), Number(buf[1])] : null),
      set(soft) {
        buf[0] = BigInt(soft);
        return lib.symbols.setrlimit(RLIMIT_NOFILE, ptr(buf)) === 0;
      },
      dup: (fd) => lib.symbols.dup(fd),
      close: (fd) => lib.symbols.close(fd),
    };
  } catch {
    libcCalls = null;
  }
  return libcCalls;
}
