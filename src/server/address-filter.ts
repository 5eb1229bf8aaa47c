/**
 * A listener's `allow` and `deny` ranges (`--allow`, `--deny`): who it serves, by the
 * client's address (the one a PROXY header names, where the peer is trusted). `deny`
 * wins, so a range can be cut out of an allowed one; with an `allow` list, an address
 * outside it is refused. Refused TCP connections are closed unanswered, before a byte
 * is read, as HAProxy's `tcp-request connection reject` does: under attack an answer
 * per connection would be work for nothing.
 */
import { type Cidr, cidrContains, parseCidr } from "../config/cidr.ts";
import type { ListenerConfig } from "../config/model.ts";

export class AddressFilter {
  constructor(readonly allow: readonly Cidr[], readonly deny: readonly Cidr[]) {}

  /** The filter of listener `l`, or null when it lets every client in. */
  static of(l: ListenerConfig): AddressFilter | null {
    const allow = (l.allow ?? []).map(parseCidr);
    const deny = (l.deny ?? []).map(parseCidr);
    return allow.length === 0 && deny.length === 0 ? null : new AddressFilter(allow, deny);
  }

  /** Whether a client at `ip` is served. */
  admits(ip: string): boolean {
    for (const c of this.deny) if (cidrContains(c, ip)) return false;
    if (this.allow.length === 0) return true;
    for (const c of this.allow) if (cidrContains(c, ip)) return true;
    return false;
  }
}
