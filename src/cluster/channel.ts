/**
 * A message channel over a pair of byte streams: one JSON object per line. Used
 * between the primary and each worker over the worker's stdin and stdout.
 */

interface ReadableLike {
  on(event: "data", fn: (chunk: Uint8Array | string) => void): unknown;
  on(event: "end" | "close", fn: () => void): unknown;
  on(event: "error", fn: (err: Error) => void): unknown;
}

interface WritableLike {
  write(text: string): unknown;
  on(event: "error", fn: (err: Error) => void): unknown;
}

export interface Channel<Out> {
  send(message: Out): void;
}

/**
 * Calls `onMessage` for each line read from `input` that parses as JSON (anything
 * else is passed to `onNoise`, e.g. stray output), and `onClose` once at its end.
 */
export function openChannel<In, Out>(
  input: ReadableLike,
  output: WritableLike,
  onMessage: (message: In) => void,
  onClose: () => void,
  onNoise: (line: string) => void = () => {},
): Channel<Out> {
  const decoder = new TextDecoder();
  let pending = "";
  let closed = false;
  input.on("data", (chunk) => {
    pending += typeof chunk === "string" ? chunk : decoder.decode(chunk, { stream: true });
    let nl: number;
    while ((nl = pending.indexOf("\n")) >= 0) {
      const line = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      if (line.trim() === "") continue;
      let message: In;
      try {
        message = JSON.parse(line);
      } catch {
        onNoise(line);
        continue;
      }
      onMessage(message);
    }
  });
  const end = () => {
    if (closed) return;
    closed = true;
    onClose();
  };
  input.on("end", end);
  input.on("close", end);
  input.on("error", end);
  // A peer that went away is reported through `input`; writes to it just fail.
  output.on("error", () => {});
  return {
    send(message) {
      if (closed) return;
      output.write(JSON.stringify(message) + "\n");
    },
  };
}
