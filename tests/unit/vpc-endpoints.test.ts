import { Template } from 'aws-cdk-lib/assertions';
import { DasklabConfigInput } from '../../lib/config/schema';
import { endpointServicesFor } from '../../lib/network/vpc-endpoints';
import { onlyResource, synthApp, templateOf, userDataOf } from './support';
import { expectOneProblem } from './config-errors';
import { PRIVATE_NETWORK, ROUTED_NETWORK } from './network-fixtures';
const CODE_ARTIFACT = { domain: 'acme', repository: 'pypi-store' };

/** The service names of a template's endpoints, without the region: "ssm", "s3", ... */
function endpointsOf(template: Template): Array<{ service: string; type: string; properties: any }> {
  return Object.values(template.findResources('AWS::EC2::VPCEndpoint')).map((r: any) => ({
    service: JSON.stringify(r.Properties.ServiceName).replace(/.*com\.amazonaws\.(?:"?,?\{"Ref":"AWS::Region"\},?"?\.)?/, '').replace(/"\]\]\}"?$|"$/, ''),
    type: r.Properties.VpcEndpointType ?? 'Gateway',
    properties: r.Properties,
  }));
}

describe('VPC endpoints of an existing VPC', () => {
  test('GIVEN endpoints "create" WHEN synthesized THEN the endpoints the machines use are made: Session Manager, parameters, the self-tag, and S3 for the readiness signal', () => {
    // WHEN
    const endpoints = endpointsOf(templateOf('dasklab-Machine', { network: { ...ROUTED_NETWORK, endpoints: 'create' } }));
    // THEN
    expect(endpoints.map((e) => `${e.service}:${e.type}`).sort()).toEqual(['ec2:Interface', 'ec2messages:Interface', 's3:Gateway', 'ssm:Interface', 'ssmmessages:Interface']);
    for (const e of endpoints.filter((x) => x.type === 'Interface')) {
      // AND each answers at the service's own name (private DNS), in one subnet per zone, behind a group of its own
      expect(e.properties.PrivateDnsEnabled).toBe(true);
      expect(e.properties.VpcId).toBe(PRIVATE_NETWORK.vpcId);
      expect(e.properties.SubnetIds.sort()).toEqual(PRIVATE_NETWORK.subnets.map((s) => s.id).sort());
    }
    // AND the gateway endpoint is in the subnets' route tables
    const s3 = endpoints.find((e) => e.service === 's3')!;
    expect(s3.properties.RouteTableIds.sort()).toEqual(ROUTED_NETWORK.subnets.map((s) => s.routeTableId).sort());
  });

  test('GIVEN python.codeArtifact THEN its two endpoints are made too (the API for the token, the repositories for pip)', () => {
    const endpoints = endpointsOf(templateOf('dasklab-Machine', { network: { ...ROUTED_NETWORK, endpoints: 'create' }, python: { codeArtifact: CODE_ARTIFACT } }));
    expect(endpoints.map((e) => e.service)).toEqual(expect.arrayContaining(['codeartifact.api', 'codeartifact.repositories']));
    expect(endpointServicesFor({ codeArtifact: true })).toHaveLength(7);
  });

  test('THEN the endpoints admit HTTPS from the subnets only', () => {
    const template = templateOf('dasklab-Machine', { network: { ...ROUTED_NETWORK, endpoints: 'create' } });
    const groups = Object.values(template.findResources('AWS::EC2::SecurityGroup')).filter((g: any) => /endpoint/i.test(g.Properties.GroupDescription));
    expect(groups).toHaveLength(1);
    const ingress = (groups[0] as any).Properties.SecurityGroupIngress;
    expect(ingress.map((r: any) => `${r.CidrIp}:${r.FromPort}-${r.ToPort}`).sort()).toEqual(['10.20.1.0/24:443-443', '10.20.2.0/24:443-443']);
  });

  test('GIVEN two subnets in one zone THEN an interface endpoint takes the first of them (one per zone is all EC2 accepts)', () => {
    const network = { ...ROUTED_NETWORK, subnets: [ROUTED_NETWORK.subnets[0], { ...ROUTED_NETWORK.subnets[1], zone: 'eu-central-1a' }], endpoints: 'create' as const };
    const [ssm] = endpointsOf(templateOf('dasklab-Machine', { network })).filter((e) => e.service === 'ssm');
    expect(ssm.properties.SubnetIds).toEqual([ROUTED_NETWORK.subnets[0].id]);
  });

  test.each<[string, DasklabConfigInput]>([
    ['"existing"', { network: { ...PRIVATE_NETWORK, endpoints: 'existing' } }],
    ['"none"', { network: PRIVATE_NETWORK }],
  ])('GIVEN endpoints %s THEN no endpoint is made', (_what, input) => {
    for (const [, stack] of synthApp(input)) Template.fromStack(stack).resourceCountIs('AWS::EC2::VPCEndpoint', 0);
  });

  test('GIVEN a lab THEN the endpoints are made once, in the shared stack', () => {
    const stacks = synthApp({ lab: { roster: ['alice', 'bob'] }, network: { ...ROUTED_NETWORK, endpoints: 'create' } });
    const counts = [...stacks].map(([name, stack]) => [name, Object.keys(Template.fromStack(stack).findResources('AWS::EC2::VPCEndpoint')).length]).filter(([, n]) => n !== 0);
    expect(counts).toEqual([['dasklab-Lab-Shared', 5]]);
  });

  test('GIVEN endpoints and a proxy THEN AWS calls skip the proxy (they go to the endpoints) and the rest goes through it', () => {
    const template = templateOf('dasklab-Machine', { network: { ...ROUTED_NETWORK, endpoints: 'existing', proxy: 'http://proxy.corp.example:3128' } });
    const userData = userDataOf(onlyResource(template, 'AWS::EC2::Instance').resource);
    expect(userData).toMatch(/DASKLAB_NO_PROXY='169\.254\.169\.254,localhost,127\.0\.0\.1,\.amazonaws\.com'/);
  });
});

describe('network.endpoints: what is accepted', () => {
  test('GIVEN "create" and a subnet without its route table THEN the route table is asked for', () => {
    expectOneProblem({ network: { ...ROUTED_NETWORK, subnets: [ROUTED_NETWORK.subnets[0], PRIVATE_NETWORK.subnets[1]], endpoints: 'create' } }, 'network.subnets[1].routeTableId', 'S3 gateway endpoint');
  });

  test('GIVEN an unknown value THEN the three accepted ones are named', () => {
    expectOneProblem({ network: { ...PRIVATE_NETWORK, endpoints: 'all' } }, 'network.endpoints', '"create"', '"existing"', '"none"');
  });

  test('GIVEN "create" and a CodeArtifact domain of another region THEN it is refused: a VPC endpoint serves its own region only', () => {
    expectOneProblem(
      { network: { ...ROUTED_NETWORK, endpoints: 'create' }, python: { codeArtifact: { ...CODE_ARTIFACT, region: 'us-east-1' } } },
      'python.codeArtifact.region',
      'eu-central-1',
    );
  });
});

describe('machines wait for the endpoints they use', () => {
  // Until an interface endpoint exists, its private DNS name does not answer
  // and the bootstrap's AWS calls (which skip the proxy) would go to AWS's public endpoints.
  test.each<[string, DasklabConfigInput]>([
    ['a machine', {}],
    ['a cluster with spot workers', { cluster: { workers: 2, spot: true } }],
  ])('GIVEN endpoints "create" and %s WHEN synthesized THEN every machine depends on every endpoint', (_what, input) => {
    // GIVEN
    const config = { ...input, network: { ...ROUTED_NETWORK, endpoints: 'create' as const } };
    // WHEN
    const [stack] = [...synthApp(config).values()];
    const resources = Template.fromStack(stack).toJSON().Resources as Record<string, any>;
    const endpoints = Object.keys(resources).filter((id) => resources[id].Type === 'AWS::EC2::VPCEndpoint');
    const machines = Object.keys(resources).filter((id) => ['AWS::EC2::Instance', 'Custom::DasklabSpotMachine'].includes(resources[id].Type));
    // THEN
    expect(endpoints.length).toBeGreaterThan(0);
    expect(machines.length).toBe(Object.keys(input).length === 0 ? 1 : 3);
    for (const machine of machines) expect(resources[machine].DependsOn).toEqual(expect.arrayContaining(endpoints));
  });

  test('GIVEN a lab with endpoints "create" THEN each student stack deploys after the stack that makes them', () => {
    // GIVEN
    const stacks = synthApp({ lab: { roster: ['alice', 'bob'] }, network: { ...ROUTED_NETWORK, endpoints: 'create' } });
    const owner = [...stacks.values()].find((s) => Template.fromStack(s).findResources('AWS::EC2::VPCEndpoint') && Object.keys(Template.fromStack(s).findResources('AWS::EC2::VPCEndpoint')).length > 0)!;
    // THEN every stack with machines that is not the owner depends on it
    const withMachines = [...stacks.values()].filter((s) => s !== owner && Object.keys(Template.fromStack(s).findResources('AWS::EC2::Instance')).length > 0);
    expect(withMachines.length).toBeGreaterThan(0);
    for (const stack of withMachines) expect(stack.dependencies).toContain(owner);
  });

  test('GIVEN endpoints "existing" THEN machines depend on nothing of the network (only on the cleanup of the app\'s version sets)', () => {
    const [stack] = [...synthApp({ network: { ...PRIVATE_NETWORK, endpoints: 'existing' } }).values()];
    const resources = Template.fromStack(stack).toJSON().Resources as Record<string, any>;
    const instance = Object.values(resources).find((r) => r.Type === 'AWS::EC2::Instance');
    expect((instance.DependsOn ?? []).map((id: string) => resources[id].Type)).toEqual(['Custom::DasklabParameterPath']);
  });
});
