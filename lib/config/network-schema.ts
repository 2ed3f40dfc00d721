/**
 * `network`: an existing VPC the machines go into instead of one dasklab makes.
 * Everything synth needs of it (subnet ids, zones, CIDRs) is in the config, so
 * synth stays offline: no lookup, no credentials.
 */
import { z } from 'zod';
import { cidrProblem, parseCidr } from './cidr';
import { bool, checkedString, section } from './schema-blocks';
import { urlCredentialProblem } from './url-credentials';

/** Most subnets a network may name (machines are spread over them round robin). */
export const MAX_NETWORK_SUBNETS = 16;

/**
 * AWS reserves the first four and the last address of every subnet's CIDR
 * block (network, VPC router, DNS, future use, broadcast):
 * https://docs.aws.amazon.com/vpc/latest/userguide/subnet-sizing.html
 */
export const RESERVED_LEADING_ADDRESSES = 4;

/** Subnet sizes a VPC allows, /16 to /28 (same page). */
export const SUBNET_PREFIX_RANGE = { min: 16, max: 28 } as const;

/** EC2 resource ids: the prefix and 8 or 17 hex digits. */
function resourceIdPattern(prefix: string): RegExp {
  return new RegExp(`^${prefix}-([0-9a-f]{8}|[0-9a-f]{17})$`);
}

/** An availability zone name: its region and a letter, e.g. "eu-central-1a". */
const ZONE_PATTERN = /^([a-z]{2}(-[a-z]+)+-[0-9]{1,2})[a-z]$/;

/** The region of an availability zone name. */
export function regionOfZone(zone: string): string | null {
  return ZONE_PATTERN.exec(zone)?.[1] ?? null;
}

/** Why `cidr` is not a subnet CIDR, or null. */
function subnetCidrProblem(cidr: string): string | null {
  const problem = cidrProblem(cidr);
  const expected = `expected the subnet's IPv4 CIDR block, /${SUBNET_PREFIX_RANGE.min} to /${SUBNET_PREFIX_RANGE.max}, e.g. "10.20.1.0/24"`;
  if (problem !== null) return `${expected}; ${problem}`;
  const parsed = parseCidr(cidr);
  if (parsed.version !== 4) return `${expected} (machines get IPv4 addresses)`;
  if (parsed.prefix < SUBNET_PREFIX_RANGE.min || parsed.prefix > SUBNET_PREFIX_RANGE.max) return `${expected}, as a VPC allows`;
  return null;
}

