/**
 * SRV priorities (RFC 2782): of the targets an SRV name gave, only those of the lowest
 * priority that has a live one serve; a higher priority serves once every target of the
 * lower ones is down, unresolved or already tried for this request. The pool applies
 * it to its live candidates, so it is the health registry that decides. Targets written
 * as such, and each SRV name, are judged on their own.
 */
import type { SrvOrigin } from "../config/model.ts";

/** `live` without the targets whose SRV name has a live target of a lower priority. */
export function servingPriority<T extends { srv: SrvOrigin | null }>(live: T[]): T[] {
  let lowest: Map<string, number> | null = null;
  let mixed = false;
  for (const e of live) {
    if (e.srv === null) continue;
    lowest ??= new Map();
    const p = lowest.get(e.srv.name);
    if (p === undefined) lowest.set(e.srv.name, e.srv.priority);
    else if (p !== e.srv.priority) {
      mixed = true;
      if (e.srv.priority < p) lowest.set(e.srv.name, e.srv.priority);
    }
  }
  // The usual case, one priority per name, keeps the list as it is.
  if (!mixed || lowest === null) return live;
  return live.filter((e) => e.srv === null || e.srv.priority === lowest.get(e.srv.name));
}
