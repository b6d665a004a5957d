import ipaddr from 'ipaddr.js';

/** Parses "10.0.0.5" or "10.0.0.0/24" (IPv4 or IPv6); undefined when it is neither. */
function parseRange(text: string): [ipaddr.IPv4 | ipaddr.IPv6, number] | undefined {
  try {
    if (text.includes('/')) return ipaddr.parseCIDR(text);
    const address = ipaddr.parse(text);
    return [address, address.kind() === 'ipv4' ? 32 : 128];
  } catch {
    return undefined;
  }
}

export function isValidAllowListEntry(text: string): boolean {
  return parseRange(text.trim()) !== undefined;
}

/** True when the list is empty or the address falls in one of its addresses or subnets. */
export function addressAllowed(ip: string, allowList: readonly string[]): boolean {
  if (allowList.length === 0) return true;
  let address: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    address = ipaddr.process(ip); // also turns ::ffff:1.2.3.4 into 1.2.3.4
  } catch {
    return false;
  }
  return allowList.some((entry) => {
    const range = parseRange(entry);
    if (!range) return false;
    const [network] = range;
    const candidate = network.kind() === 'ipv4' && address.kind() === 'ipv6' && (address as ipaddr.IPv6).isIPv4MappedAddress() ? (address as ipaddr.IPv6).toIPv4Address() : address;
    return candidate.kind() === network.kind() && candidate.match(range);
  });
}
