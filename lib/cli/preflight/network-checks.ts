/**
 * Preflight of an existing VPC (config `network`): what the deploy needs of
 * it, checked with EC2's describe calls, one line per finding.
 */
import {
  DescribeNetworkInterfacesCommand,
  DescribeVpcAttributeCommand,
  DescribeVpcsCommand,
  EC2Client,
  paginateDescribeRouteTables,
  paginateDescribeSubnets,
  paginateDescribeVpcEndpoints,
  DescribeVpcEndpointServicesCommand,
  Route,
  RouteTable,
  Subnet,
  VpcEndpoint,
} from '@aws-sdk/client-ec2';
import { machinesGetPublicIp, NetworkConfig } from '../../config/network-schema';
import { endpointServicesFor } from '../../network/vpc-endpoints';
import type { Check } from './preflight';
import type { PlannedMachine } from './deploy-plan';

/** What the network checks need of the plan. */
export interface NetworkPlan {
  readonly network: NetworkConfig;
  readonly machines: readonly PlannedMachine[];
  /** The machines install from python.codeArtifact. */
  readonly codeArtifact: boolean;
  /**
   * The cluster scheduler's fixed address, configured or the default.
   * @default - no cluster scheduler
   */
  readonly clusterSchedulerAddress?: string;
}

const check = (status: Check['status'], what: string, detail: string): Check => ({ status, check: `network: ${what}`, detail });

/** Every check of the network, in the order a reader fixes them: VPC, subnets, ways out, endpoints, DNS, addresses. */
export async function networkChecks(ec2: EC2Client, plan: NetworkPlan): Promise<Check[]> {
  const { network } = plan;
  const region = await ec2.config.region();
  const vpcExists = await describeVpc(ec2, network.vpcId);
  if (!vpcExists) return [check('FAIL', `VPC ${network.vpcId}`, `does not exist in ${region}; check network.vpcId and the region`)];
  const [subnets, routeTables, endpoints] = await Promise.all([
    collect(paginateDescribeSubnets({ client: ec2 }, { Filters: [{ Name: 'subnet-id', Values: network.subnets.map((s) => s.id) }] }), (p) => p.Subnets),
    collect(paginateDescribeRouteTables({ client: ec2 }, { Filters: [{ Name: 'vpc-id', Values: [network.vpcId] }] }), (p) => p.RouteTables),
    collect(paginateDescribeVpcEndpoints({ client: ec2 }, { Filters: [{ Name: 'vpc-id', Values: [network.vpcId] }] }), (p) => p.VpcEndpoints),
  ]);
  const found = network.subnets.map((s) => subnets.find((x) => x.SubnetId === s.id));
  const checks: Check[] = network.subnets.map((s, i) => subnetCheck(s, found[i], routeTableOf(s.id, routeTables), network.vpcId, region));
  const ours = network.subnets.filter((_, i) => found[i]?.VpcId === network.vpcId);
  checks.push(...ours.map((s) => wayOutCheck(s.id, routeTableOf(s.id, routeTables), network)));
  checks.push(...endpointChecks(network, region, endpoints, ours.map((s) => routeTableOf(s.id, routeTables)?.RouteTableId), plan.codeArtifact));
  if (network.endpoints === 'create') checks.push(...(await endpointZoneChecks(ec2, network, region, plan.codeArtifact)));
  if (network.endpoints !== 'none') checks.push(await dnsCheck(ec2, network.vpcId));
  checks.push(...addressChecks(plan, found));
  if (plan.clusterSchedulerAddress) checks.push(await schedulerAddressCheck(ec2, network, plan.clusterSchedulerAddress));
  return checks;
}

async function describeVpc(ec2: EC2Client, vpcId: string): Promise<boolean> {
  try {
    const { Vpcs = [] } = await ec2.send(new DescribeVpcsCommand({ VpcIds: [vpcId] }));
    return Vpcs.length > 0;
  } catch (error) {
    if ((error as Error).name === 'InvalidVpcID.NotFound') return false;
    throw error;
  }
}

async function collect<P, T>(pages: AsyncIterable<P>, items: (page: P) => T[] | undefined): Promise<T[]> {
  const result: T[] = [];
  for await (const page of pages) result.push(...(items(page) ?? []));
  return result;
}

