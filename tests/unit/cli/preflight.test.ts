/**
 * preflight's quota checks with aws-sdk-client-mock: moto has no EC2 vCPU
 * quotas, so Service Quotas (and the EC2 answers around it) are mocked here.
 */
import {
  DescribeAvailabilityZonesCommand,
  DescribeInstancesCommand,
  DescribeInstanceTypeOfferingsCommand,
  DescribeInstanceTypesCommand,
  DescribeInternetGatewaysCommand,
  DescribeKeyPairsCommand,
  DescribeVpcsCommand,
  EC2Client,
} from '@aws-sdk/client-ec2';
import {
  GetAWSDefaultServiceQuotaCommand,
  GetServiceQuotaCommand,
  NoSuchResourceException,
  ServiceQuotasClient,
} from '@aws-sdk/client-service-quotas';
import { mockClient } from 'aws-sdk-client-mock';
import { ConfigSchema } from '../../../lib/config';
import { deployPlan } from '../../../lib/cli/preflight/deploy-plan';
import { Check, formatChecks, preflightExitCode, runPreflight } from '../../../lib/cli/preflight/preflight';

const ec2Mock = mockClient(EC2Client);
const quotasMock = mockClient(ServiceQuotasClient);

/** A cluster of 1 t3.medium scheduler (2 vCPUs) and 2 t3.large workers (2 vCPUs each). */
const plan = deployPlan(ConfigSchema.parse({ name: 'team', cluster: { workers: 2, schedulerInstanceType: 't3.medium', workerInstanceType: 't3.large' } }));

/** EC2 as a region with two zones offering both types, one other app's m5.xlarge running and one of the app's own. */
function regionWithTwoZones(): void {
  ec2Mock.on(DescribeAvailabilityZonesCommand).resolves({ AvailabilityZones: [{ ZoneName: 'eu-west-1b' }, { ZoneName: 'eu-west-1a' }, { ZoneName: 'eu-west-1c' }] });
  ec2Mock.on(DescribeInstanceTypeOfferingsCommand).resolves({
    InstanceTypeOfferings: ['eu-west-1a', 'eu-west-1b'].flatMap((az) => [
      { InstanceType: 't3.medium', Location: az },
      { InstanceType: 't3.large', Location: az },
    ]),
  });
  ec2Mock.on(DescribeInstancesCommand).resolves({
    Reservations: [
      { Instances: [{ InstanceId: 'i-other', InstanceType: 'm5.xlarge', State: { Name: 'running' } }] },
      { Instances: [{ InstanceId: 'i-own', InstanceType: 't3.medium', State: { Name: 'running' }, Tags: [{ Key: 'dasklab:app', Value: 'team' }] }] },
      { Instances: [{ InstanceId: 'i-gpu', InstanceType: 'g5.xlarge', State: { Name: 'running' } }] }, // another quota: not counted
    ],
  });
  ec2Mock.on(DescribeInstanceTypesCommand).callsFake((input: { InstanceTypes?: string[] }) => ({
    InstanceTypes: (input.InstanceTypes ?? []).map((t) => ({ InstanceType: t, VCpuInfo: { DefaultVCpus: t === 'm5.xlarge' ? 4 : 2 } })),
  }));
  ec2Mock.on(DescribeVpcsCommand).resolves({ Vpcs: [{ VpcId: 'vpc-1' }, { VpcId: 'vpc-2' }] });
  ec2Mock.on(DescribeInternetGatewaysCommand).resolves({ InternetGateways: [{ InternetGatewayId: 'igw-1' }] });
  ec2Mock.on(DescribeKeyPairsCommand).resolves({ KeyPairs: [{ KeyName: 'k' }] });
}

/** Service Quotas with the given applied values by quota code. */
function quotas(values: Record<string, number>): void {
  for (const [code, value] of Object.entries(values)) {
    quotasMock.on(GetServiceQuotaCommand, { QuotaCode: code }).resolves({ Quota: { QuotaCode: code, Value: value } });
  }
}

async function preflight(): Promise<Check[]> {
  const clients = { ec2: new EC2Client({ region: 'eu-west-1' }), quotas: new ServiceQuotasClient({ region: 'eu-west-1' }) };
  return runPreflight(clients, plan, 'team');
}

const byName = (checks: Check[], prefix: string) => checks.find((c) => c.check.startsWith(prefix));

beforeEach(() => {
  ec2Mock.reset();
  quotasMock.reset();
  regionWithTwoZones();
});

