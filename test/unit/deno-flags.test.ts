/**
 * vane runs on Deno with the same flags however it is started: `npm run vane`
 * (package.json), `deno task vane` (deno.json), and the processes vane starts itself
 * (its workers, `vane upgrade`), whose command denoRunCommand makes.
 */
import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { DENO_RUN_FLAGS, DENO_V8_FLAGS, denoRunCommand, denoRunFlagsWith } from "../../src/runtime/deno-flags.ts";

const root = (file: string) => fileURLToPath(new URL(`../../${file}`, import.meta.url));
const json = (file: string) => JSON.parse(readFileSync(root(file), "utf8"));

describe("vane's flags on Deno", () => {
  it("are the same in npm run vane, deno task vane and the command vane starts itself with", () => {
    const flags = DENO_RUN_FLAGS.join(" ");
    expect(json("package.json").scripts.vane).toBe(`exec deno run ${flags} src/main.ts`);
    expect(json("deno.json").tasks.vane).toBe(`deno run ${flags} src/main.ts`);
    expect(denoRunCommand("/usr/bin/deno", "/opt/vane/src/main.ts", false)).toEqual([
      "/usr/bin/deno",
      "run",
      ...DENO_RUN_FLAGS,
      "/opt/vane/src/main.ts",
    ]);
  });

  it("keep V8's young generation from shrinking after an idle spell, in one --v8-flags", () => {
    expect(DENO_V8_FLAGS).toContain("--min-semi-space-size=16");
    expect(DENO_RUN_FLAGS.filter((f) => f.startsWith("--v8-flags="))).toEqual([
      `--v8-flags=${DENO_V8_FLAGS.join(",")}`,
    ]);
  });

  it("take more V8 flags into the same --v8-flags (deno refuses a second one)", () => {
    const flags = denoRunFlagsWith(["--trace-gc", "--expose-gc"]);
    expect(flags.filter((f) => f.startsWith("--v8-flags="))).toEqual([
      `--v8-flags=${[...DENO_V8_FLAGS, "--trace-gc", "--expose-gc"].join(",")}`,
    ]);
    expect(flags.filter((f) => !f.startsWith("--v8-flags="))).toEqual(["--allow-all", "--unstable-net"]);
  });

  it("are baked into a deno-compiled executable, which then starts itself alone", () => {
    expect(denoRunCommand("/usr/local/bin/vane", "/ignored/main.ts", true)).toEqual(["/usr/local/bin/vane"]);
    const compile = readFileSync(root("scripts/compile-lib.sh"), "utf8");
    expect(compile).toContain(`compile --allow-all --unstable-net --v8-flags=${DENO_V8_FLAGS.join(",")} `);
  });
});
