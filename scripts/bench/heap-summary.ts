/**
 * What a V8 heap snapshot holds, counted by node type and name (the constructor for
 * objects, the function for closures), and what grew between two: where idle
 * connections' heap goes (idle-memory.ts --snapshot).
 *
 *   deno run --allow-read scripts/bench/heap-summary.ts BEFORE.heapsnapshot AFTER.heapsnapshot [N]
 */

/** Count and self size (bytes) per "type name". */
export type HeapSummary = Map<string, { count: number; bytes: number }>;

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}

export function summarize(json: string): HeapSummary {
  const snap = JSON.parse(json) as Snapshot;
  const fields = snap.snapshot.meta.node_fields;
  const types = snap.snapshot.meta.node_types[0];
  const [typeAt, nameAt, sizeAt] = ["type", "name", "self_size"].map((f) => fields.indexOf(f));
  const out: HeapSummary = new Map();
  for (let i = 0; i < snap.nodes.length; i += fields.length) {
    const type = types[snap.nodes[i + typeAt]];
    // Strings and code are named by their contents: one bucket each.
    const name = type === "string" || type === "code" || type === "concatenated string" || type === "sliced string"
      ? ""
      : snap.strings[snap.nodes[i + nameAt]].slice(0, 60);
    const key = `${type} ${name}`;
    const e = out.get(key) ?? { count: 0, bytes: 0 };
    e.count++;
    e.bytes += snap.nodes[i + sizeAt];
    out.set(key, e);
  }
  return out;
}

/** The `top` buckets that grew most in bytes from `before` to `after`, per `per` (connections). */
export function topGrowth(before: HeapSummary, after: HeapSummary, per: number, top = 30): string {
  const rows = [...after].map(([key, a]) => {
    const b = before.get(key) ?? { count: 0, bytes: 0 };
    return { key, count: a.count - b.count, bytes: a.bytes - b.bytes };
  }).sort((x, y) => y.bytes - x.bytes);
  const total = rows.reduce((s, r) => s + r.bytes, 0);
  const lines = [`total: ${(total / per).toFixed(0)} B per connection`, "| B/conn | objects/conn | type name |"];
  lines.push("| --- | --- | --- |");
  for (const r of rows.slice(0, top)) {
    lines.push(`| ${(r.bytes / per).toFixed(0)} | ${(r.count / per).toFixed(2)} | ${r.key} |`);
  }
  return lines.join("\n");
}

if (import.meta.main) {
  const [a, b, n = "1"] = Deno.args;
  if (!a || !b) {
    console.error("usage: heap-summary.ts BEFORE.heapsnapshot AFTER.heapsnapshot [N]");
    Deno.exit(2);
  }
  console.log(topGrowth(summarize(Deno.readTextFileSync(a)), summarize(Deno.readTextFileSync(b)), Number(n)));
}
