/**
 * Buffers for request heads on their way upstream, handed out and taken back so the
 * usual request makes no array for its head. A head stays in its buffer from the
 * request's parse until its final answer's head arrives: retries send it again until
 * then (engine.ts), never after. A buffer not given back (the exchange failed) is left
 * to the garbage collector; one given back too early would send another request's bytes,
 * so only the engine's final-answer step gives them back.
 */

/** What one buffer holds: far above the usual head (a request line, Host, a few fields and X-Forwarded-*). */
export const HEAD_BUFFER_BYTES = 512;
/** Spare buffers kept (128 KiB); beyond that, given-back ones go to the garbage collector. */
const SPARE = 256;
const spare: Uint8Array[] = [];

/** A buffer of HEAD_BUFFER_BYTES, its bytes what the last user left. */
export function takeHeadBuffer(): Uint8Array {
  return spare.pop() ?? new Uint8Array(HEAD_BUFFER_BYTES);
}

/** `buf` (from takeHeadBuffer) is free: no write holds it and nothing will send it again. */
export function giveHeadBuffer(buf: Uint8Array): void {
  if (spare.length < SPARE) spare.push(buf);
}
