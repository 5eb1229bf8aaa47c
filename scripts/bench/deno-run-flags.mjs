/**
 * vane's flags on Deno as `npm run vane` gives them (package.json's vane script, which
 * src/runtime/deno-flags.ts and test/unit/deno-flags.test.ts hold to the same): what
 * the node-run bench scripts start vane on Deno with, and its floors too.
 */
import fs from "node:fs";
import path from "node:path";

/** The words between `deno run` and `src/main.ts` in ROOT's package.json; throws if the script has another shape. */
export function denoRunFlags(root) {
  const script = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")).scripts.vane;
  const flags = /^exec deno run (.*) src\/main\.ts$/.exec(script)?.[1];
  if (!flags) throw new Error(`package.json: the vane script "${script}" is not "exec deno run FLAGS src/main.ts"`);
  return flags.split(" ");
}
