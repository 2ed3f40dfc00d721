/**
 * `preflight`'s quota checks with EC2 served by moto: the VPCs, internet
 * gateways, key pairs and running instances it counts are real moto
 * resources. Only Service Quotas is mocked (aws-sdk-client-mock): moto
 * serves no EC2 vCPU, VPC or internet-gateway quota values.
 */
import {
  AttachInternetGatewayCommand,
  CreateInternetGatewayCommand,
  CreateKeyPairCommand,
  CreateTagsCommand,
  CreateVpcCommand,
  DescribeInternetGatewaysCommand,
  DescribeKeyPairsCommand,
  DescribeVpcsCommand,
  EC2Client,
  RunInstancesCommand,
} from '@aws-sdk/client-ec2';
import {
  GetAWSDefaultServiceQuotaCommand,
  GetServiceQuotaCommand,
  NoSuchResourceException,
  ServiceQuotasClient,
} from '@aws-sdk/client-service-quotas';
import { mockClient } from 'aws-sdk-client-mock';
import { ConfigSchema } from '../../lib/config';
import { deployPlan } from '../../lib/cli/preflight/deploy-plan';
import { Check, formatChecks, preflightExitCode, runPreflight } from '../../lib/cli/preflight/preflight';
import { TAG_APP } from '../../lib/tag-keys';
import { MotoServer, motoSkipReason, startMoto } from './moto-server';
import { useMotoEnvironment } from './support';

const skip = motoSkipReason();
if (skip) console.warn(skip);
const suite = skip ? describe.skip : describe;

/** A region of its own, so that other files' resources are not counted. */
const REGION = 'eu-west-1';

