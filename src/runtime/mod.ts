/** Picks the adapter for the runtime we are on, once. */
import type { Runtime } from "./types.ts";
import { createBunRuntime } from "./bun.ts";
import { createDenoRuntime } from "./deno.ts";

export type * from "./types.ts";

let current: Runtime | null = null;

export function runtime(): Runtime {
  if (current) return current;
  const g = globalThis as Record<string, unknown>;
  if (g.Bun) current = createBunRuntime();
  else if (g.Deno) current = createDenoRuntime();
  else throw new Error("vane runs on Deno or Bun; this runtime is neither");
  return current;
}
