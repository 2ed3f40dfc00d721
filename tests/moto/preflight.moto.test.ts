/**
 * `preflight` against moto: the instance-type offering checks, from moto's
 * DescribeAvailabilityZones, DescribeInstanceTypeOfferings and
 * DescribeInstanceTypes. (moto has no EC2 vCPU quotas: those checks are unit
 * tests with aws-sdk-client-mock.)
 */
import * as fs from 'fs';
import * as path from 'path';
import { MotoServer, motoSkipReason, startMoto } from './moto-server';
import { cli, tempDir, useMotoEnvironment } from './support';

const skip = motoSkipReason();
if (skip) console.warn(skip);
const suite = skip ? describe.skip : describe;

suite('preflight against moto', () => {
  let moto: MotoServer;
  let restoreEnv: () => void;
  let tmp: { dir: string; remove: () => void };

  /** Writes a config file and returns its path. */
  function config(name: string, content: object): string {
    const file = path.join(tmp.dir, `${name}.json`);
    fs.writeFileSync(file, JSON.stringify(content));
    return file;
  }

  beforeAll(async () => {
    moto = await startMoto((line) => console.log(line));
    restoreEnv = useMotoEnvironment(moto.endpoint);
    tmp = tempDir();
  });

  afterAll(async () => {
    tmp?.remove();
    restoreEnv?.();
    await moto?.stop();
  });

  test('a type offered in both of the VPC zones passes', async () => {
    const file = config('ok', { name: 'ok', machine: { instanceType: 't3.medium' } });
    const run = await cli(['preflight', '--config', file, '--region', 'us-east-1']);
    expect(run.stdout).toContain('PASS  instance type t3.medium: offered in the VPC\'s zones us-east-1a, us-east-1b');
    expect(run.stdout).toMatch(/PASS {2}VPCs per Region \(L-F678F1CE\): \d+ exist \+ 1 = \d+ of 5/);
    expect(run.stdout).not.toContain('FAIL');
  });

  test('a type offered in the region but not in a zone the VPC places machines in fails', async () => {
    // GIVEN eu-west-1, where moto offers p4d.24xlarge in eu-west-1c only
    const file = config('gpu', {
      name: 'gpu',
      python: { packages: ['numpy', 'dask[complete]'] },
      cluster: { workers: 2, schedulerInstanceType: 't3.medium', workerInstanceType: 'p4d.24xlarge' },
    });
    // WHEN
    const run = await cli(['preflight', '--config', file, '--region', 'eu-west-1']);
    // THEN
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('PASS  instance type t3.medium: offered in the VPC\'s zones eu-west-1a, eu-west-1b');
    expect(run.stdout).toContain(
      'FAIL  instance type p4d.24xlarge: not offered in eu-west-1a, eu-west-1b, where the VPC places worker machines; offered in eu-west-1c. Choose another type or region',
    );
    expect(run.stdout).toMatch(/NOT OK: \d+ passed, \d+ warnings, 1 failed/);
  });

  test('a type not offered in the region at all fails, as JSON', async () => {
    // GIVEN af-south-1, where moto offers no m7g
    const file = config('arm', { name: 'arm', machine: { instanceType: 'm7g.large' } });
    const run = await cli(['preflight', '--config', file, '--region', 'af-south-1', '--json']);
    expect(run.code).toBe(1);
    const result = JSON.parse(run.stdout);
    expect(result).toMatchObject({ app: 'arm', region: 'af-south-1', ok: false });
    expect(result.checks).toContainEqual({
      status: 'FAIL',
      check: 'instance type m7g.large',
      detail: 'not offered in any availability zone of the region; choose another type for the standalone machines, or another region',
    });
    // No vCPU check for a type that cannot launch anyway
    expect(result.checks.some((c: { check: string }) => c.check.startsWith('vCPUs'))).toBe(false);
  });
});