function subnetCheck(wanted: NetworkConfig['subnets'][number], subnet: Subnet | undefined, table: RouteTable | undefined, vpcId: string, region: string): Check {
  const what = `subnet ${wanted.id}`;
  if (!subnet) return check('FAIL', what, `does not exist in ${region}; check network.subnets and the region`);
  if (subnet.VpcId !== vpcId) return check('FAIL', what, `belongs to ${subnet.VpcId}, not to ${vpcId}; name subnets of network.vpcId`);
  const differences = [
    subnet.AvailabilityZone !== wanted.zone ? `its zone is ${subnet.AvailabilityZone}, not ${wanted.zone}` : '',
    subnet.CidrBlock !== wanted.cidr ? `its CIDR is ${subnet.CidrBlock}, not ${wanted.cidr}` : '',
    // The deploy puts the S3 gateway endpoint (the readiness signal's way out) on the configured table.
    wanted.routeTableId && table?.RouteTableId !== wanted.routeTableId ? `its route table is ${table?.RouteTableId ?? 'none'}, not ${wanted.routeTableId}` : '',
  ].filter((d) => d !== '');
  if (differences.length > 0) return check('FAIL', what, `${differences.join(' and ')}: correct network.subnets, which synth places machines by`);
  return check('PASS', what, `in ${vpcId}, ${wanted.zone}, ${wanted.cidr}`);
}

/** The route table of a subnet: its own association, else the VPC's main table. */
function routeTableOf(subnetId: string, tables: readonly RouteTable[]): RouteTable | undefined {
  return (
    tables.find((t) => (t.Associations ?? []).some((a) => a.SubnetId === subnetId)) ??
    tables.find((t) => (t.Associations ?? []).some((a) => a.Main))
  );
}

/** The default route's target, in words. */
function targetOf(route: Route): { kind: 'nat' | 'igw' | 'other'; text: string } {
  if (route.NatGatewayId) return { kind: 'nat', text: `NAT gateway ${route.NatGatewayId}` };
  if (route.GatewayId?.startsWith('igw-')) return { kind: 'igw', text: `internet gateway ${route.GatewayId}` };
  const other = route.TransitGatewayId ?? route.NetworkInterfaceId ?? route.VpcPeeringConnectionId ?? route.InstanceId ?? route.GatewayId ?? 'an unknown target';
  return { kind: 'other', text: other };
}

/** The package index and the apt archive are on the internet: a NAT gateway, an internet gateway with public IPs, or the proxy. */
function wayOutCheck(subnetId: string, table: RouteTable | undefined, network: NetworkConfig): Check {
  const what = `way out of ${subnetId}`;
  if (network.proxy) return check('PASS', what, `through the proxy ${network.proxy} (network.proxy), which must admit the subnet; the bootstrap checks it first`);
  const route = (table?.Routes ?? []).find((r) => r.DestinationCidrBlock === '0.0.0.0/0' && r.State !== 'blackhole');
  const tableName = table?.RouteTableId ?? 'no route table';
  if (!route) {
    return check(
      'FAIL',
      what,
      `its route table ${tableName} has no route to 0.0.0.0/0, and network.proxy is not set: the machines cannot reach the package index and the apt archive. Add a route to a NAT gateway, or set network.proxy`,
    );
  }
  const target = targetOf(route);
  if (target.kind === 'nat') return check('PASS', what, `${tableName} routes 0.0.0.0/0 to ${target.text}`);
  if (target.kind === 'igw') {
    return machinesGetPublicIp(network)
      ? check('PASS', what, `${tableName} routes 0.0.0.0/0 to ${target.text}, and the machines get public IPs`)
      : check('FAIL', what, `${tableName} routes 0.0.0.0/0 to ${target.text}, but the machines get no public IP, without which an internet gateway carries nothing. Set network.publicIp, route through a NAT gateway, or set network.proxy`);
  }
  return check('WARN', what, `${tableName} routes 0.0.0.0/0 to ${target.text}; whether that reaches the package index is not visible from here (the bootstrap checks it first)`);
}

