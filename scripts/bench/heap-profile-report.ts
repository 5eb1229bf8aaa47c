/**
 * Prints a V8 sampling heap profile (HeapProfiler.stopSampling's `head`) as bytes per
 * request, by allocating function and by that function with its caller. Shared by
 * alloc-profile.ts (the engine harness) and old-space-wrk.ts (real sockets).
 */

export interface HeapProfileNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: HeapProfileNode[];
}

/** `top` rows of each table, bytes divided by `requests` (shown with `decimals`). */
export function printHeapProfile(head: HeapProfileNode, requests: number, top: number, decimals = 0): void {
  const self = new Map<string, number>();
  const withCaller = new Map<string, number>();
  const name = (n: HeapProfileNode) =>
    `${n.callFrame.functionName || "(anon)"} ${n.callFrame.url.replace(/^.*\/(src|scripts)\//, "$1/")}:${
      n.callFrame.lineNumber + 1
    }`;
  const walk = (node: HeapProfileNode, parent: HeapProfileNode | null) => {
    if (node.selfSize > 0) {
      const k = name(node);
      self.set(k, (self.get(k) ?? 0) + node.selfSize);
      const kc = `${k}  <-  ${parent ? name(parent) : "-"}`;
      withCaller.set(kc, (withCaller.get(kc) ?? 0) + node.selfSize);
    }
    for (const c of node.children) walk(c, node);
  };
  walk(head, null);
  const print = (title: string, m: Map<string, number>) => {
    const rows = [...m].sort((a, b) => b[1] - a[1]);
    const total = rows.reduce((s, [, v]) => s + v, 0);
    console.log(`${title}: ${(total / requests).toFixed(decimals)} B per request`);
    for (const [k, v] of rows.slice(0, top)) console.log(`${(v / requests).toFixed(decimals).padStart(8)}  ${k}`);
  };
  print("by function", self);
  print("by function and caller", withCaller);
}
