/**
 * The address a request comes from, for limits kept per client address.
 * It is the socket's peer, unless that peer is a configured trusted proxy:
 * then `X-Forwarded-For` is read from the right, skipping trusted proxies,
 * and the first address that is not one is the client. Anything to the left
 * of it was written by the client itself and is never believed, so a client
 * cannot pick its own address by sending the header.
 */
import { BlockList, isIP } from "node:net";

/** Decides which peers' `X-Forwarded-For` to believe. */
export class TrustedProxies {
  private readonly list = new BlockList();
  private readonly empty: boolean;

  /** `entries`: addresses or CIDR ranges (checked by config-settings.ts). */
  constructor(entries: readonly string[]) {
    this.empty = entries.length === 0;
    for (const e of entries) {
      const [addr = "", bits] = e.split("/");
      const type = isIP(addr) === 6 ? "ipv6" : "ipv4";
      if (bits === undefined) this.list.addAddress(addr, type);
      else this.list.addSubnet(addr, Number(bits), type);
    }
  }

  /** Whether `address` is one of the trusted proxies. */
  trusts(address: string): boolean {
    if (this.empty) return false;
    const a = normalize(address);
    const type = isIP(a) === 6 ? "ipv6" : isIP(a) === 4 ? "ipv4" : undefined;
    return type !== undefined && this.list.check(a, type);
  }

  /**
   * The client's address for a request whose socket peer is `peer` and
   * whose `X-Forwarded-For` header (all of its values, in order) is `forwarded`.
   */
  clientAddress(peer: string | undefined, forwarded: string | string[] | undefined): string {
    const socket = normalize(peer ?? "");
    if (socket === "" || !this.trusts(socket) || forwarded === undefined)
      return socket || "unknown";
    const hops = (Array.isArray(forwarded) ? forwarded.join(",") : forwarded)
      .split(",")
      .map((h) => normalize(h.trim()))
      .filter((h) => h !== "");
    let client = socket;
    for (let i = hops.length - 1; i >= 0; i--) {
      const hop = hops[i] as string;
      if (isIP(hop) === 0) break; // garbage from the client: stop at the last proxy's word
      client = hop;
      if (!this.trusts(hop)) break;
    }
    return client;
  }
}

/** `::ffff:1.2.3.4` as `1.2.3.4`, so one client has one key whichever socket family it used. */
function normalize(address: string): string {
  return address.startsWith("::ffff:") && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
}
