#!/usr/bin/env node
// Runs the whole suite on both runtimes, `bun test` and vitest on Deno, and ends with
// one line totalling both: `N passed, N failed`. A runner that crashes or runs no test
// counts as a failure, so a run that tested nothing cannot look green.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const extra = process.argv.slice(2); // e.g. a file filter, passed to both runners
const tmp = mkdtempSync(join(tmpdir(), "vane-test-"));

function run(label, cmd, args) {
  console.log(`\n=== ${label}: ${cmd} ${args.join(" ")}`);
  const r = spawnSync(cmd, args, { stdio: ["ignore", "pipe", "pipe"], encoding: "utf8", maxBuffer: 64 << 20 });
  process.stdout.write(r.stdout ?? "");
  process.stderr.write(r.stderr ?? "");
  return r;
}

const results = [];

// Bun prints its summary (" N pass", " N fail", " N skip") on stderr.
{
  const r = run("bun", "node_modules/.bin/bun", ["test", ...(extra.length ? extra : ["test/"])]);
  const text = `${r.stdout}\n${r.stderr}`;
  const num = (word) => Number(text.match(new RegExp(`^\\s*(\\d+) ${word}$`, "m"))?.[1] ?? 0);
  results.push({ label: "bun", passed: num("pass"), failed: num("fail"), skipped: num("skip"), code: r.status });
}

// Vitest on Deno writes a JSON report we can read exactly.
{
  const report = join(tmp, "vitest.json");
  const r = run("deno+vitest", "node_modules/.bin/deno", [
    "run",
    "--allow-all",
    "--unstable-net",
    "node_modules/vitest/vitest.mjs",
    "run",
    "--reporter=default",
    "--reporter=json",
    `--outputFile.json=${report}`,
    ...extra,
  ]);
  let passed = 0, failed = 0, skipped = 0;
  try {
    const j = JSON.parse(readFileSync(report, "utf8"));
    passed = j.numPassedTests;
    // A file that failed with no failing test in it (it did not load) counts once; a
    // failing test counts once, not again for its file and its describe blocks.
    const broken = (j.testResults ?? []).filter((f) =>
      f.status === "failed" && !(f.assertionResults ?? []).some((a) => a.status === "failed")
    );
    failed = j.numFailedTests + broken.length;
    skipped = j.numPendingTests + (j.numTodoTests ?? 0);
  } catch {
    failed = 1; // no report: the runner itself failed
  }
  results.push({ label: "deno", passed, failed, skipped, code: r.status });
}
rmSync(tmp, { recursive: true, force: true });

let passed = 0, failed = 0, skipped = 0, ok = true;
console.log("");
for (const r of results) {
  console.log(`${r.label}: ${r.passed} passed, ${r.failed} failed, ${r.skipped} skipped (exit ${r.code})`);
  passed += r.passed;
  failed += r.failed;
  skipped += r.skipped;
  if (r.code !== 0 || r.passed === 0) ok = false;
}
if (failed > 0) ok = false;
// A runner that exited non-zero without counting a failure still fails the run.
if (!ok && failed === 0) failed = 1;
console.log(skipped ? `${passed} passed, ${failed} failed, ${skipped} skipped` : `${passed} passed, ${failed} failed`);
process.exit(ok ? 0 : 1);
