/**
 * vane's version; a unit test keeps it equal to package.json's.
 *
 * @example
 * ```ts
 * import { VERSION } from "./mod.ts";
 * console.log(`vane ${VERSION}`); // "vane 0.1.0"
 * ```
 */
export const VERSION = "0.1.0";

// Set by `bun build --define` in scripts/build and scripts/release; absent when vane
// runs from source, where `typeof` keeps reading them from throwing.
declare const VANE_BUILD_COMMIT: string | undefined;
declare const VANE_BUILD_DATE: string | undefined;

/** Where this executable came from: the commit and date it was built at, or "source" when run from the tree. */
export interface BuildInfo {
  readonly version: string;
  readonly commit: string;
  readonly date: string;
}

/** The build this process runs: set at compile time, `source` for both fields when run from the tree. */
export const BUILD: BuildInfo = {
  version: VERSION,
  commit: typeof VANE_BUILD_COMMIT === "string" ? VANE_BUILD_COMMIT : "source",
  date: typeof VANE_BUILD_DATE === "string" ? VANE_BUILD_DATE : "source",
};

/** The `--version` line: `vane 0.1.0 (commit 1a2b3c4, built 2026-12-06, bun 1.4.5)`. */
export function versionLine(build: BuildInfo, runtime: { name: string; version: string }): string {
  return `vane ${build.version} (commit ${build.commit}, built ${build.date}, ${runtime.name} ${runtime.version})`;
}
