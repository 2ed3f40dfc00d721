import { HUB_IP, PORTS } from './network';

/**
 * How the twin's machines reach the internet, where the twin's apt repository
 * and pip index stand for the Ubuntu archive and PyPI (deviations.ts):
 *
 * - 'direct': they reach them (a public subnet, or a NAT gateway);
 * - 'none': a private subnet without a way out: packets to them are dropped,
 *   in the machine's own namespace, before they leave it. Dropped rather than
 *   refused: a connection then fails only at its timeout, the slowest way, so
 *   the time a bootstrap takes to give up is measured at its worst. The
 *   twin's AWS-side services (signal receiver, AWS endpoint, IMDS) stay
 *   reachable, as through VPC endpoints;
 * - 'proxy': as 'none', and the twin's proxy (proxy.ts) at TWIN_PROXY_URL,
 *   which reaches them, is the only way to them.
 */
export type WayOut = 'direct' | 'none' | 'proxy';

/** The twin's services that stand for hosts on the internet. */
export const INTERNET_PORTS: readonly number[] = [PORTS.apt, PORTS.pip];

/**
 * The nftables script, for a machine's namespace, that takes the internet
 * away from it; empty for 'direct'. Its own table, so it holds whether or not
 * the security groups are enforced (a packet must pass both tables).
 */
export function wayOutRuleset(wayOut: WayOut): string {
  if (wayOut === 'direct') return '';
  return [
    'table inet dasklab_way_out',
    'delete table inet dasklab_way_out',
    'table inet dasklab_way_out {',
    '  chain output {',
    '    type filter hook output priority filter - 1; policy accept;',
    `    ip daddr ${HUB_IP} tcp dport { ${INTERNET_PORTS.join(', ')} } drop comment "the internet (apt archive, package index): no way out"`,
    '  }',
    '}',
    '',
  ].join('\n');
}
