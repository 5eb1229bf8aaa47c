/**
 * Following the config file (src/cli/file-config.ts) on a real file with the runtime's
 * watcher: an edit reloads once its writes settle, a write of the same text does not,
 * and an edit made before the watch began (after the file was read) is not lost.
 */
import { afterEach, describe, expect, it } from "vitest";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { watchConfig } from "../../src/cli/file-config.ts";
import { runtime } from "../../src/runtime/mod.ts";
import { silentLogger } from "../../src/telemetry/logger.ts";

const dirs: string[] = [];
const stops: Array<() => void> = [];
afterEach(() => {
  for (const stop of stops.splice(0)) stop();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A config file holding `text`, watched as main.ts does; `loaded` is the text vane serves. */
function watched(text: string, loaded: string) {
  const dir = mkdtempSync(join(tmpdir(), "vane-watch-"));
  dirs.push(dir);
  const file = join(dir, "vane.yaml");
  writeFileSync(file, text);
  const state = { loaded, reloads: 0 };
  const unwatch = watchConfig(runtime(), file, () => state.loaded, () => state.reloads++, silentLogger);
  stops.push(unwatch);
  return { file, state, unwatch };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits (bounded) for `n` reloads, then a while longer to see no more come. */
async function reloadsAfter(state: { reloads: number }, n: number): Promise<number> {
  for (let i = 0; i < 60 && state.reloads < n; i++) await sleep(50);
  await sleep(500);
  return state.reloads;
}

describe("watchConfig", () => {
  it("reloads once after an edit, and not for a write of the same text", async () => {
    const { file, state } = watched("a: 1\n", "a: 1\n");
    await sleep(100);
    writeFileSync(file, "a: 1\n");
    expect(await reloadsAfter(state, 1)).toBe(0);
    writeFileSync(file, "a: 2\n");
    writeFileSync(file, "a: 3\n");
    expect(await reloadsAfter(state, 1)).toBe(1);
  });

  it("reloads for an edit made after the file was read and before the watch began", async () => {
    // What vane loaded is not what the file holds by the time the watch starts.
    const { state } = watched("a: 2\n", "a: 1\n");
    expect(await reloadsAfter(state, 1)).toBe(1);
  });

  it("reloads for nothing once unwatched", async () => {
    const { file, state, unwatch } = watched("a: 1\n", "a: 1\n");
    unwatch();
    writeFileSync(file, "a: 2\n");
    expect(await reloadsAfter(state, 1)).toBe(0);
  });
});
