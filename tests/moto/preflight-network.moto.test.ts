/**
 * `preflight` of a config with an existing VPC, against moto: the subnets
 * exist and belong to the VPC, a way out (a NAT gateway's route, or the
 * proxy) for the package index, the VPC endpoints present or to be made,
 * DNS support for their private names, free addresses for the machines.
 */
import {
  CreateNatGatewayCommand,
  CreateNetworkInterfaceCommand,
  CreateRouteCommand,
  CreateRouteTableCommand,
  CreateSubnetCommand,
  CreateVpcCommand,
  CreateVpcEndpointCommand,
  DescribeRouteTablesCommand,
  EC2Client,
  ModifyVpcAttributeCommand,
  AllocateAddressCommand,
} from '@aws-sdk/client-ec2';
import * as fs from 'fs';
import * as path from 'path';
import { MotoServer, motoSkipReason, startMoto } from './moto-server';
import { cli, REGION, tempDir, useMotoEnvironment } from './support';

const skip = motoSkipReason();
if (skip) console.warn(skip);
const suite = skip ? describe.skip : describe;

interface TestVpc {
  vpcId: string;
  routeTableId: string;
  subnets: Array<{ id: string; zone: string; cidr: string }>;
}

suite('preflight of an existing VPC, against moto', () => {
  let moto: MotoServer;
  let restoreEnv: () => void;
  let tmp: { dir: string; remove: () => void };
  let ec2: EC2Client;

  beforeAll(async () => {
    moto = await startMoto((line) => console.log(line));
    restoreEnv = useMotoEnvironment(moto.endpoint);
    tmp = tempDir();
    ec2 = new EC2Client({ region: REGION, endpoint: moto.endpoint });
  });

  afterAll(async () => {
    ec2?.destroy();
    tmp?.remove();
    restoreEnv?.();
    await moto?.stop();
  });

  /** A VPC with two private subnets (no route out) and the VPC's main route table. */
  async function privateVpc(cidrPrefix: string): Promise<TestVpc> {
    const { Vpc } = await ec2.send(new CreateVpcCommand({ CidrBlock: `${cidrPrefix}.0.0/16` }));
    const vpcId = Vpc!.VpcId!;
    const subnets = [];
    for (const [i, zone] of [`${REGION}a`, `${REGION}b`].entries()) {
      const cidr = `${cidrPrefix}.${i + 1}.0/24`;
      const { Subnet } = await ec2.send(new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: cidr, AvailabilityZone: zone }));
      subnets.push({ id: Subnet!.SubnetId!, zone, cidr });
    }
    const { RouteTables = [] } = await ec2.send(new DescribeRouteTablesCommand({ Filters: [{ Name: 'vpc-id', Values: [vpcId] }] }));
    return { vpcId, routeTableId: RouteTables[0].RouteTableId!, subnets };
  }

  function configFile(name: string, network: object, rest: object = {}): string {
    const file = path.join(tmp.dir, `${name}.json`);
    fs.writeFileSync(file, JSON.stringify({ name, network, ...rest }));
    return file;
  }

  test('GIVEN a VPC without a route out and with only one of the endpoints the machines use WHEN preflight runs THEN it reports both, and the DNS names they need', async () => {
    // GIVEN private subnets whose route table has only the local route, and an ssm endpoint only
    const vpc = await privateVpc('10.31');
    await ec2.send(
      new CreateVpcEndpointCommand({ VpcId: vpc.vpcId, ServiceName: `com.amazonaws.${REGION}.ssm`, VpcEndpointType: 'Interface', SubnetIds: vpc.subnets.map((s) => s.id), PrivateDnsEnabled: true }),
    );
    const file = configFile('lacking', { vpcId: vpc.vpcId, subnets: vpc.subnets, endpoints: 'existing' });
    // WHEN
    const run = await cli(['preflight', '--config', file, '--region', REGION]);
    // THEN the missing way out is a FAIL, naming the subnets' route table and the remedies
    expect(run.code).toBe(1);
    expect(run.stdout).toContain(
      `FAIL  network: way out of ${vpc.subnets[0].id}: its route table ${vpc.routeTableId} has no route to 0.0.0.0/0, and network.proxy is not set: the machines cannot reach the package index and the apt archive. Add a route to a NAT gateway, or set network.proxy`,
    );
    // AND every missing endpoint is a FAIL of its own; the one present passes
    for (const service of ['ssmmessages', 'ec2messages', 'ec2']) {
      expect(run.stdout).toContain(`FAIL  network: endpoint com.amazonaws.${REGION}.${service}: missing in ${vpc.vpcId}`);
    }
    expect(run.stdout).toContain(`FAIL  network: endpoint com.amazonaws.${REGION}.s3: missing in ${vpc.vpcId}`);
    expect(run.stdout).toMatch(new RegExp(`PASS {2}network: endpoint com\\.amazonaws\\.${REGION}\\.ssm: vpce-`));
    // AND the subnets are found in the VPC, with room for the machine
    expect(run.stdout).toContain(`PASS  network: subnet ${vpc.subnets[0].id}: in ${vpc.vpcId}, ${vpc.subnets[0].zone}, ${vpc.subnets[0].cidr}`);
    expect(run.stdout).toMatch(new RegExp(`PASS {2}network: free addresses in ${vpc.subnets[0].id}: 1 needed \\(1 machine\\), 2\\d\\d free`));
    // AND a new VPC's DNS hostnames are off, which private DNS of interface endpoints needs
    expect(run.stdout).toContain(`FAIL  network: DNS of ${vpc.vpcId}: enableDnsHostnames is off`);
    // AND no VPC is counted against the quota: the deploy makes none
    expect(run.stdout).toMatch(/PASS {2}VPCs per Region \(L-F678F1CE\): \d+ exist \+ 0 = /);
  });

  test('GIVEN a NAT gateway route, DNS on and endpoints to be made WHEN preflight runs THEN the network passes', async () => {
    // GIVEN
    const vpc = await privateVpc('10.32');
    const { AllocationId } = await ec2.send(new AllocateAddressCommand({ Domain: 'vpc' }));
    const { NatGateway } = await ec2.send(new CreateNatGatewayCommand({ SubnetId: vpc.subnets[0].id, AllocationId }));
    await ec2.send(new CreateRouteCommand({ RouteTableId: vpc.routeTableId, DestinationCidrBlock: '0.0.0.0/0', NatGatewayId: NatGateway!.NatGatewayId }));
    await ec2.send(new ModifyVpcAttributeCommand({ VpcId: vpc.vpcId, EnableDnsHostnames: { Value: true } }));
    const subnets = vpc.subnets.map((s) => ({ ...s, routeTableId: vpc.routeTableId }));
    const file = configFile('routed', { vpcId: vpc.vpcId, subnets, endpoints: 'create' });
    // WHEN
    const run = await cli(['preflight', '--config', file, '--region', REGION]);
    // THEN
    expect(run.stdout).toContain(`PASS  network: way out of ${vpc.subnets[0].id}: ${vpc.routeTableId} routes 0.0.0.0/0 to NAT gateway ${NatGateway!.NatGatewayId}`);
    expect(run.stdout).toContain(`PASS  network: endpoint com.amazonaws.${REGION}.ssmmessages: made by the deploy`);
    expect(run.stdout).toContain(`PASS  network: DNS of ${vpc.vpcId}: enableDnsSupport and enableDnsHostnames are on`);
    expect(run.stdout.split('\n').filter((l) => l.startsWith('FAIL'))).toEqual([]);
  });

  test('GIVEN a subnet of another VPC and one that does not exist THEN each is a FAIL naming it', async () => {
    const vpc = await privateVpc('10.33');
    const other = await privateVpc('10.34');
    const file = configFile('strays', {
      vpcId: vpc.vpcId,
      subnets: [vpc.subnets[0], other.subnets[1], { id: 'subnet-0fffffffffffffff0', zone: `${REGION}c`, cidr: '10.33.9.0/24' }],
      proxy: 'http://proxy.corp.example:3128',
    });
    const run = await cli(['preflight', '--config', file, '--region', REGION]);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain(`FAIL  network: subnet ${other.subnets[1].id}: belongs to ${other.vpcId}, not to ${vpc.vpcId}`);
    expect(run.stdout).toContain(`FAIL  network: subnet subnet-0fffffffffffffff0: does not exist in ${REGION}`);
    // AND with a proxy, a subnet without a route out passes: the proxy is the way out
    expect(run.stdout).toContain(`PASS  network: way out of ${vpc.subnets[0].id}: through the proxy http://proxy.corp.example:3128 (network.proxy)`);
  });

  test('GIVEN a subnet whose configured route table is not its route table THEN it is a FAIL naming both', async () => {
    // GIVEN a route table of the VPC that the subnet does not use (it uses the main table)
    const vpc = await privateVpc('10.35');
    const { RouteTable } = await ec2.send(new CreateRouteTableCommand({ VpcId: vpc.vpcId }));
    const subnets = [{ ...vpc.subnets[0], routeTableId: RouteTable!.RouteTableId! }];
    const file = configFile('wrongtable', { vpcId: vpc.vpcId, subnets, endpoints: 'create', proxy: 'http://proxy.corp.example:3128' });
    // WHEN
    const run = await cli(['preflight', '--config', file, '--region', REGION]);
    // THEN the S3 gateway endpoint (the readiness signal's way) would go on a table the subnet does not use
    expect(run.code).toBe(1);
    expect(run.stdout).toContain(`FAIL  network: subnet ${vpc.subnets[0].id}: its route table is ${vpc.routeTableId}, not ${RouteTable!.RouteTableId}`);
  });

  test('GIVEN an S3 gateway endpoint already in the subnets\' route table and endpoints "create" THEN it is a FAIL: the deploy\'s own would be refused', async () => {
    // GIVEN a gateway endpoint for S3 in the table the subnets use
    const vpc = await privateVpc('10.36');
    const { VpcEndpoint } = await ec2.send(
      new CreateVpcEndpointCommand({ VpcId: vpc.vpcId, ServiceName: `com.amazonaws.${REGION}.s3`, VpcEndpointType: 'Gateway', RouteTableIds: [vpc.routeTableId] }),
    );
    const subnets = vpc.subnets.map((s) => ({ ...s, routeTableId: vpc.routeTableId }));
    const file = configFile('s3twice', { vpcId: vpc.vpcId, subnets, endpoints: 'create', proxy: 'http://proxy.corp.example:3128' });
    // WHEN
    const run = await cli(['preflight', '--config', file, '--region', REGION]);
    // THEN
    expect(run.code).toBe(1);
    expect(run.stdout).toContain(
      `FAIL  network: endpoint com.amazonaws.${REGION}.s3: ${VpcEndpoint!.VpcEndpointId} is already in the route tables ${vpc.routeTableId}, which hold one route per service, so the deploy's would fail; set network.endpoints to "existing"`,
    );
  });

  test('GIVEN only an S3 interface endpoint and endpoints "existing" THEN the gateway endpoint the readiness signal uses is missing', async () => {
    // GIVEN
    const vpc = await privateVpc('10.37');
    await ec2.send(new CreateVpcEndpointCommand({ VpcId: vpc.vpcId, ServiceName: `com.amazonaws.${REGION}.s3`, VpcEndpointType: 'Interface', SubnetIds: [vpc.subnets[0].id] }));
    const file = configFile('s3interface', { vpcId: vpc.vpcId, subnets: vpc.subnets, endpoints: 'existing', proxy: 'http://proxy.corp.example:3128' });
    // WHEN
    const run = await cli(['preflight', '--config', file, '--region', REGION]);
    // THEN
    expect(run.stdout).toContain(`FAIL  network: endpoint com.amazonaws.${REGION}.s3: missing in ${vpc.vpcId}`);
  });

  test('GIVEN a cluster without network.schedulerAddress and its default address taken THEN preflight says so, naming the default', async () => {
    // GIVEN an interface at the 10th address of the first subnet
    const vpc = await privateVpc('10.38');
    const { NetworkInterface } = await ec2.send(new CreateNetworkInterfaceCommand({ SubnetId: vpc.subnets[0].id, PrivateIpAddress: '10.38.1.10' }));
    const file = configFile('taken', { vpcId: vpc.vpcId, subnets: vpc.subnets, proxy: 'http://proxy.corp.example:3128' }, { cluster: { workers: 1 } });
    // WHEN
    const run = await cli(['preflight', '--config', file, '--region', REGION]);
    // THEN
    expect(run.stdout).toContain(
      `WARN  network: scheduler address 10.38.1.10 (the default: the 10th address of the first subnet): in use by ${NetworkInterface!.NetworkInterfaceId}: fine if that is this app's scheduler; otherwise set network.schedulerAddress to a free address`,
    );
  });
});