describe('preflight quotas', () => {
  test('pass: the deploy and what runs fit the vCPU quota', async () => {
    // GIVEN a standard vCPU quota of 32 and room for a VPC
    quotas({ 'L-1216C47A': 32, 'L-F678F1CE': 5, 'L-A4707A72': 5 });
    // WHEN
    const checks = await preflight();
    // THEN
    expect(preflightExitCode(checks)).toBe(0);
    expect(byName(checks, 'vCPUs')).toEqual({
      status: 'PASS',
      check: 'vCPUs: Running On-Demand Standard (A, C, D, H, I, M, R, T, Z) instances (L-1216C47A)',
      detail: '6 vCPUs needed (1 x t3.medium + 2 x t3.large) + 4 running, not counting the 1 of app "team" itself = 10 of 32',
    });
    expect(formatChecks(checks)).toEqual([
      "PASS  instance type t3.medium: offered in the VPC's zones eu-west-1a, eu-west-1b",
      "PASS  instance type t3.large: offered in the VPC's zones eu-west-1a, eu-west-1b",
      expect.stringMatching(/^PASS {2}vCPUs: /),
      'PASS  VPCs per Region (L-F678F1CE): 2 exist + 1 = 3 of 5',
      'PASS  Internet gateways per Region (L-A4707A72): 1 exist + 1 = 2 of 5',
      'PASS  Key pairs per Region: 1 exist + 3 = 4 of 5000',
      'PASS  EC2-VPC Elastic IPs (L-0263D0A3): not used: machines get a public IPv4 address from their subnet',
      "PASS  Security groups per VPC: 5 in the deploy's own new VPC, far below the quota",
    ]);
  });

  test('fail: the vCPU quota is too small, exit 1', async () => {
    // GIVEN a new account's quota of 8 vCPUs
    quotas({ 'L-1216C47A': 8, 'L-F678F1CE': 5, 'L-A4707A72': 5 });
    // WHEN
    const checks = await preflight();
    // THEN
    expect(preflightExitCode(checks)).toBe(1);
    const vcpus = byName(checks, 'vCPUs')!;
    expect(vcpus.status).toBe('FAIL');
    expect(vcpus.detail).toBe(
      'the deploy needs 6 vCPUs (1 x t3.medium + 2 x t3.large) and 4 already run, not counting the 1 of app "team" itself: 10 > quota 8. Request an increase in the Service Quotas console, or use fewer or smaller machines',
    );
  });

  test('fail: no room for another VPC', async () => {
    quotas({ 'L-1216C47A': 32, 'L-F678F1CE': 2, 'L-A4707A72': 5 });
    const checks = await preflight();
    expect(byName(checks, 'VPCs per Region')).toMatchObject({ status: 'FAIL', detail: '2 exist, the deploy adds 1: 3 > quota 2. Delete unused ones or request an increase' });
    expect(preflightExitCode(checks)).toBe(1);
  });

  test('no applied value: AWS default quota is used', async () => {
    // GIVEN an account that never changed the quota (GetServiceQuota: NoSuchResource)
    quotas({ 'L-F678F1CE': 5, 'L-A4707A72': 5 });
    quotasMock
      .on(GetServiceQuotaCommand, { QuotaCode: 'L-1216C47A' })
      .rejects(new NoSuchResourceException({ message: 'no applied quota', $metadata: {} }));
    quotasMock.on(GetAWSDefaultServiceQuotaCommand, { QuotaCode: 'L-1216C47A' }).resolves({ Quota: { Value: 5 } });
    // WHEN
    const checks = await preflight();
    // THEN the default of 5 vCPUs is too small for 10
    expect(byName(checks, 'vCPUs')).toMatchObject({ status: 'FAIL' });
    expect(byName(checks, 'vCPUs')!.detail).toContain('10 > quota 5');
  });

  test('a quota that cannot be read is a warning, not a failure', async () => {
    quotas({ 'L-F678F1CE': 5, 'L-A4707A72': 5 });
    const denied = Object.assign(new Error('User is not authorized to perform servicequotas:GetServiceQuota'), { name: 'AccessDeniedException', $metadata: {} });
    quotasMock.on(GetServiceQuotaCommand, { QuotaCode: 'L-1216C47A' }).rejects(denied);
    const checks = await preflight();
    expect(byName(checks, 'vCPUs')).toMatchObject({
      status: 'WARN',
      detail: expect.stringContaining('cannot read the quota (AccessDeniedException: User is not authorized'),
    });
    expect(preflightExitCode(checks)).toBe(0);
  });

  test('spot workers count against the Spot quota', async () => {
    quotas({ 'L-1216C47A': 32, 'L-34B43A08': 2, 'L-F678F1CE': 5, 'L-A4707A72': 5 });
    const spotPlan = deployPlan(ConfigSchema.parse({ name: 'team', cluster: { workers: 2, workerInstanceType: 't3.large', spot: true } }));
    const clients = { ec2: new EC2Client({ region: 'eu-west-1' }), quotas: new ServiceQuotasClient({ region: 'eu-west-1' }) };
    const checks = await runPreflight(clients, spotPlan, 'team');
    expect(checks.filter((c) => c.check.startsWith('vCPUs')).map((c) => [c.status, c.check.replace(/ \(.*$/, '')])).toEqual([
      ['PASS', 'vCPUs: Running On-Demand Standard'],
      ['FAIL', 'vCPUs: All Standard'],
    ]);
  });
});
