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

    const out: Uint8Array[] = [];
    let outSize = 0;
    let errTail = "";
    let exited = false;
    let settled = false;
    /** Set when the call has failed before the exit (timeout, oversized answer): settle on exit. */
    let failure: Error | null = null;

    const settle = (err: Error | null, value?: unknown) => {
      if (settled) return;
      settled = true;
      signal.removeEventListener("abort", onAbort);
      if (err) reject(err);
      else resolve(value);
    };
    const killGroup = () => {
      const pid = child.pid;
      if (pid === undefined) return;
      try {
        process.kill(-pid, "SIGKILL");
      } catch {
        // The group is gone already (ESRCH), or had no member left but the child.
        if (!exited) child.kill("SIGKILL");
      }
    };
    const fail = (err: Error) => {
      if (failure || settled) return;
      failure = err;
      killGroup();
      if (exited) finishFailed();
    };
    /** After the exit: the pipes may be held by nobody or by a stray grandchild; stop reading them. */
    const finishFailed = () => {
      child.stdout?.destroy();
      child.stderr?.destroy();
      settle(failure);
    };
    const onAbort = () => fail(toError(signal.reason));
    signal.addEventListener("abort", onAbort, { once: true });

    child.on("error", (e) => {
      const err = new Error(`could not run ${argv[0]}: ${e.message}`, { cause: e });
      if (child.pid === undefined) {
        // ENOENT, EACCES: nothing started, so there is no exit to wait for.
        exited = true;
        settle(err);
      } else fail(err);
    });
    child.stdout!.on("data", (chunk: Uint8Array) => {
      outSize += chunk.byteLength;
      if (outSize > MAX_ANSWER_BYTES) fail(new Error(`answer larger than ${MAX_ANSWER_BYTES} bytes`));
      else out.push(chunk);
    });
    const errText = new TextDecoder();
    child.stderr!.on("data", (chunk: Uint8Array) => {
      errTail = (errTail + errText.decode(chunk, { stream: true })).slice(-STDERR_TAIL);
    });
    child.on("exit", () => {
      exited = true;
      killGroup();
      if (failure) finishFailed();
    });
    child.on("close", (code: number | null, sig: string | null) => {
      exited = true;
      if (failure) return finishFailed();
      if (code !== 0) {
        const how = sig ? `was killed by ${sig}` : `exited with code ${code}`;
        const why = errTail.trim().split("\n").pop();
        return settle(new Error(why ? `${how}: ${why}` : how));
      }
      try {
        settle(null, parseJson(new TextDecoder().decode(concatBytes(...out))));
      } catch (e) {
        settle(e as Error);
      }
    });

    // A child that exits without reading stdin makes the write fail with EPIPE: not our failure.
    child.stdin!.on("error", () => {});
    child.stdin!.end(body);
  });
}
