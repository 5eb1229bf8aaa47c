/**
 * Deno 2.9.2 and later start the V8 inspector on 127.0.0.1:9229 when the process gets
 * SIGUSR1 (Node's convention), and cannot be told not to. vane's SIGUSR1 is nginx's,
 * "reopen the access log", sent by logrotate every night: an inspector left open would
 * let any local user run code as vane. So after each SIGUSR1 the inspector that the
 * signal opened is closed again (node:inspector's close() stops it), within
 * milliseconds; one the operator opened on purpose (--inspect) is left alone.
 */
import inspector from "node:inspector";

/** When to look for the signal's inspector after SIGUSR1 (it comes up asynchronously). */
const CLOSE_AFTER_MS = [0, 5, 20, 100, 500, 2000];

/** Whether an inspector was open before any signal (the operator's own). */
const openedByOperator = inspector.url() !== undefined;

/** Closes the inspector SIGUSR1 opened, as soon as it is up. */
export function closeSignalInspector(): void {
  if (openedByOperator) return;
  for (const ms of CLOSE_AFTER_MS) {
    setTimeout(() => {
      if (inspector.url() !== undefined) inspector.close();
    }, ms);
  }
}
