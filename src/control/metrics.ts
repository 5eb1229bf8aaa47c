/**
 * Renders a status snapshot in the Prometheus text exposition format (0.0.4).
 * https://prometheus.io/docs/instrumenting/exposition_formats/
 */

import type { StatusSnapshot, TargetStatus } from "./snapshot.ts";

type Labels = Record<string, string>;

interface Sample {
  labels: Labels;
  value: number;
}

interface Family {
  name: string;
  help: string;
  type: "gauge" | "counter";
  samples: Sample[];
}

/** Label values may hold anything an operator typed; these three would break the line. */
function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

/**
 * Prometheus parses Go floats: `NaN`, `+Inf`, `-Inf`, not JS's `Infinity`. Integers
 * are printed in full, because `String(1e21)` would switch to exponent notation.
 */
function formatValue(n: number): string {
  if (Number.isNaN(n)) return "NaN";
  if (n === Infinity) return "+Inf";
  if (n === -Infinity) return "-Inf";
  if (Number.isInteger(n)) return BigInt(n).toString();
  return String(n);
}

function formatSample(name: string, { labels, value }: Sample): string {
  const pairs = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabelValue(v)}"`);
  const labelText = pairs.length > 0 ? `{${pairs.join(",")}}` : "";
  return `${name}${labelText} ${formatValue(value)}`;
}

function formatFamily(f: Family): string {
  const lines = [`# HELP ${f.name} ${f.help}`, `# TYPE ${f.name} ${f.type}`];
  for (const sample of f.samples) lines.push(formatSample(f.name, sample));
  return lines.join("\n");
}

interface TargetRow {
  labels: Labels;
  target: TargetStatus;
}

/** Every target of every pool, primaries before fallbacks, in snapshot order. */
function targetRows(s: StatusSnapshot): TargetRow[] {
  const rows: TargetRow[] = [];
  for (const [pool, status] of Object.entries(s.pools)) {
    for (const target of status.targets) {
      rows.push({ labels: { pool, target: target.target, role: "primary" }, target });
    }
    for (const target of status.fallback) {
      rows.push({ labels: { pool, target: target.target, role: "fallback" }, target });
    }
  }
  return rows;
}

export function formatMetrics(s: StatusSnapshot): string {
  const families = [
    ...targetFamilies(targetRows(s)),
    ...queueFamilies(s),
    ...trafficFamilies(s),
    ...workerFamilies(s),
    ...processFamilies(s),
    ...certificateFamilies(s),
  ];
  // The format requires the last line to end with a newline.
  return families.map(formatFamily).join("\n") + "\n";
}

/** Per target: health, latency, connections. */
function targetFamilies(rows: TargetRow[]): Family[] {
  const perTarget = (pick: (t: TargetStatus) => number | null): Sample[] =>
    rows.flatMap(({ labels, target }) => {
      const value = pick(target);
      // An unmeasured latency is absent, not zero: a 0 would read as "very fast".
      return value === null ? [] : [{ labels, value }];
    });
  return [
    {
      name: "vane_target_up",
      help: "Whether the target is considered healthy (1) or not (0).",
      type: "gauge",
      samples: perTarget((t) => (t.healthy ? 1 : 0)),
    },
    {
      name: "vane_target_latency_seconds",
      help: "Moving average of the connect latency to the target.",
      type: "gauge",
      samples: perTarget((t) => (t.latencyMs === null ? null : t.latencyMs / 1000)),
    },
    {
      name: "vane_connections_total",
      help: "Connections proxied to the target since start.",
      type: "counter",
      samples: perTarget((t) => t.totalConnections),
    },
    {
      name: "vane_target_requests_total",
      help: "HTTP responses to requests proxied to the target (HTTP/1.1 pools).",
      type: "counter",
      samples: perTarget((t) => t.requests ?? null),
    },
    {
      name: "vane_target_errors_total",
      help: "Of those, the 5xx responses (the target's, or vane's 502/504 for it).",
      type: "counter",
      samples: perTarget((t) => (t.requests === undefined ? null : t.errors ?? 0)),
    },
    {
      name: "vane_active_connections",
      help: "Connections to the target currently open.",
      type: "gauge",
      samples: perTarget((t) => t.activeConnections),
    },
    {
      name: "vane_outlier_ejected",
      help: "Whether outlier detection has the target out of service now (1) or not (0); pools with outlier only.",
      type: "gauge",
      samples: perTarget((t) => (t.ejections === undefined ? null : t.ejected === undefined ? 0 : 1)),
    },
    {
      name: "vane_outlier_ejections_total",
      help: "Targets ejected by outlier detection, by reason (5xx or resets).",
      type: "counter",
      samples: rows.flatMap(({ labels, target }) =>
        Object.entries(target.ejections ?? {}).map(([reason, value]) => ({ labels: { ...labels, reason }, value }))
      ),
    },
  ];
}

