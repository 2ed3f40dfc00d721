/**
 * `dasklab preflight`: before class, whether a deploy of the config fits the
 * region: vCPU quotas against what will run plus what already runs, the
 * instance types offered in the availability zones the VPC will use, and the
 * other quotas the deploy counts against.
 */
import {
  DescribeAvailabilityZonesCommand,
  DescribeKeyPairsCommand,
  EC2Client,
  Instance,
  paginateDescribeInstances,
  paginateDescribeInstanceTypeOfferings,
  paginateDescribeInstanceTypes,
  paginateDescribeInternetGateways,
  paginateDescribeVpcs,
  _InstanceType,
} from '@aws-sdk/client-ec2';
import { ServiceQuotasClient } from '@aws-sdk/client-service-quotas';
import { TAG_APP } from '../../tag-keys';
import { DeployPlan, PlannedMachine, VPC_AZ_COUNT } from './deploy-plan';
import { quotaValue } from './service-quota';
import { vcpuQuotaOf, VcpuQuota } from './vcpu-quotas';
import { networkChecks } from './network-checks';

/** The outcome of one check. */
export interface Check {
  readonly status: 'PASS' | 'WARN' | 'FAIL';
  /** What was checked, e.g. "vCPUs: Running On-Demand Standard ... (L-1216C47A)". */
  readonly check: string;
  /** The numbers behind the outcome, and what to do about a failure. */
  readonly detail: string;
}

/** The clients preflight uses. */
export interface PreflightClients {
  readonly ec2: EC2Client;
  readonly quotas: ServiceQuotasClient;
}

/** EC2's documented, fixed limit of key pairs per region (no Service Quotas code). */
export const KEY_PAIRS_PER_REGION = 5000;

/** Quotas of the Service Quotas service code `vpc` that a deploy counts against. */
const VPC_QUOTAS = {
  vpcs: { code: 'L-F678F1CE', name: 'VPCs per Region' },
  internetGateways: { code: 'L-A4707A72', name: 'Internet gateways per Region' },
};

/**
 * Runs every check for a deploy of `plan` as app `app`, in the clients' region.
 *
 * @param plan what the deploy creates: `deployPlan(config)`
 */
export async function runPreflight(clients: PreflightClients, plan: DeployPlan, app: string): Promise<Check[]> {
  const checks: Check[] = plan.notes.map((note) => ({ status: 'WARN', check: 'deploy plan', detail: note }));
  // An existing VPC's machines go to its subnets' zones, round robin.
  const azs = plan.network ? plan.network.subnets.map((s) => s.zone) : await vpcAvailabilityZones(clients.ec2);
  const offered = await offeringsByType(clients.ec2, uniqueTypes(plan.machines));
  checks.push(...offeringChecks(plan.machines, azs, offered, { minimumZones: plan.network ? 1 : VPC_AZ_COUNT }));
  if (plan.network) checks.push(...(await networkChecks(clients.ec2, { network: plan.network, machines: plan.machines, codeArtifact: plan.codeArtifact, clusterSchedulerAddress: plan.clusterSchedulerAddress })));
  checks.push(...(await vcpuChecks(clients, plan, app, offered)));
  checks.push(...(await otherQuotaChecks(clients, plan)));
  return checks;
}

/**
 * The availability zones the VPC will use. An environment-agnostic stack
 * takes the first two of Fn::GetAZs, which lists the region's zones in
 * alphabetical order.
 */
export async function vpcAvailabilityZones(ec2: EC2Client): Promise<string[]> {
  // DescribeAvailabilityZones has no pagination.
  const { AvailabilityZones = [] } = await ec2.send(
    new DescribeAvailabilityZonesCommand({
      Filters: [
        { Name: 'state', Values: ['available'] },
        { Name: 'zone-type', Values: ['availability-zone'] },
      ],
    }),
  );
  return AvailabilityZones.map((z) => z.ZoneName ?? '').filter((n) => n !== '').sort().slice(0, VPC_AZ_COUNT);
}

/** For each instance type, the availability zones of the region that offer it. */
async function offeringsByType(ec2: EC2Client, types: readonly string[]): Promise<Map<string, Set<string>>> {
  const result = new Map(types.map((t) => [t, new Set<string>()]));
  const pages = paginateDescribeInstanceTypeOfferings(
    { client: ec2 },
    { LocationType: 'availability-zone', Filters: [{ Name: 'instance-type', Values: [...types] }] },
  );
  for await (const page of pages) {
    for (const offering of page.InstanceTypeOfferings ?? []) {
      if (offering.InstanceType && offering.Location) result.get(offering.InstanceType)?.add(offering.Location);
    }
  }
  return result;
}

