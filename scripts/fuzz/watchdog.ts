/**
 * A worker that catches a parser stuck in a loop, which no timing around a synchronous
 * call can: the runner stores (target, index) in shared memory before each input, and
 * if that does not change for the stall time, this prints how to replay the input and
 * kills the process (the only way to stop a busy main thread).
 */
import process from "node:process";

interface Setup {
  shared: SharedArrayBuffer;
  names: string[];
  seed: number;
  stallMs: number;
}

globalThis.addEventListener("message", (event) => {
  const { shared, names, seed, stallMs } = (event as MessageEvent<Setup>).data;
  const slots = new Int32Array(shared); // [target, index, generation]
  let last = -1;
  let since = Date.now();
  setInterval(() => {
    const gen = Atomics.load(slots, 2);
    if (gen !== last) {
      last = gen;
      since = Date.now();
      return;
    }
    if (Date.now() - since < stallMs) return;
    const name = names[Atomics.load(slots, 0)] ?? "?";
    const index = Atomics.load(slots, 1);
    console.error(
      `\nHANG: ${name} input ${index} (seed ${seed}) has run for over ${stallMs} ms; replay with\n` +
        `  --parser ${name} --seed ${seed} --replay ${index}`,
    );
    process.kill(process.pid, "SIGKILL");
  }, 250);
});
