import { machineIp } from './network';

/**
 * Which addresses each machine gets. Every machine has a twin service address
 * (10.213.0.11, .12, ...) on the subnet where the twin's services live. A
 * template that fixes an instance's PrivateIpAddress (the cluster's scheduler,
 * which workers find by that address) also gets VPC addresses: the fixed ones,
 * and for the other machines free addresses from the VPC's CIDR. The machine's
 * private IP (IMDS local-ipv4, Fn::GetAtt PrivateIp) is then its VPC address.
 */
export interface MachineAddresses {
  serviceIp: string;
  privateIp: string;
  /** Addresses for the network-config, with prefix lengths. */
  cidrs: string[];
}

const toInt = (ip: string): number => ip.split('.').reduce((n, o) => n * 256 + Number(o), 0);
const toIp = (n: number): string => [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');

function parseCidr(cidr: string): { base: number; bits: number } {
  const [ip, bits] = cidr.split('/');
  const b = Number(bits);
  const size = 2 ** (32 - b);
  return { base: Math.floor(toInt(ip) / size) * size, bits: b };
}

export function assignAddresses(fixed: (string | undefined)[], vpcCidr: string | undefined): MachineAddresses[] {
  const anyFixed = fixed.some(Boolean);
  if (!anyFixed) {
    return fixed.map((_, k) => ({ serviceIp: machineIp(k), privateIp: machineIp(k), cidrs: [`${machineIp(k)}/24`] }));
  }
  if (!vpcCidr) throw new Error('the template fixes a PrivateIpAddress but has no single VPC with a literal CidrBlock');
  const { base, bits } = parseCidr(vpcCidr);
  const size = 2 ** (32 - bits);
  const taken = new Set(fixed.filter(Boolean).map((ip) => toInt(ip!)));
  for (const ip of taken) {
    if (ip < base || ip >= base + size) throw new Error(`PrivateIpAddress ${toIp(ip)} is outside the VPC ${vpcCidr}`);
  }
  // AWS reserves the first four addresses of a subnet; start well above them.
  let next = base + 100;
  return fixed.map((ip, k) => {
    let privateIp = ip;
    if (!privateIp) {
      while (taken.has(next)) next++;
      if (next >= base + size - 1) throw new Error(`no free address left in ${vpcCidr}`);
      taken.add(next);
      privateIp = toIp(next);
    }
    return { serviceIp: machineIp(k), privateIp, cidrs: [`${machineIp(k)}/24`, `${privateIp}/${bits}`] };
  });
}
