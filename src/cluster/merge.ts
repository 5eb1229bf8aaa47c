/**
 * The status of a vane with workers: the primary's snapshot (config, listeners,
 * health verdicts, which it alone decides) with every worker's counters added in.
 */
import type { PoolStatus, QueueStatus, StatusSnapshot, TargetStatus } from "../control/snapshot.ts";

export function mergeSnapshots(primary: StatusSnapshot, workers: StatusSnapshot[]): StatusSnapshot {
  const out: StatusSnapshot = structuredClone(primary);
  const targets = new Map<string, TargetStatus>();
  for (const [name, pool] of Object.entries(out.pools)) {
    for (const [role, list] of roles(pool)) {
      for (const t of list) targets.set(targetKey(name, role, t), t);
    }
  }
  const requests = new Map(out.requests.map((r) => [`${r.route}\u0000${r.pool}\u0000${r.code}`, r]));
  for (const w of workers) {
    for (const [name, pool] of Object.entries(w.pools)) {
      for (const [role, list] of roles(pool)) {
        for (const t of list) {
          const mine = targets.get(targetKey(name, role, t));
          if (!mine) continue; // a worker between reloads may still name an old target
          mine.activeConnections += t.activeConnections;
          mine.totalConnections += t.totalConnections;
          if (t.requests !== undefined) mine.requests = (mine.requests ?? 0) + t.requests;
          if (t.errors !== undefined) mine.errors = (mine.errors ?? 0) + t.errors;
          addOutlier(mine, t);
        }
      }
      addQueue(out.pools[name]?.queue, pool.queue);
    }
    out.bytes.upstream += w.bytes.upstream;
    out.bytes.downstream += w.bytes.downstream;
    for (const r of w.retriesSkipped ?? []) {
      const list = out.retriesSkipped ??= [];
      const mine = list.find((x) => x.pool === r.pool && x.reason === r.reason);
      if (mine) mine.count += r.count;
      else list.push({ ...r });
    }
    for (const [reason, n] of Object.entries(w.refused ?? {})) {
      (out.refused ??= {})[reason] = (out.refused[reason] ?? 0) + n;
    }
    for (const [protocol, n] of Object.entries(w.detections)) {
      out.detections[protocol] = (out.detections[protocol] ?? 0) + n;
    }
    for (const r of w.requests) {
      const key = `${r.route}\u0000${r.pool}\u0000${r.code}`;
      const mine = requests.get(key);
      if (mine) mine.count += r.count;
      else {
        const copy = { ...r };
        requests.set(key, copy);
        out.requests.push(copy);
      }
    }
    out.workers.push(...w.workers);
  }
  out.workers.sort((a, b) => a.worker - b.worker);
  return out;
}

/** A worker's queue (each has its own) into the sum: waiting now and refused so far. */
function addQueue(mine: QueueStatus | undefined, theirs: QueueStatus | undefined): void {
  if (mine === undefined || theirs === undefined) return;
  mine.length += theirs.length;
  mine.rejected.full += theirs.rejected.full;
  mine.rejected.timeout += theirs.rejected.timeout;
}

/** A target's row across processes: the same HOST:PORT from an SRV name or etcd prefix is another row. */
function targetKey(pool: string, role: string, t: TargetStatus): string {
  const from = t.srv ? `srv:${t.srv.name}\u0000` : t.etcd ? `etcd:${t.etcd.prefix}\u0000` : "";
  return `${pool}\u0000${role}\u0000${from}${t.target}`;
}

function roles(pool: PoolStatus): Array<[string, TargetStatus[]]> {
  return [["primary", pool.targets], ["fallback", pool.fallback]];
}

/** Each worker judges its own traffic (outlier detection): its ejections add up, and one ejecting shows. */
function addOutlier(mine: TargetStatus, theirs: TargetStatus): void {
  if (theirs.ejected !== undefined && mine.ejected === undefined) mine.ejected = { ...theirs.ejected };
  if (theirs.ejections === undefined) return;
  const sum = mine.ejections ??= {};
  for (const [reason, n] of Object.entries(theirs.ejections)) sum[reason] = (sum[reason] ?? 0) + n;
}