suite('preflight quotas, EC2 from moto', () => {
  let moto: MotoServer;
  let restoreEnv: () => void;
  let ec2: EC2Client;
  const quotasMock = mockClient(ServiceQuotasClient);
  /** What moto's region holds before the checks: counted from moto itself. */
  let existing: { vpcs: number; gateways: number; keyPairs: number };

  /** A cluster of 1 t3.medium scheduler (2 vCPUs) and 2 t3.large workers (2 vCPUs each). */
  const plan = deployPlan(ConfigSchema.parse({ name: 'team', cluster: { workers: 2, schedulerInstanceType: 't3.medium', workerInstanceType: 't3.large' } }));

  beforeAll(async () => {
    moto = await startMoto((line) => console.log(line));
    restoreEnv = useMotoEnvironment(moto.endpoint);
    ec2 = new EC2Client({ region: REGION, endpoint: moto.endpoint });
    // GIVEN a second VPC with an internet gateway, a key pair, another app's m5.xlarge (4 vCPUs),
    // one machine of the app itself and a GPU machine (another quota)
    const { Vpc } = await ec2.send(new CreateVpcCommand({ CidrBlock: '10.20.0.0/16' }));
    const { InternetGateway } = await ec2.send(new CreateInternetGatewayCommand({}));
    await ec2.send(new AttachInternetGatewayCommand({ InternetGatewayId: InternetGateway!.InternetGatewayId!, VpcId: Vpc!.VpcId! }));
    await ec2.send(new CreateKeyPairCommand({ KeyName: 'someone-else' }));
    const run = async (type: string, app?: string) => {
      const out = await ec2.send(new RunInstancesCommand({ ImageId: 'ami-12c6146b', InstanceType: type as any, MinCount: 1, MaxCount: 1 }));
      if (app) await ec2.send(new CreateTagsCommand({ Resources: [out.Instances![0].InstanceId!], Tags: [{ Key: TAG_APP, Value: app }] }));
    };
    await run('m5.xlarge');
    await run('t3.medium', 'team');
    await run('g5.xlarge');
    existing = {
      vpcs: (await ec2.send(new DescribeVpcsCommand({}))).Vpcs!.length,
      gateways: (await ec2.send(new DescribeInternetGatewaysCommand({}))).InternetGateways!.length,
      keyPairs: (await ec2.send(new DescribeKeyPairsCommand({}))).KeyPairs!.length,
    };
  });

  afterAll(async () => {
    restoreEnv?.();
    await moto?.stop();
  });

  beforeEach(() => quotasMock.reset());

  /** Service Quotas with the given applied values by quota code. */
  function quotas(values: Record<string, number>): void {
    for (const [code, value] of Object.entries(values)) {
      quotasMock.on(GetServiceQuotaCommand, { QuotaCode: code }).resolves({ Quota: { QuotaCode: code, Value: value } });
    }
  }

  async function preflight(forPlan = plan): Promise<Check[]> {
    return runPreflight({ ec2, quotas: new ServiceQuotasClient({ region: REGION }) }, forPlan, 'team');
  }

  const byName = (checks: Check[], prefix: string) => checks.find((c) => c.check.startsWith(prefix));

  test('pass: the deploy and what runs fit the quotas, counted from the region', async () => {
    // GIVEN a vCPU quota of 32 and room for VPCs and gateways
    quotas({ 'L-1216C47A': 32, 'L-F678F1CE': existing.vpcs + 1, 'L-A4707A72': existing.gateways + 1 });
    // WHEN
    const checks = await preflight();
    // THEN the other app's m5.xlarge counts, the app's own machine and the GPU machine do not
    expect(preflightExitCode(checks)).toBe(0);
    expect(byName(checks, 'vCPUs')).toEqual({
      status: 'PASS',
      check: 'vCPUs: Running On-Demand Standard (A, C, D, H, I, M, R, T, Z) instances (L-1216C47A)',
      detail: '6 vCPUs needed (1 x t3.medium + 2 x t3.large) + 4 running, not counting the 1 of app "team" itself = 10 of 32',
    });
    expect(formatChecks(checks)).toEqual(
      expect.arrayContaining([
        `PASS  VPCs per Region (L-F678F1CE): ${existing.vpcs} exist + 1 = ${existing.vpcs + 1} of ${existing.vpcs + 1}`,
        `PASS  Internet gateways per Region (L-A4707A72): ${existing.gateways} exist + 1 = ${existing.gateways + 1} of ${existing.gateways + 1}`,
        `PASS  Key pairs per Region: ${existing.keyPairs} exist + 3 = ${existing.keyPairs + 3} of 5000`,
      ]),
    );
    expect(existing.vpcs).toBeGreaterThanOrEqual(2);
    expect(existing.keyPairs).toBeGreaterThanOrEqual(1);
  });

  test('fail: the vCPU quota is too small, exit 1', async () => {
    quotas({ 'L-1216C47A': 8, 'L-F678F1CE': 50, 'L-A4707A72': 50 });
    const checks = await preflight();
    expect(preflightExitCode(checks)).toBe(1);
    expect(byName(checks, 'vCPUs')!.detail).toBe(
      'the deploy needs 6 vCPUs (1 x t3.medium + 2 x t3.large) and 4 already run, not counting the 1 of app "team" itself: 10 > quota 8. Request an increase in the Service Quotas console, or use fewer or smaller machines',
    );
  });

  test('fail: no room for another VPC', async () => {
    quotas({ 'L-1216C47A': 32, 'L-F678F1CE': existing.vpcs, 'L-A4707A72': 50 });
    const checks = await preflight();
    expect(byName(checks, 'VPCs per Region')).toMatchObject({
      status: 'FAIL',
      detail: `${existing.vpcs} exist, the deploy adds 1: ${existing.vpcs + 1} > quota ${existing.vpcs}. Delete unused ones or request an increase`,
    });
    expect(preflightExitCode(checks)).toBe(1);
  });

  test('no applied value: AWS default quota is used', async () => {
    quotas({ 'L-F678F1CE': 50, 'L-A4707A72': 50 });
    quotasMock.on(GetServiceQuotaCommand, { QuotaCode: 'L-1216C47A' }).rejects(new NoSuchResourceException({ message: 'no applied quota', $metadata: {} }));
    quotasMock.on(GetAWSDefaultServiceQuotaCommand, { QuotaCode: 'L-1216C47A' }).resolves({ Quota: { Value: 5 } });
    const checks = await preflight();
    expect(byName(checks, 'vCPUs')).toMatchObject({ status: 'FAIL' });
    expect(byName(checks, 'vCPUs')!.detail).toContain('10 > quota 5');
  });

  test('a quota that cannot be read is a warning, not a failure', async () => {
    quotas({ 'L-F678F1CE': 50, 'L-A4707A72': 50 });
    const denied = Object.assign(new Error('User is not authorized to perform servicequotas:GetServiceQuota'), { name: 'AccessDeniedException', $metadata: {} });
    quotasMock.on(GetServiceQuotaCommand, { QuotaCode: 'L-1216C47A' }).rejects(denied);
    const checks = await preflight();
    expect(byName(checks, 'vCPUs')).toMatchObject({ status: 'WARN', detail: expect.stringContaining('cannot read the quota (AccessDeniedException: User is not authorized') });
    expect(preflightExitCode(checks)).toBe(0);
  });

  test('spot workers count against the Spot quota', async () => {
    quotas({ 'L-1216C47A': 32, 'L-34B43A08': 2, 'L-F678F1CE': 50, 'L-A4707A72': 50 });
    const spotPlan = deployPlan(ConfigSchema.parse({ name: 'team', cluster: { workers: 2, workerInstanceType: 't3.large', spot: true } }));
    const checks = await preflight(spotPlan);
    expect(checks.filter((c) => c.check.startsWith('vCPUs')).map((c) => [c.status, c.check.replace(/ \(.*$/, '')])).toEqual([
      ['PASS', 'vCPUs: Running On-Demand Standard'],
      ['FAIL', 'vCPUs: All Standard'],
    ]);
  });
});
