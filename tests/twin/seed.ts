import * as fs from 'fs';
import * as path from 'path';
import { HUB_IP, IMDS_IP } from './network';

/**
 * A machine's NoCloud seed (bind-mounted read-only at /var/lib/cloud/seed/nocloud):
 * meta-data with its own instance-id and hostname, the user data, and a
 * network-config v2 for host0 that systemd-networkd renders: a static address,
 * the subnet route and a route to IMDS via the hub; no default route.
 */
export interface SeedSpec {
  instanceId: string;
  hostname: string;
  /** Addresses of host0 with prefix lengths (addresses.ts). */
  cidrs: string[];
  userData: string;
  /** OpenSSH public keys (EC2 metadata public-keys): cloud-init installs them for the default user. */
  publicKeys?: string[];
}

export function writeSeed(dir: string, spec: SeedSpec): void {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(
    path.join(dir, 'meta-data'),
    `instance-id: ${spec.instanceId}\nlocal-hostname: ${spec.hostname}\n` +
      (spec.publicKeys?.length ? `public-keys:\n${spec.publicKeys.map((k) => `  - ${JSON.stringify(k.trim())}\n`).join('')}` : ''),
  );
  fs.writeFileSync(path.join(dir, 'user-data'), spec.userData);
  fs.writeFileSync(
    path.join(dir, 'network-config'),
    [
      'version: 2',
      'ethernets:',
      '  host0:',
      '    match:',
      '      name: host0',
      `    addresses: [${spec.cidrs.join(', ')}]`,
      '    routes:',
      `      - to: ${IMDS_IP}/32`,
      `        via: ${HUB_IP}`,
      '',
    ].join('\n'),
  );
}

/** EC2's hostname scheme: ip-10-213-0-11. */
export const ec2Hostname = (ip: string): string => `ip-${ip.replace(/\./g, '-')}`;
