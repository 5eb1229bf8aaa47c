/**
 * An unknown thrown value as one line of text, for logs, answers and `lastError`.
 * A `catch` gets `unknown`: an Error most of the time, but a plugin, a runtime or a
 * rejected promise can throw a string or anything else, and the text must not be lost.
 * One helper, so every message says the same thing for the same failure.
 */

/**
 * The message of an Error, or the value as a string.
 *
 * @example errorText(new Error("refused")) === "refused"; errorText("gone") === "gone"
 */
export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * As errorText, with the system error code in front when the message does not name it
 * (Deno says "Connection refused (os error 111)" and keeps `ECONNREFUSED` in `code`).
 * For network failures, where the code is what an operator searches for: health
 * checks and connects to targets (a target's `lastError`).
 *
 * @example errorTextWithCode(Object.assign(new Error("refused"), { code: "ECONNREFUSED" })) === "ECONNREFUSED: refused"
 */
export function errorTextWithCode(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const code = (err as { code?: string }).code;
  return code && !err.message.includes(code) ? `${code}: ${err.message}` : err.message;
}

/**
 * The value as an Error: itself if it is one, else an Error with its text. For
 * interfaces that promise an Error (a connection's end, an abort's reason).
 */
export function toError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}
