/**
 * Errors, the lowest layer of vane (imports nothing of it): unknown errors as text
 * (`errorText`), and the one shape of a failed result (`Failure`).
 */
export { errorText, errorTextWithCode, toError } from "./text.ts";
export { type Failure, failure, type Result } from "./result.ts";
