/**
 * The one shape of "it failed" in a result: `{ ok: false, reason }`, the reason one
 * line an operator can read. Success is `{ ok: true, ...value }`, so a caller tests
 * `ok` and TypeScript narrows to one side or the other (as `ConnectOutcome` in
 * `forward/connect.ts` does). Results that carry a list (config issues, reload errors
 * answered as JSON) keep their list: they report many things, not one failure.
 */

/** A failed result: why, in one line. */
export interface Failure {
  readonly ok: false;
  readonly reason: string;
}

/** Either `{ ok: true, ...T }` or a Failure. */
export type Result<T extends object> = ({ readonly ok: true } & T) | Failure;

/**
 * A Failure with this reason.
 *
 * @example return failure(`cannot read ${path}: ${errorText(err)}`);
 */
export function failure(reason: string): Failure {
  return { ok: false, reason };
}
