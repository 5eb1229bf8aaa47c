import { afterEach, describe, expect, it } from "vitest";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readPidFile, removePidFile, writePidFile } from "../../src/cluster/pid-file.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "vane-pid-"));
  dirs.push(d);
  return d;
}

describe("the pid file", () => {
  it("holds the pid and a newline, replaced whole (no temporary file left)", () => {
    const d = tempDir();
    const file = join(d, "vane.pid");
    expect(writePidFile(file, 1234)).toBe(null);
    expect(readFileSync(file, "utf8")).toBe("1234\n");
    expect(writePidFile(file, 5678)).toBe(null);
    expect(readPidFile(file)).toBe(5678);
    expect(readdirSync(d)).toEqual(["vane.pid"]);
  });

  it("says where and why it cannot be written", () => {
    const file = join(tempDir(), "missing-dir", "vane.pid");
    expect(writePidFile(file, 1)).toMatch(
      new RegExp(`^${file.replace(/[.]/g, "\\.")}: cannot write the pid file: .*ENOENT`),
    );
  });

  it("is removed only by the process it names (a successor's stays)", () => {
    const file = join(tempDir(), "vane.pid");
    writePidFile(file, 200);
    removePidFile(file, 100);
    expect(readPidFile(file)).toBe(200);
    removePidFile(file, 200);
    expect(existsSync(file)).toBe(false);
    removePidFile(file, 200);
  });

  it("reads nothing from a missing file or one without a pid", () => {
    const d = tempDir();
    expect(readPidFile(join(d, "none"))).toBe(null);
    writeFileSync(join(d, "junk"), "vane\n");
    expect(readPidFile(join(d, "junk"))).toBe(null);
  });
});
