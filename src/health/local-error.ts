/**
 * Failures of this host, not of the target it tried to reach: out of file descriptors
 * (EMFILE in this process, ENFILE in the system), out of local ports or addresses
 * (EADDRNOTAVAIL), out of socket buffers (ENOBUFS). Such a failure says nothing about
 * the target, so it never counts against it (no passive failure, no failed check, no
 * lastError): marking a healthy target down for it turns a moment of pressure into
 * seconds of 502s after the pressure is gone. HAProxy likewise reports these as
 * resource errors of its own (`SC--` / "Resource error") rather than server errors.
 */

export const LOCAL_ERROR_CODES: readonly string[] = ["EMFILE", "ENFILE", "EADDRNOTAVAIL", "ENOBUFS"];

const LOCAL_IN_TEXT = new RegExp(`\\b(${LOCAL_ERROR_CODES.join("|")})\\b`);

/** The local error code of `err` (its `code`, or one named in its message), or null. */
export function localErrorCode(err: unknown): string | null {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === "string" && LOCAL_ERROR_CODES.includes(code)) return code;
  const text = err instanceof Error ? err.message : typeof err === "string" ? err : "";
  return LOCAL_IN_TEXT.exec(text)?.[1] ?? null;
}
