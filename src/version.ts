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
