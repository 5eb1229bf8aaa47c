/** `IP:PORT`, with IPv6 in brackets, the way logs, status and URLs show addresses. */
export function formatAddress(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}
