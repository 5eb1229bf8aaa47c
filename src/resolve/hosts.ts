/**
 * /etc/hosts, read by vane itself: Bun's node:dns `resolve4` sends a real query even
 * for hosts-file names, and looking them up locally first keeps `localhost` and
 * friends working without a DNS server.
 */

export type HostsTable = Map<string, string[]>;

export function parseHosts(text: string): HostsTable {
  const table: HostsTable = new Map();
  for (const rawLine of text.split("\n")) {
    const line = rawLine.replace(/#.*/, "").trim();
    if (!line) continue;
    const [address, ...names] = line.split(/\s+/);
    for (const name of names) {
      const key = name.toLowerCase().replace(/\.$/, "");
      const list = table.get(key) ?? [];
      if (!list.includes(address)) list.push(address);
      table.set(key, list);
    }
  }
  return table;
}

export async function loadHosts(
  readTextFile: (path: string) => Promise<string>,
  path = "/etc/hosts",
): Promise<HostsTable> {
  try {
    return parseHosts(await readTextFile(path));
  } catch {
    // No hosts file (containers, Windows paths): DNS alone answers.
    return new Map();
  }
}
