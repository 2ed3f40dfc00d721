/**
 * IPv4 and IPv6 CIDR parsing for `access.sshCidrs` and `access.dashboardCidrs`.
 *
 * Why our own parser rather than zod's `cidrv4()`/`cidrv6()`: those check the
 * syntax only. EC2 rejects a security group rule whose CIDR has host bits set
 * ("10.0.0.1/8"), which would fail `cdk deploy` late; we reject it at synth and
 * name the network address the user most likely meant.
 */

/** A parsed CIDR block. */
export interface Cidr {
  /** 4 or 6. */
  readonly version: 4 | 6;
  /** The address as an unsigned integer (32 or 128 bits). */
  readonly address: bigint;
  /** The prefix length. */
  readonly prefix: number;
  /** Canonical text: IPv4 dotted quad, or IPv6 in RFC 5952 form, with "/prefix". */
  readonly canonical: string;
}

/** Shown in every rejection, so the user sees what is accepted. */
const EXPECTED = 'expected an IPv4 or IPv6 CIDR such as "203.0.113.0/24", "198.51.100.7/32" or "2001:db8::/32"';

/**
 * Why `s` is not a CIDR dasklab accepts, or `null` if it is one.
 * Phrased to follow "<field>: <value> is not accepted; ".
 */
export function cidrProblem(s: string): string | null {
  const result = parse(s);
  return typeof result === 'string' ? result : null;
}

/**
 * Parses a CIDR block.
 *
 * @throws Error with the reason of {@link cidrProblem} if `s` is not a valid CIDR
 *   with its host bits zero.
 */
export function parseCidr(s: string): Cidr {
  const result = parse(s);
  if (typeof result === 'string') {
    throw new Error(`${JSON.stringify(s)} is not a valid CIDR; ${result}`);
  }
  return result;
}

/** The parser behind the exported functions: a Cidr or a reason. */
function parse(s: string): Cidr | string {
  const slash = s.indexOf('/');
  const addressText = slash < 0 ? s : s.slice(0, slash);
  const version = addressText.includes(':') ? 6 : 4;
  const address = version === 4 ? parseIpv4(addressText) : parseIpv6(addressText);
  if (address === null) {
    return EXPECTED;
  }
  const bits = version === 4 ? 32 : 128;
  if (slash < 0) {
    return `${EXPECTED}; add the prefix length, e.g. "${s}/${bits}" for this one address`;
  }
  const prefixText = s.slice(slash + 1);
  if (!/^(0|[1-9][0-9]{0,2})$/.test(prefixText) || Number(prefixText) > bits) {
    return `expected an IPv${version} prefix length from 0 to ${bits} after "/"`;
  }
  const prefix = Number(prefixText);
  const hostMask = (1n << BigInt(bits - prefix)) - 1n;
  if ((address & hostMask) !== 0n) {
    const network = format(version, address & ~hostMask);
    return `expected a network address with the host bits zero: "${network}/${prefix}" for the whole block, or "${format(version, address)}/${bits}" for this one address`;
  }
  return { version, address, prefix, canonical: `${format(version, address)}/${prefix}` };
}

/** Dotted quad to integer, or null. Leading zeros are refused: some tools read them as octal. */
function parseIpv4(text: string): bigint | null {
  const parts = text.split('.');
  if (parts.length !== 4 || !parts.every((p) => /^(0|[1-9][0-9]{0,2})$/.test(p) && Number(p) <= 255)) {
    return null;
  }
  return parts.reduce((acc, p) => (acc << 8n) | BigInt(p), 0n);
}

/** IPv6 text (with optional "::" and trailing dotted quad) to integer, or null. */
function parseIpv6(text: string): bigint | null {
  if (!/^[0-9A-Fa-f:.]+$/.test(text)) {
    return null; // also refuses zone ids ("fe80::1%eth0")
  }
  const halves = text.split('::');
  if (halves.length > 2) {
    return null;
  }
  const groupsOf = (part: string): number[] | null => {
    if (part === '') return [];
    const out: number[] = [];
    const pieces = part.split(':');
    for (let i = 0; i < pieces.length; i++) {
      const piece = pieces[i];
      if (i === pieces.length - 1 && piece.includes('.')) {
        const v4 = parseIpv4(piece);
        if (v4 === null) return null;
        out.push(Number(v4 >> 16n), Number(v4 & 0xffffn));
      } else if (/^[0-9A-Fa-f]{1,4}$/.test(piece)) {
        out.push(parseInt(piece, 16));
      } else {
        return null;
      }
    }
    return out;
  };
  const head = groupsOf(halves[0]);
  const tail = halves.length === 2 ? groupsOf(halves[1]) : [];
  if (head === null || tail === null) {
    return null;
  }
  // A dotted quad is only allowed at the very end.
  if (halves.length === 2 && halves[0].includes('.')) {
    return null;
  }
  let groups: number[];
  if (halves.length === 2) {
    const missing = 8 - head.length - tail.length;
    if (missing < 1) return null; // "::" stands for at least one zero group
    groups = [...head, ...new Array<number>(missing).fill(0), ...tail];
  } else {
    groups = head;
  }
  if (groups.length !== 8) {
    return null;
  }
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(g), 0n);
}

/** Integer to canonical text (RFC 5952 for IPv6: lower case, longest zero run as "::"). */
function format(version: 4 | 6, address: bigint): string {
  if (version === 4) {
    return [24n, 16n, 8n, 0n].map((shift) => String((address >> shift) & 0xffn)).join('.');
  }
  const groups = [112n, 96n, 80n, 64n, 48n, 32n, 16n, 0n].map((shift) => Number((address >> shift) & 0xffffn));
  // Find the longest run of two or more zero groups (first one wins a tie).
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = (gs: number[]) => gs.map((g) => g.toString(16)).join(':');
  if (bestStart < 0) {
    return hex(groups);
  }
  return `${hex(groups.slice(0, bestStart))}::${hex(groups.slice(bestStart + bestLength))}`;
}

/**
 * How many addresses of one IP version the blocks cover together: the size of
 * their union, each address counted once however many blocks hold it.
 */
export function addressesCovered(cidrs: readonly Cidr[], version: 4 | 6): bigint {
  const bits = BigInt(version === 4 ? 32 : 128);
  const ranges = cidrs
    .filter((c) => c.version === version)
    .map((c) => ({ first: c.address, end: c.address + (1n << (bits - BigInt(c.prefix))) }))
    .sort((a, b) => (a.first < b.first ? -1 : a.first > b.first ? 1 : 0));
  let total = 0n;
  let mergedEnd = -1n; // exclusive end of the ranges counted so far
  for (const { first, end } of ranges) {
    if (end <= mergedEnd) continue; // inside what is counted already
    total += end - (first > mergedEnd ? first : mergedEnd);
    mergedEnd = end;
  }
  return total;
}
