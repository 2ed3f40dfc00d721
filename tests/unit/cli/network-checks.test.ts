/**
 * The one network check moto cannot serve: the zones where AWS offers an
 * endpoint service (moto's DescribeVpcEndpointServices knows none of ssm,
 * ssmmessages, ec2messages and ec2, and offers what it knows in every zone).
 * The rest of the network checks run against moto
 * (tests/moto/preflight-network.moto.test.ts).
 */
import {
  DescribeNetworkInterfacesCommand,
  DescribeRouteTablesCommand,
  DescribeSubnetsCommand,
  DescribeVpcAttributeCommand,
  DescribeVpcEndpointServicesCommand,
  DescribeVpcEndpointsCommand,
  DescribeVpcsCommand,
  EC2Client,
} from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { networkChecks } from '../../../lib/cli/preflight/network-checks';
import { configOf } from '../support';
import { ROUTED_NETWORK } from '../network-fixtures';

describe('preflight: the zones of the endpoints to be made', () => {
  const ec2Mock = mockClient(EC2Client);
  beforeEach(() => {
    ec2Mock.reset();
    ec2Mock.on(DescribeVpcsCommand).resolves({ Vpcs: [{ VpcId: ROUTED_NETWORK.vpcId }] });
    ec2Mock.on(DescribeSubnetsCommand).resolves({ Subnets: [] });
    ec2Mock.on(DescribeRouteTablesCommand).resolves({ RouteTables: [] });
    ec2Mock.on(DescribeVpcEndpointsCommand).resolves({ VpcEndpoints: [] });
    ec2Mock.on(DescribeVpcAttributeCommand).resolves({ EnableDnsSupport: { Value: true }, EnableDnsHostnames: { Value: true } });
    ec2Mock.on(DescribeNetworkInterfacesCommand).resolves({ NetworkInterfaces: [] });
  });

  test('GIVEN a service not offered in the second subnet\'s zone THEN it is a FAIL naming the zone and where it is offered', async () => {
    // GIVEN ssm offered in eu-central-1a only, the others in both zones
    ec2Mock.on(DescribeVpcEndpointServicesCommand).callsFake((input) => ({
      ServiceDetails: [{ ServiceName: input.ServiceNames[0], AvailabilityZones: input.ServiceNames[0].endsWith('.ssm') ? ['eu-central-1a'] : ['eu-central-1a', 'eu-central-1b'] }],
    }));
    const network = configOf({ network: { ...ROUTED_NETWORK, endpoints: 'create' } }).network!;
    // WHEN
    const checks = await networkChecks(new EC2Client({ region: 'eu-central-1' }), { network, machines: [], codeArtifact: false });
    // THEN
    const zones = checks.filter((c) => c.check.startsWith('network: zones of endpoint'));
    expect(zones.filter((c) => c.status === 'FAIL')).toEqual([
      {
        status: 'FAIL',
        check: 'network: zones of endpoint com.amazonaws.eu-central-1.ssm',
        detail: 'not offered in eu-central-1b (offered in eu-central-1a); the deploy cannot place it in the subnets there. Use subnets in the offered zones, or set network.endpoints to "existing"',
      },
    ]);
    expect(zones.filter((c) => c.status === 'PASS').map((c) => c.check.replace('network: zones of endpoint com.amazonaws.eu-central-1.', ''))).toEqual(['ssmmessages', 'ec2messages', 'ec2']);
  });

  test('GIVEN the lookup is refused THEN it is a WARN, not a FAIL', async () => {
    ec2Mock.on(DescribeVpcEndpointServicesCommand).rejects(new Error('InvalidServiceName'));
    const network = configOf({ network: { ...ROUTED_NETWORK, endpoints: 'create' } }).network!;
    const checks = await networkChecks(new EC2Client({ region: 'eu-central-1' }), { network, machines: [], codeArtifact: false });
    expect(checks.filter((c) => c.check.startsWith('network: zones of endpoint')).map((c) => c.status)).toEqual(['WARN', 'WARN', 'WARN', 'WARN']);
  });
});