/** Why `url` is not a proxy the machines can use, or null. */
function proxyProblem(url: string): string | null {
  const expected = 'expected the URL of an HTTP(S) proxy with its port, e.g. "http://proxy.corp.example:3128"';
  if (/[\s'"`$\\<>{}|^;]/.test(url)) return `${expected}; it contains a space, quote or shell character`;
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(url) || !URL.canParse(url)) return expected;
  const parsed = new URL(url);
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return `${expected}; "${parsed.protocol}" proxies are not supported (apt, pip and the AWS SDK speak http:// and https:// proxies)`;
  if (parsed.username !== '' || parsed.password !== '' || url.includes('@')) {
    return `${expected}, without credentials in it (the URL is visible in the instance user data): allow the machines' subnets at the proxy instead`;
  }
  const credential = urlCredentialProblem(parsed, { hashFragment: false });
  if (credential !== null) return `${expected}, ${credential}`;
  if (parsed.pathname !== '/' ) return `${expected}, with no path`;
  // URL drops a scheme's default port (":80" of http, ":443" of https), so look at what was written.
  if (!/^[a-z]+:\/\/[^/?#]*:\d+(?:[/?#]|$)/i.test(url)) return `${expected}; name the port, e.g. ":3128"`;
  return null;
}

/** True if the error output must not echo `url`: it may hold a credential. */
function proxyHoldsCredential(url: string): boolean {
  return url.includes('@');
}

/** The port of a proxy URL that {@link proxyProblem} accepted. */
export function proxyPort(url: string): number {
  const parsed = new URL(url);
  return parsed.port !== '' ? Number(parsed.port) : parsed.protocol === 'https:' ? 443 : 80;
}

/** A dotted-quad IPv4 address as an integer, or null. */
export function ipv4Address(text: string): bigint | null {
  if (!/^[0-9.]+$/.test(text) || cidrProblem(`${text}/32`) !== null) return null;
  return parseCidr(`${text}/32`).address;
}

/** Where `address` lies in `cidr`: 'outside', 'reserved' (by AWS), or 'usable'. */
export function addressInSubnet(address: string, cidr: string): 'outside' | 'reserved' | 'usable' {
  const ip = ipv4Address(address);
  const block = parseCidr(cidr);
  if (ip === null || block.version !== 4) return 'outside';
  const size = 1n << BigInt(32 - block.prefix);
  const offset = ip - block.address;
  if (offset < 0n || offset >= size) return 'outside';
  return offset < BigInt(RESERVED_LEADING_ADDRESSES) || offset === size - 1n ? 'reserved' : 'usable';
}

const SubnetSchema = section('a subnet of the VPC', {
  id: z
    .string({ error: 'expected a subnet id string such as "subnet-0a1b2c3d4e5f60718"' })
    .regex(resourceIdPattern('subnet'), { error: 'expected a subnet id: "subnet-" and 8 or 17 hex digits, e.g. "subnet-0a1b2c3d4e5f60718"' })
    .describe('The subnet id, e.g. "subnet-0a1b2c3d4e5f60718".'),
  zone: z
    .string({ error: 'expected an availability zone name string such as "eu-central-1a"' })
    .regex(ZONE_PATTERN, { error: 'expected an availability zone name: a region and a letter, e.g. "eu-central-1a"' })
    .describe('The subnet\'s availability zone, e.g. "eu-central-1a".'),
  cidr: checkedString('expected the subnet\'s IPv4 CIDR block string, e.g. "10.20.1.0/24"', subnetCidrProblem).describe(
    'The subnet\'s IPv4 CIDR block, e.g. "10.20.1.0/24" (/16 to /28).',
  ),
  routeTableId: z
    .string({ error: 'expected a route table id string such as "rtb-0a1b2c3d4e5f60718", or null' })
    .regex(resourceIdPattern('rtb'), { error: 'expected a route table id: "rtb-" and 8 or 17 hex digits, e.g. "rtb-0a1b2c3d4e5f60718", or null' })
    .nullable()
    .default(null)
    .describe('The id of the subnet\'s route table, e.g. "rtb-0a1b2c3d4e5f60718". Needed when dasklab creates the S3 gateway endpoint (network.endpoints "create"). null: not known.'),
  public: bool()
    .default(false)
    .describe('The subnet routes to an internet gateway, so a machine with a public IP there is reachable from the internet. false: a private subnet (reaches out, if at all, through a NAT gateway or a proxy).'),
});

/** The validated `network`, when set. */
export const NetworkSchema = section('an existing VPC', {
  vpcId: z
    .string({ error: 'expected a VPC id string such as "vpc-0a1b2c3d4e5f60718"' })
    .regex(resourceIdPattern('vpc'), { error: 'expected a VPC id: "vpc-" and 8 or 17 hex digits, e.g. "vpc-0a1b2c3d4e5f60718"' })
    .describe('The id of the existing VPC, e.g. "vpc-0a1b2c3d4e5f60718".'),
  subnets: z
    .array(SubnetSchema, { error: `expected a list of 1 to ${MAX_NETWORK_SUBNETS} subnets, each { "id", "zone", "cidr" }` })
    .min(1, { error: `expected a list of 1 to ${MAX_NETWORK_SUBNETS} subnets, each { "id", "zone", "cidr" }` })
    .max(MAX_NETWORK_SUBNETS, { error: `expected a list of 1 to ${MAX_NETWORK_SUBNETS} subnets, each { "id", "zone", "cidr" }` })
    .describe('The subnets of the VPC the machines go to, spread round robin: [{ "id", "zone", "cidr", "routeTableId"?, "public"? }]. Given in full so that synth needs no AWS lookup.'),
  publicIp: bool()
    .nullable()
    .default(null)
    .describe('Give the machines public IPv4 addresses. null: only when every subnet is public. false: none (reach the machines through Session Manager or from inside the network).'),
  endpoints: z
    .enum(['none', 'existing', 'create'], { error: 'expected "create", "existing" or "none"' })
    .default('none')
    .describe('How the machines reach AWS (Session Manager, SSM parameters, their own tag, the readiness signal, CodeArtifact): "create": dasklab makes the VPC endpoints they use (interface endpoints with private DNS, and an S3 gateway endpoint, which needs every subnet\'s routeTableId); "existing": the VPC has them already (`dasklab preflight` checks); "none": through the subnets\' way out (a NAT gateway, an internet gateway or network.proxy).'),
  proxy: checkedString('expected an HTTP(S) proxy URL string such as "http://proxy.corp.example:3128", or null', proxyProblem, proxyHoldsCredential)
    .nullable()
    .default(null)
    .describe('The HTTP(S) proxy through which the machines reach the package index, the apt archive and AWS\'s public endpoints, e.g. "http://proxy.corp.example:3128" (no credentials: the proxy must admit the machines\' subnets). apt, pip, the readiness signal, the self-tag, CodeArtifact, login shells, the SSM agent, JupyterLab and the Dask workers use it. null: no proxy (the subnets route out through a NAT gateway, or not at all).'),
  schedulerAddress: z
    .string({ error: 'expected an IPv4 address string such as "10.20.1.10", or null' })
    .nullable()
    .default(null)
    .describe('The Dask scheduler\'s fixed private IPv4 address (with cluster only): in one of the subnets, not one of the five addresses AWS reserves in each, and free. null: the 10th address of the first subnet.'),
}).superRefine((network, ctx) => {
  const subnets = Array.isArray(network.subnets) ? network.subnets : [];
  const ids = new Map<string, number>();
  const cidrs: Array<{ index: number; cidr: string }> = [];
  let region: { name: string; index: number } | undefined;
  subnets.forEach((subnet, i) => {
    if (typeof subnet?.id === 'string') {
      const first = ids.get(subnet.id);
      if (first === undefined) ids.set(subnet.id, i);
      else ctx.addIssue({ code: 'custom', path: ['subnets', i, 'id'], input: subnet.id, message: `expected each subnet once; this one repeats subnets[${first}]` });
    }
    if (typeof subnet?.cidr === 'string' && subnetCidrProblem(subnet.cidr) === null) {
      const overlapped = cidrs.find((other) => cidrsOverlap(other.cidr, subnet.cidr));
      if (overlapped) {
        ctx.addIssue({
          code: 'custom',
          path: ['subnets', i, 'cidr'],
          input: subnet.cidr,
          message: `expected subnets whose CIDR blocks do not overlap (a VPC's subnets never do); it overlaps subnets[${overlapped.index}] (${overlapped.cidr})`,
        });
      }
      cidrs.push({ index: i, cidr: subnet.cidr });
    }
    const zoneRegion = typeof subnet?.zone === 'string' ? regionOfZone(subnet.zone) : null;
    if (zoneRegion !== null) {
      if (region === undefined) region = { name: zoneRegion, index: i };
      else if (zoneRegion !== region.name) {
        ctx.addIssue({
          code: 'custom',
          path: ['subnets', i, 'zone'],
          input: subnet.zone,
          message: `expected a zone of the VPC's region, ${region.name} (that of subnets[${region.index}]): a VPC lies in one region`,
        });
      }
    }
  });
  if (network.publicIp === true) {
    const privateSubnet = subnets.find((s) => s?.public === false);
    if (privateSubnet) {
      ctx.addIssue({
        code: 'custom',
        path: ['publicIp'],
        input: true,
        message: `expected false or null while a subnet is private (${privateSubnet.id}): a public IP in a private subnet is not reachable from the internet; mark the subnet "public": true if it routes to an internet gateway`,
      });
    }
  }
  if (network.endpoints === 'create') {
    subnets.forEach((subnet, i) => {
      if (subnet && typeof subnet === 'object' && subnet.routeTableId == null) {
        ctx.addIssue({
          code: 'custom',
          path: ['subnets', i, 'routeTableId'],
          input: null,
          message: 'expected the subnet\'s route table id, e.g. "rtb-0a1b2c3d4e5f60718": with endpoints "create" the S3 gateway endpoint (the readiness signal\'s way out) is added to it',
        });
      }
    });
  }
  const address = network.schedulerAddress;
  if (typeof address === 'string') {
    const problem = schedulerAddressProblem(address, cidrs.map((c) => c.cidr));
    if (problem !== null) ctx.addIssue({ code: 'custom', path: ['schedulerAddress'], input: address, message: problem });
  }
});

/** The validated `network` section. */
export type NetworkConfig = z.output<typeof NetworkSchema>;

/** True if the two CIDR blocks share an address. */
function cidrsOverlap(a: string, b: string): boolean {
  const [x, y] = [parseCidr(a), parseCidr(b)];
  const prefix = Math.min(x.prefix, y.prefix);
  const mask = ((1n << BigInt(prefix)) - 1n) << BigInt(32 - prefix);
  return (x.address & mask) === (y.address & mask);
}

/** The cluster scheduler's host number in the first subnet when no address is configured (AWS reserves .0 to .3). */
export const DEFAULT_SCHEDULER_HOST_NUMBER = 10;

/** The address `host` of an IPv4 CIDR, e.g. ('10.40.0.0/20', 10) → '10.40.0.10'. */
export function hostInCidr(cidr: string, host: number): string {
  const [address, bits] = cidr.split('/');
  const base = address.split('.').reduce((n, octet) => n * 256 + Number(octet), 0);
  const size = 2 ** (32 - Number(bits));
  if (host < 4 || host >= size - 1) {
    throw new Error(`host ${host} is reserved or outside ${cidr}`);
  }
  const ip = base + host;
  return [24, 16, 8, 0].map((shift) => Math.floor(ip / 2 ** shift) % 256).join('.');
}

/** The cluster scheduler's fixed address in an existing network: the configured one, or host 10 of the first subnet. */
export function clusterSchedulerAddress(network: NetworkConfig): string {
  return network.schedulerAddress ?? hostInCidr(network.subnets[0].cidr, DEFAULT_SCHEDULER_HOST_NUMBER);
}

/** Why `address` cannot be the scheduler's fixed address in these subnets, or null. */
export function schedulerAddressProblem(address: string, subnetCidrs: readonly string[]): string | null {
  if (ipv4Address(address) === null) return 'expected an IPv4 address such as "10.20.1.10", without a prefix length';
  const places = subnetCidrs.map((cidr) => ({ cidr, place: addressInSubnet(address, cidr) }));
  const reserved = places.find((p) => p.place === 'reserved');
  if (reserved) {
    return `expected an address AWS does not reserve: AWS reserves the first four and the last address of ${reserved.cidr}`;
  }
  if (!places.some((p) => p.place === 'usable')) {
    return `expected an address in one of the subnets; it lies in none of the subnets (${subnetCidrs.join(', ')})`;
  }
  return null;
}

/** Whether the machines of a network get a public IPv4 address. */
export function machinesGetPublicIp(network: NetworkConfig): boolean {
  return network.publicIp ?? network.subnets.every((s) => s.public);
}