/** Per pool with `maxconn`: its queue now, and what it refused. */
function queueFamilies(s: StatusSnapshot): Family[] {
  const queued = Object.entries(s.pools).flatMap(([pool, p]) => (p.queue ? [{ pool, queue: p.queue }] : []));
  return [
    {
      name: "vane_queue_length",
      help: "Requests or connections waiting in the pool's maxconn queue now.",
      type: "gauge",
      samples: queued.map(({ pool, queue }) => ({ labels: { pool }, value: queue.length })),
    },
    {
      name: "vane_queue_rejected_total",
      help: "Requests or connections the pool's maxconn queue refused: it was full, or the wait timed out.",
      type: "counter",
      samples: queued.flatMap(({ pool, queue }) => [
        { labels: { pool, reason: "full" }, value: queue.rejected.full },
        { labels: { pool, reason: "timeout" }, value: queue.rejected.timeout },
      ]),
    },
  ];
}

/** What went through: bytes, detected protocols, HTTP responses. */
function trafficFamilies(s: StatusSnapshot): Family[] {
  return [
    {
      name: "vane_bytes_total",
      help: "Bytes copied, client to target (upstream) and target to client (downstream).",
      type: "counter",
      samples: [
        { labels: { direction: "upstream" }, value: s.bytes.upstream },
        { labels: { direction: "downstream" }, value: s.bytes.downstream },
      ],
    },
    {
      name: "vane_detect_total",
      help: "Connections inspected for their protocol, by what their first bytes were.",
      type: "counter",
      samples: Object.entries(s.detections).map(([protocol, value]) => ({ labels: { protocol }, value })),
    },
    {
      name: "vane_refused_total",
      help: "Clients refused before they were served, by why (deny: a listener's allow/deny ranges).",
      type: "counter",
      samples: Object.entries(s.refused ?? {}).map(([reason, value]) => ({ labels: { reason }, value })),
    },
    {
      name: "vane_retries_skipped_total",
      help: "Retries retry-on allowed and vane did not make, by pool and why (budget: the retry budget was spent).",
      type: "counter",
      samples: (s.retriesSkipped ?? []).map(({ pool, reason, count }) => ({ labels: { pool, reason }, value: count })),
    },
    {
      name: "vane_requests_total",
      help: "HTTP responses sent, by route, pool and status code.",
      type: "counter",
      samples: s.requests.map(({ route, pool, code, count }) => ({
        labels: { route, pool, code: String(code) },
        value: count,
      })),
    },
  ];
}

/** Per worker process of `--workers N` (the primary alone without). */
function workerFamilies(s: StatusSnapshot): Family[] {
  return [
    {
      name: "vane_worker_connections_total",
      help: "TCP connections accepted, by worker process (0 is the primary).",
      type: "counter",
      samples: (s.workers ?? []).map((w) => ({ labels: { worker: String(w.worker) }, value: w.connections })),
    },
    {
      name: "vane_worker_datagrams_total",
      help: "UDP datagrams received from clients, by worker process.",
      type: "counter",
      samples: (s.workers ?? []).flatMap((w) =>
        w.datagrams === undefined ? [] : [{ labels: { worker: String(w.worker) }, value: w.datagrams }]
      ),
    },
    {
      name: "vane_worker_open_connections",
      help: "TCP connections open now, by worker process.",
      type: "gauge",
      samples: (s.workers ?? []).map((w) => ({ labels: { worker: String(w.worker) }, value: w.open })),
    },
  ];
}

/** The process itself: uptime and build. */
function processFamilies(s: StatusSnapshot): Family[] {
  return [
    {
      name: "vane_uptime_seconds",
      help: "Seconds since the proxy started.",
      type: "gauge",
      samples: [{ labels: {}, value: s.uptimeSeconds }],
    },
    {
      name: "vane_build_info",
      help: "Build information; the value is always 1.",
      type: "gauge",
      samples: [{ labels: { version: s.version, runtime: s.runtime }, value: 1 }],
    },
  ];
}

/** ACME certificates: seconds to expiry per name (names without one yet are left out), and their state. */
function certificateFamilies(s: StatusSnapshot): Family[] {
  const certs = s.certificates;
  if (!certs) return [];
  return [
    {
      name: "vane_tls_certificate_expiry_seconds",
      help: "Seconds until the certificate vane obtained by ACME for this name expires.",
      type: "gauge",
      samples: certs.filter((c) => c.expiresInSeconds !== null).map((c) => ({
        labels: { name: c.name },
        value: c.expiresInSeconds!,
      })),
    },
    {
      name: "vane_tls_certificate_failed",
      help: "1 when the last ACME attempt for this name failed, else 0.",
      type: "gauge",
      samples: certs.map((c) => ({ labels: { name: c.name }, value: c.lastError === null ? 0 : 1 })),
    },
  ];
}
