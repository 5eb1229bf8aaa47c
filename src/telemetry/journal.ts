/**
 * Whether vane's output goes to the systemd journal: systemd sets JOURNAL_STREAM
 * (device:inode of the stream) for a service whose stdout or stderr is the journal.
 * The logger then writes journal lines (logger.ts, `journal`).
 */
import process from "node:process";

export function underJournal(env: Record<string, string | undefined> = process.env): boolean {
  return (env.JOURNAL_STREAM ?? "") !== "";
}
