/**
 * dist/vane, the compiled binary operators run, for tests that show a feature through
 * it. CI builds it before the tests (.ci/run); it is built here when absent, so such a
 * test also runs on a checkout that never built it.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { expect } from "vitest";
import { runCommand } from "./command.ts";

const REPO = fileURLToPath(new URL("../..", import.meta.url));

export async function compiledVane(): Promise<string> {
  const bin = join(REPO, "dist/vane");
  if (!existsSync(bin)) {
    const built = await runCommand("bash", ["scripts/build"], { cwd: REPO, timeoutMs: 200_000 });
    expect(built.code, built.stdout + built.stderr).toBe(0);
  }
  return bin;
}
