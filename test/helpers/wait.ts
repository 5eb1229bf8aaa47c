/**
 * Waits for a condition the system reaches by itself (a health check turning a
 * target down, say). Polls, and fails with `what` after `timeoutMs`: tests assert
 * that it happens, not how fast.
 */
export async function waitFor(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 8000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for: ${what}`);
}