/** Each type must be offered in the zones its machines go to; ideally in all of the VPC's zones. */
export function offeringChecks(
  machines: readonly PlannedMachine[],
  subnetZones: readonly string[],
  offered: ReadonlyMap<string, ReadonlySet<string>>,
  options: { minimumZones: number } = { minimumZones: VPC_AZ_COUNT },
): Check[] {
  const checks: Check[] = [];
  const azs = [...new Set(subnetZones)];
  if (azs.length < options.minimumZones) {
    checks.push({ status: 'FAIL', check: 'availability zones', detail: `the VPC needs ${VPC_AZ_COUNT} availability zones; the region has ${azs.length} available` });
    if (azs.length === 0) return checks;
  }
  for (const type of uniqueTypes(machines)) {
    const check = `instance type ${type}`;
    const zones = offered.get(type) ?? new Set<string>();
    const needed = [...new Set(machines.filter((m) => m.instanceType === type).map((m) => subnetZones[m.subnetIndex % subnetZones.length]))].sort();
    const missing = needed.filter((az) => !zones.has(az));
    const roles = [...new Set(machines.filter((m) => m.instanceType === type).map((m) => m.role))].join(', ');
    if (zones.size === 0) {
      checks.push({ status: 'FAIL', check, detail: `not offered in any availability zone of the region; choose another type for the ${roles} machines, or another region` });
    } else if (missing.length > 0) {
      checks.push({
        status: 'FAIL',
        check,
        detail: `not offered in ${missing.join(', ')}, where the VPC places ${roles} machines; offered in ${[...zones].sort().join(', ')}. Choose another type or region`,
      });
    } else if (azs.some((az) => !zones.has(az))) {
      checks.push({ status: 'WARN', check, detail: `offered in ${needed.join(', ')} (used) but not in all of the VPC's zones ${azs.join(', ')}` });
    } else {
      checks.push({ status: 'PASS', check, detail: `offered in the VPC's zones ${azs.join(', ')}` });
    }
  }
  return checks;
}

/** One vCPU quota's demand. */
interface Demand {
  readonly quota: VcpuQuota;
  /** Planned machines by instance type. */
  readonly planned: Map<string, number>;
  /** Running instances (other apps') by instance type. */
  readonly running: Map<string, number>;
}

/** vCPU quotas: planned machines plus the region's running instances (other than the app's own). */
async function vcpuChecks(clients: PreflightClients, plan: DeployPlan, app: string, offered: ReadonlyMap<string, ReadonlySet<string>>): Promise<Check[]> {
  const checks: Check[] = [];
  const demands = new Map<string, Demand>();
  for (const machine of plan.machines) {
    // A type not offered is already a FAIL, and DescribeInstanceTypes would refuse it.
    if ((offered.get(machine.instanceType)?.size ?? 0) === 0) continue;
    const quota = vcpuQuotaOf(machine.instanceType, machine.spot);
    if (quota === undefined) {
      checks.push({ status: 'WARN', check: `vCPUs: ${machine.instanceType}`, detail: `no ${machine.spot ? 'Spot ' : ''}vCPU quota is known for this family; check it in the Service Quotas console` });
      continue;
    }
    const demand = demands.get(quota.code) ?? { quota, planned: new Map(), running: new Map() };
    demands.set(quota.code, demand);
    increment(demand.planned, machine.instanceType);
  }
  if (demands.size === 0) return checks;

  const running = await runningInstances(clients.ec2);
  const others = running.filter((i) => !(i.Tags ?? []).some((t) => t.Key === TAG_APP && t.Value === app));
  const ownCount = running.length - others.length;
  for (const instance of others) {
    const type = instance.InstanceType ?? '';
    const demand = demands.get(vcpuQuotaOf(type, instance.InstanceLifecycle === 'spot')?.code ?? ''); // only the quotas the deploy uses matter
    if (demand) increment(demand.running, type);
  }
  const types = [...demands.values()].flatMap((d) => [...d.planned.keys(), ...d.running.keys()]);
  const [vcpus, values] = await Promise.all([
    vcpusByType(clients.ec2, [...new Set(types)]),
    Promise.all([...demands.values()].map((d) => quotaValue(clients.quotas, 'ec2', d.quota.code))),
  ]);
  const sum = (counts: Map<string, number>) => [...counts].reduce((total, [type, n]) => total + n * (vcpus.get(type) ?? 0), 0);

  [...demands.values()].forEach((d, i) => {
    const value = values[i];
    const check = `vCPUs: ${d.quota.name} (${d.quota.code})`;
    const planned = sum(d.planned);
    const runningVcpus = sum(d.running);
    const what = [...d.planned].map(([type, count]) => `${count} x ${type}`).join(' + ');
    const own = ownCount > 0 ? `, not counting the ${ownCount} of app "${app}" itself` : '';
    const total = planned + runningVcpus;
    if ('error' in value) {
      checks.push({ status: 'WARN', check, detail: `the deploy needs ${planned} vCPUs (${what}) and ${runningVcpus} already run${own}; cannot read the quota (${value.error})` });
    } else if (total > value.value) {
      checks.push({
        status: 'FAIL',
        check,
        detail: `the deploy needs ${planned} vCPUs (${what}) and ${runningVcpus} already run${own}: ${total} > quota ${value.value}. Request an increase in the Service Quotas console, or use fewer or smaller machines`,
      });
    } else {
      checks.push({ status: 'PASS', check, detail: `${planned} vCPUs needed (${what}) + ${runningVcpus} running${own} = ${total} of ${value.value}` });
    }
  });
  return checks;
}

