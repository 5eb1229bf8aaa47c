/**
 * A command plugin: argv run without a shell, the keys as JSON on stdin, the answer
 * as JSON on stdout when it exits 0.
 *
 * No process may outlive its call. The child gets a process group of its own
 * (`detached`), and the whole group is killed (SIGKILL) at the timeout, when the
 * answer grows past the limit, and when the child exits: a shell script's background
 * job would otherwise be left behind, holding the stdout pipe open. The call settles
 * only once the child has exited.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { MAX_ANSWER_BYTES, parseJson } from "./plugin-answer.ts";
import { concatBytes } from "../runtime/byte-arrays.ts";
import { toError } from "../errors/mod.ts";

/** The last bytes of stderr kept for the failure message. */
const STDERR_TAIL = 400;

export function askCommand(argv: readonly string[], body: string, signal: AbortSignal): Promise<unknown> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    let child: ChildProcess;
    try {
      child = spawn(argv[0], argv.slice(1), { stdio: ["pipe", "pipe", "pipe"], detached: true });
    } catch (e) {
      return reject(new Error(`could not run ${argv[0]}: ${(e as Error).message}`, { cause: e }));
    }
    new CommandCall(argv[0], child, signal, { resolve, reject }).start(body);
  });
}

/** How a call ends: the promise `askCommand` returned. */
interface Settle {
  resolve(value: unknown): void;
  reject(err: Error): void;
}

/** One run of a command plugin, from its spawn to its settling: the answer read so far and how it ends. */
class CommandCall {
  readonly #command: string;
  readonly #child: ChildProcess;
  readonly #signal: AbortSignal;
  readonly #settle: Settle;
  readonly #out: Uint8Array[] = [];
  #outSize = 0;
  #errTail = "";
  readonly #errText = new TextDecoder();
  #exited = false;
  #settled = false;
  /** Set when the call has failed before the exit (timeout, oversized answer): settle on exit. */
  #failure: Error | null = null;
  readonly #onAbort = () => {
    const reason = this.#signal.reason;
    this.#fail(toError(reason));
  };

  constructor(command: string, child: ChildProcess, signal: AbortSignal, settle: Settle) {
    this.#command = command;
    this.#child = child;
    this.#signal = signal;
    this.#settle = settle;
  }

  /** Listens to the child and the signal, then writes the keys to its stdin. */
  start(body: string): void {
    const child = this.#child;
    this.#signal.addEventListener("abort", this.#onAbort, { once: true });
    child.on("error", (e) => this.#onError(e));
    child.stdout!.on("data", (chunk: Uint8Array) => this.#onAnswer(chunk));
    child.stderr!.on("data", (chunk: Uint8Array) => {
      this.#errTail = (this.#errTail + this.#errText.decode(chunk, { stream: true })).slice(-STDERR_TAIL);
    });
    child.on("exit", () => {
      this.#exited = true;
      this.#killGroup();
      if (this.#failure) this.#finishFailed();
    });
    child.on("close", (code: number | null, sig: string | null) => this.#onClose(code, sig));
    // A child that exits without reading stdin makes the write fail with EPIPE: not our failure.
    child.stdin!.on("error", () => {});
    child.stdin!.end(body);
  }

  #onError(e: Error): void {
    const err = new Error(`could not run ${this.#command}: ${e.message}`, { cause: e });
    if (this.#child.pid === undefined) {
      // ENOENT, EACCES: nothing started, so there is no exit to wait for.
      this.#exited = true;
      this.#end(err);
    } else this.#fail(err);
  }

  #onAnswer(chunk: Uint8Array): void {
    this.#outSize += chunk.byteLength;
    if (this.#outSize > MAX_ANSWER_BYTES) this.#fail(new Error(`answer larger than ${MAX_ANSWER_BYTES} bytes`));
    else this.#out.push(chunk);
  }

  #onClose(code: number | null, sig: string | null): void {
    this.#exited = true;
    if (this.#failure) return this.#finishFailed();
    if (code !== 0) {
      const how = sig ? `was killed by ${sig}` : `exited with code ${code}`;
      const why = this.#errTail.trim().split("\n").pop();
      return this.#end(new Error(why ? `${how}: ${why}` : how));
    }
    try {
      this.#end(null, parseJson(new TextDecoder().decode(concatBytes(...this.#out))));
    } catch (e) {
      this.#end(e as Error);
    }
  }

  #end(err: Error | null, value?: unknown): void {
    if (this.#settled) return;
    this.#settled = true;
    this.#signal.removeEventListener("abort", this.#onAbort);
    if (err) this.#settle.reject(err);
    else this.#settle.resolve(value);
  }

  #killGroup(): void {
    const pid = this.#child.pid;
    if (pid === undefined) return;
    try {
      process.kill(-pid, "SIGKILL");
    } catch {
      // The group is gone already (ESRCH), or had no member left but the child.
      if (!this.#exited) this.#child.kill("SIGKILL");
    }
  }

  #fail(err: Error): void {
    if (this.#failure || this.#settled) return;
    this.#failure = err;
    this.#killGroup();
    if (this.#exited) this.#finishFailed();
  }

  /** After the exit: the pipes may be held by nobody or by a stray grandchild; stop reading them. */
  #finishFailed(): void {
    this.#child.stdout?.destroy();
    this.#child.stderr?.destroy();
    this.#end(this.#failure);
  }
}