function endpointChecks(network: NetworkConfig, region: string, endpoints: readonly VpcEndpoint[], routeTableIds: ReadonlyArray<string | undefined>, codeArtifact: boolean): Check[] {
  if (network.endpoints === 'none') {
    return [check('PASS', 'VPC endpoints', 'none expected (network.endpoints "none"): the machines reach AWS through the way out')];
  }
  return endpointServicesFor({ codeArtifact }).map(({ service, type, usedFor }) => {
    const name = `com.amazonaws.${region}.${service}`;
    const what = `endpoint ${name}`;
    // S3 has both kinds: only an endpoint of the kind the machines use counts.
    const present = endpoints.filter((e) => e.ServiceName === name && (e.VpcEndpointType ?? 'Gateway') === type && !/^(deleted|deleting|failed|rejected)$/i.test(e.State ?? ''));
    if (network.endpoints === 'create') {
      const clash = type === 'Interface' ? interfaceClash(present) : gatewayClash(present, routeTableIds);
      return clash
        ? check('FAIL', what, `${clash}; set network.endpoints to "existing"`)
        : check('PASS', what, `made by the deploy (${type.toLowerCase()}), for ${usedFor}`);
    }
    const endpoint = present[0];
    if (!endpoint) {
      // An interface endpoint in a hub VPC, answering here through a private hosted zone shared with this VPC, is invisible to EC2's describe calls.
      const hub = type === 'Interface' ? ' (an endpoint in a hub VPC whose private hosted zone is associated with this VPC also serves; then this line does not apply)' : '';
      return check('FAIL', what, `missing in ${network.vpcId}; the machines need it for ${usedFor}. Create it, or set network.endpoints to "create"${hub}`);
    }
    if (type === 'Interface' && !endpoint.PrivateDnsEnabled) {
      return check('FAIL', what, `${endpoint.VpcEndpointId} has private DNS off: the machines call the service by its usual name. Turn private DNS on`);
    }
    if (type === 'Gateway') {
      const missing = [...new Set(routeTableIds.filter((id): id is string => id !== undefined && !(endpoint.RouteTableIds ?? []).includes(id)))];
      if (missing.length > 0) return check('FAIL', what, `${endpoint.VpcEndpointId} is not in the route tables ${missing.join(', ')} of the machines' subnets; add them to it`);
    }
    return check('PASS', what, `${endpoint.VpcEndpointId}, for ${usedFor}`);
  });
}

/**
 * An interface endpoint goes into one subnet per zone of the machines'
 * subnets; not every service is offered in every zone, and the deploy fails
 * where it is not:
 * https://docs.aws.amazon.com/vpc/latest/privatelink/create-interface-endpoint.html
 */
async function endpointZoneChecks(ec2: EC2Client, network: NetworkConfig, region: string, codeArtifact: boolean): Promise<Check[]> {
  const zones = [...new Set(network.subnets.map((s) => s.zone))];
  const checks: Check[] = [];
  for (const { service } of endpointServicesFor({ codeArtifact }).filter((s) => s.type === 'Interface')) {
    const name = `com.amazonaws.${region}.${service}`;
    const what = `zones of endpoint ${name}`;
    let offered: string[];
    try {
      const { ServiceDetails = [] } = await ec2.send(new DescribeVpcEndpointServicesCommand({ ServiceNames: [name] }));
      offered = ServiceDetails.find((d) => d.ServiceName === name)?.AvailabilityZones ?? [];
    } catch (error) {
      checks.push(check('WARN', what, `could not be looked up (${(error as Error).message})`));
      continue;
    }
    const missing = zones.filter((zone) => !offered.includes(zone));
    checks.push(
      missing.length > 0
        ? check('FAIL', what, `not offered in ${missing.join(', ')} (offered in ${offered.join(', ') || 'none'}); the deploy cannot place it in the subnets there. Use subnets in the offered zones, or set network.endpoints to "existing"`)
        : check('PASS', what, `offered in ${zones.join(', ')}`),
    );
  }
  return checks;
}

/** An interface endpoint of the service with private DNS: a second one cannot have private DNS too. */
function interfaceClash(present: readonly VpcEndpoint[]): string | undefined {
  const clash = present.find((e) => e.PrivateDnsEnabled);
  return clash && `${clash.VpcEndpointId} already serves it with private DNS, which a second endpoint cannot have`;
}

