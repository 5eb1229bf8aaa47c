import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { VERSION } from "../../src/version.ts";

describe("version", () => {
  it("matches package.json, so --version and /status tell the truth", () => {
    const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8"));
    expect(VERSION).toBe(pkg.version);
  });
});