function increment(counts: Map<string, number>, key: string): void {
  counts.set(key, (counts.get(key) ?? 0) + 1);
}

/** Pending and running instances of the region: what the vCPU quotas count. */
async function runningInstances(ec2: EC2Client): Promise<Instance[]> {
  const result: Instance[] = [];
  for await (const page of paginateDescribeInstances({ client: ec2 }, { Filters: [{ Name: 'instance-state-name', Values: ['pending', 'running'] }] })) {
    for (const reservation of page.Reservations ?? []) result.push(...(reservation.Instances ?? []));
  }
  return result;
}

/** The default vCPUs of each instance type (what the quotas count). */
async function vcpusByType(ec2: EC2Client, types: readonly string[]): Promise<Map<string, number>> {
  const result = new Map<string, number>();
  if (types.length === 0) return result;
  for await (const page of paginateDescribeInstanceTypes({ client: ec2 }, { InstanceTypes: types as _InstanceType[] })) {
    for (const info of page.InstanceTypes ?? []) {
      if (info.InstanceType && info.VCpuInfo?.DefaultVCpus !== undefined) result.set(info.InstanceType, info.VCpuInfo.DefaultVCpus);
    }
  }
  return result;
}

/** VPCs, internet gateways, key pairs, Elastic IPs and security groups. */
async function otherQuotaChecks(clients: PreflightClients, plan: DeployPlan): Promise<Check[]> {
  const ec2 = clients.ec2;
  const [vpcs, gateways, keyPairs, vpcQuota, gatewayQuota] = await Promise.all([
    countPages(paginateDescribeVpcs({ client: ec2 }, {}), (p) => p.Vpcs?.length ?? 0),
    countPages(paginateDescribeInternetGateways({ client: ec2 }, {}), (p) => p.InternetGateways?.length ?? 0),
    // DescribeKeyPairs has no pagination.
    ec2.send(new DescribeKeyPairsCommand({})).then((r) => r.KeyPairs?.length ?? 0),
    quotaValue(clients.quotas, 'vpc', VPC_QUOTAS.vpcs.code),
    quotaValue(clients.quotas, 'vpc', VPC_QUOTAS.internetGateways.code),
  ]);
  const checks: Check[] = [];
  const countCheck = (name: string, code: string | undefined, have: number, need: number, quota: { value: number } | { error: string }) => {
    const check = code ? `${name} (${code})` : name;
    if ('error' in quota) {
      checks.push({ status: 'WARN', check, detail: `${have} exist, the deploy adds ${need}; cannot read the quota (${quota.error})` });
    } else if (have + need > quota.value) {
      checks.push({ status: 'FAIL', check, detail: `${have} exist, the deploy adds ${need}: ${have + need} > quota ${quota.value}. Delete unused ones or request an increase` });
    } else {
      checks.push({ status: 'PASS', check, detail: `${have} exist + ${need} = ${have + need} of ${quota.value}` });
    }
  };
  countCheck(VPC_QUOTAS.vpcs.name, VPC_QUOTAS.vpcs.code, vpcs, plan.vpcs, vpcQuota);
  countCheck(VPC_QUOTAS.internetGateways.name, VPC_QUOTAS.internetGateways.code, gateways, plan.internetGateways, gatewayQuota);
  countCheck('Key pairs per Region', undefined, keyPairs, plan.keyPairs, { value: KEY_PAIRS_PER_REGION });
  if (plan.network) {
    // The VPC's default group exists already.
    checks.push({ status: 'PASS', check: 'EC2-VPC Elastic IPs (L-0263D0A3)', detail: 'not used' });
    checks.push({ status: 'PASS', check: 'Security groups per VPC', detail: `the deploy adds ${plan.securityGroups - 1 + (plan.network.endpoints === 'create' ? 1 : 0)} to ${plan.network.vpcId}` });
  } else {
    checks.push({ status: 'PASS', check: 'EC2-VPC Elastic IPs (L-0263D0A3)', detail: 'not used: machines get a public IPv4 address from their subnet' });
    checks.push({ status: 'PASS', check: 'Security groups per VPC', detail: `${plan.securityGroups} in the deploy's own new VPC, far below the quota` });
  }
  return checks;
}

/** Sums `count` over the pages of a paginator. */
async function countPages<P>(pages: AsyncIterable<P>, count: (page: P) => number): Promise<number> {
  let total = 0;
  for await (const page of pages) total += count(page);
  return total;
}

function uniqueTypes(machines: readonly PlannedMachine[]): string[] {
  return [...new Set(machines.map((m) => m.instanceType))];
}

/** Exit status of a preflight: 1 if any check failed. */
export function preflightExitCode(checks: readonly Check[]): number {
  return checks.some((c) => c.status === 'FAIL') ? 1 : 0;
}

/** The checks as "PASS  check: detail" lines. */
export function formatChecks(checks: readonly Check[]): string[] {
  return checks.map((c) => `${c.status}  ${c.check}: ${c.detail}`);
}