/**
 * A gateway endpoint of the service already in one of the machines' route
 * tables: a route table holds one route per service, so the deploy's would
 * fail (RouteAlreadyExists):
 * https://docs.aws.amazon.com/vpc/latest/privatelink/gateway-endpoints.html
 */
function gatewayClash(present: readonly VpcEndpoint[], routeTableIds: ReadonlyArray<string | undefined>): string | undefined {
  for (const endpoint of present) {
    const shared = routeTableIds.filter((id): id is string => id !== undefined && (endpoint.RouteTableIds ?? []).includes(id));
    if (shared.length > 0) return `${endpoint.VpcEndpointId} is already in the route tables ${[...new Set(shared)].join(', ')}, which hold one route per service, so the deploy's would fail`;
  }
  return undefined;
}

/**
 * Private DNS of interface endpoints needs both of the VPC's DNS attributes:
 * https://docs.aws.amazon.com/vpc/latest/privatelink/privatelink-access-aws-services.html
 */
async function dnsCheck(ec2: EC2Client, vpcId: string): Promise<Check> {
  const [support, hostnames] = await Promise.all(
    (['enableDnsSupport', 'enableDnsHostnames'] as const).map((Attribute) => ec2.send(new DescribeVpcAttributeCommand({ VpcId: vpcId, Attribute }))),
  );
  const off = [support.EnableDnsSupport?.Value ? '' : 'enableDnsSupport', hostnames.EnableDnsHostnames?.Value ? '' : 'enableDnsHostnames'].filter((a) => a !== '');
  return off.length > 0
    ? check('FAIL', `DNS of ${vpcId}`, `${off.join(' and ')} ${off.length === 1 ? 'is' : 'are'} off; the endpoints' private DNS names need both on`)
    : check('PASS', `DNS of ${vpcId}`, 'enableDnsSupport and enableDnsHostnames are on, as the endpoints\' private DNS names need');
}

/** Each subnet must have a free address for each machine the deploy puts there (and each endpoint interface, when made). */
function addressChecks(plan: NetworkPlan, found: ReadonlyArray<Subnet | undefined>): Check[] {
  const subnets = plan.network.subnets;
  const endpointZones = new Set<string>();
  const interfaces = plan.network.endpoints === 'create' ? endpointServicesFor({ codeArtifact: plan.codeArtifact }).filter((s) => s.type === 'Interface').length : 0;
  return subnets.flatMap((wanted, i) => {
    const subnet = found[i];
    if (!subnet || subnet.AvailableIpAddressCount === undefined) return [];
    const machines = plan.machines.filter((m) => m.subnetIndex % subnets.length === i).length;
    // Interface endpoints take the first subnet of each zone.
    const endpoints = interfaces > 0 && !endpointZones.has(wanted.zone) ? interfaces : 0;
    endpointZones.add(wanted.zone);
    const needed = machines + endpoints;
    const what = `free addresses in ${wanted.id}`;
    const parts = `${machines} machine${machines === 1 ? '' : 's'}${endpoints > 0 ? ` and ${endpoints} endpoint interfaces` : ''}`;
    return subnet.AvailableIpAddressCount < needed
      ? [check('FAIL', what, `${needed} needed (${parts}), ${subnet.AvailableIpAddressCount} free; use a larger subnet or add subnets`)]
      : [check('PASS', what, `${needed} needed (${parts}), ${subnet.AvailableIpAddressCount} free`)];
  });
}

async function schedulerAddressCheck(ec2: EC2Client, network: NetworkConfig, address: string): Promise<Check> {
  const what = `scheduler address ${address}${network.schedulerAddress ? '' : ' (the default: the 10th address of the first subnet)'}`;
  const { NetworkInterfaces = [] } = await ec2.send(
    new DescribeNetworkInterfacesCommand({ Filters: [{ Name: 'vpc-id', Values: [network.vpcId] }, { Name: 'addresses.private-ip-address', Values: [address] }] }),
  );
  const holder = NetworkInterfaces[0];
  if (!holder) return check('PASS', what, 'free');
  const by = holder.Attachment?.InstanceId ? ` of instance ${holder.Attachment.InstanceId}` : '';
  return check('WARN', what, `in use by ${holder.NetworkInterfaceId}${by}: fine if that is this app's scheduler; otherwise set network.schedulerAddress to a free address`);
}
