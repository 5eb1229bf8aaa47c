/**
 * An HTTP plugin: `POST url` with the keys as a JSON object; a 2xx answer's body is
 * the plugin's answer as JSON. The body is read up to MAX_ANSWER_BYTES, so a plugin
 * cannot make vane buffer without bound. The signal carries the timeout.
 */
import { MAX_ANSWER_BYTES, parseJson } from "./plugin-answer.ts";

export async function askHttp(url: string, body: string, signal: AbortSignal): Promise<unknown> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body,
    signal,
  });
  if (res.status < 200 || res.status > 299) {
    // Cancelled rather than left unread, so the connection is not held for it.
    await res.body?.cancel().catch(() => {});
    throw new Error(`answered HTTP ${res.status}`);
  }
  return parseJson(await readLimited(res, MAX_ANSWER_BYTES));
}

async function readLimited(res: Response, limit: number): Promise<string> {
  if (!res.body) return "";
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => {});
      throw new Error(`answer larger than ${limit} bytes`);
    }
    chunks.push(value);
  }
  const all = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    all.set(c, at);
    at += c.byteLength;
  }
  return new TextDecoder().decode(all);
}
