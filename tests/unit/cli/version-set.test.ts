/**
 * The app's version set as the CLI reads it: parameters placed in the layout,
 * the current set chosen by time, its kinds merged (conflicts keep base's
 * version), its content checked, SSM's refusals as clear messages; and
 * `status` and `tls-client` going on without it when SSM refuses
 * (aws-sdk-client-mock: moto does not refuse).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { DescribeInstancesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { GetParametersByPathCommand, GetParametersCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { formatVersionSetLine, statusJsonRows, StatusRow } from '../../../lib/cli/commands/status';
import { CliError } from '../../../lib/cli/errors';
import { renderRequirementsFile } from '../../../lib/cli/tls-client';
import {
  appVersionSetOf,
  currentSetParameters,
  mergeVersionSetKinds,
  pinsOf,
  placeVersionSetParameter,
  readAppVersionSet,
  requirementsText,
  summarizeVersionSet,
  VersionSetParameter,
  versionSetReadError,
} from '../../../lib/cli/version-set';
import { runCaptured } from './support';

const ROOT = '/dasklab/lab1/python';
const OLD_SET = `${ROOT}/aaaaaaaaaaaa`;
const NEW_SET = `${ROOT}/bbbbbbbbbbbb`;

/** A parameter written at second `second` of a fixed minute. */
function parameter(name: string, value: string, second: number): VersionSetParameter {
  return { name, value, lastModified: new Date(Date.UTC(2026, 11, 2, 10, 0, second)) };
}

/** An AWS error as the SDK throws it. */
function awsError(name: string, message: string): Error {
  return Object.assign(new Error(message), { name, $metadata: { httpStatusCode: 400 } });
}

describe('placing parameters in the layout', () => {
  test('<root>/<12 hex>/<kind> gives the set path and kind', () => {
    // WHEN
    const placed = placeVersionSetParameter(ROOT, parameter(`${OLD_SET}/jupyter`, 'dask==1', 0));
    // THEN
    expect(placed).toMatchObject({ setPath: OLD_SET, kind: 'jupyter' });
  });

  test.each([
    ['another app', '/dasklab/lab10/python/aaaaaaaaaaaa/base'],
    ['a set name that is not 12 hex digits', `${ROOT}/AAAAAAAAAAAA/base`],
    ['a short set name', `${ROOT}/aaaa/base`],
    ['a kind this CLI does not know', `${OLD_SET}/gpu`],
    ['a deeper path', `${OLD_SET}/base/extra`],
    ['the set itself', OLD_SET],
  ])('%s is left out', (_what, name) => {
    expect(placeVersionSetParameter(ROOT, parameter(name, 'dask==1', 0))).toBeUndefined();
  });
});

describe('the current set', () => {
  test('is the set whose newest parameter was written last, whatever the names or the order', () => {
    // GIVEN the set with the greater name written first, the other after it
    const parameters = [
      parameter(`${NEW_SET}/base`, 'dask==1', 1),
      parameter(`${OLD_SET}/base`, 'dask==2', 5),
      parameter(`${NEW_SET}/jupyter`, 'dask==1', 3),
    ];
    // WHEN
    const current = currentSetParameters(ROOT, parameters);
    // THEN
    expect(current.map((p) => p.name)).toEqual([`${OLD_SET}/base`]);
  });

  test("a set's later kind makes it current, even when its first kind is older than another set", () => {
    // GIVEN OLD_SET's base before NEW_SET's base, and OLD_SET's jupyter after both
    const parameters = [parameter(`${OLD_SET}/base`, 'dask==1', 1), parameter(`${NEW_SET}/base`, 'dask==2', 2), parameter(`${OLD_SET}/jupyter`, 'dask==1', 3)];
    // WHEN
    const current = currentSetParameters(ROOT, parameters);
    // THEN
    expect(current.map((p) => p.name).sort()).toEqual([`${OLD_SET}/base`, `${OLD_SET}/jupyter`]);
  });

  test('two sets written at the same moment: the greater path, in any order', () => {
    const a = parameter(`${OLD_SET}/base`, 'dask==1', 1);
    const b = parameter(`${NEW_SET}/base`, 'dask==2', 1);
    expect(currentSetParameters(ROOT, [a, b]).map((p) => p.setPath)).toEqual([NEW_SET]);
    expect(currentSetParameters(ROOT, [b, a]).map((p) => p.setPath)).toEqual([NEW_SET]);
  });

  test('parameters outside the layout are not a set', () => {
    expect(currentSetParameters(ROOT, [parameter(`${ROOT}/notes`, 'dask==1', 9)])).toEqual([]);
  });
});

describe('merging the kinds', () => {
  test("base's packages, then jupyter's that base lacks, sorted by name", () => {
    // WHEN
    const merged = mergeVersionSetKinds({
      base: { numpy: '2.2.4', dask: '2024.12.1' },
      jupyter: { dask: '2024.12.1', jupyterlab: '4.3.4', numpy: '2.2.4' },
    });
    // THEN
    expect(Object.entries(merged.versions)).toEqual([
      ['dask', '2024.12.1'],
      ['jupyterlab', '4.3.4'],
      ['numpy', '2.2.4'],
    ]);
    expect(merged.conflicts).toEqual([]);
  });

  test("a version the kinds disagree on: base's kept, the conflict reported with both", () => {
    // WHEN
    const merged = mergeVersionSetKinds({
      base: { tornado: '6.3.3', dask: '2024.12.1', zict: '3.0.0' },
      jupyter: { tornado: '6.4.2', dask: '2024.12.1', zict: '2.2.0' },
    });
    // THEN
    expect(merged.versions).toEqual({ dask: '2024.12.1', tornado: '6.3.3', zict: '3.0.0' });
    expect(merged.conflicts).toEqual([
      { name: 'tornado', base: '6.3.3', jupyter: '6.4.2' },
      { name: 'zict', base: '3.0.0', jupyter: '2.2.0' },
    ]);
  });

  test("names compare as pip compares them: one package, base's spelling", () => {
    // WHEN
    const merged = mergeVersionSetKinds({ base: { 'typing_extensions': '4.12.2' }, jupyter: { 'Typing-Extensions': '4.13.0' } });
    // THEN
    expect(merged.versions).toEqual({ typing_extensions: '4.12.2' });
    expect(merged.conflicts).toEqual([{ name: 'typing_extensions', base: '4.12.2', jupyter: '4.13.0' }]);
  });

  test('a set with one kind only is that kind', () => {
    expect(mergeVersionSetKinds({ jupyter: { jupyterlab: '4.3.4' } })).toEqual({ versions: { jupyterlab: '4.3.4' }, conflicts: [] });
    expect(mergeVersionSetKinds({})).toEqual({ versions: {}, conflicts: [] });
  });
});

describe('the app version set from its parameters', () => {
  test('path, kinds, newest time, merged versions and conflicts of the current set', () => {
    // GIVEN an older set and the current one with both kinds
    const parameters = [
      parameter(`${OLD_SET}/base`, 'dask==2024.1.0\nnumpy==1.26.4\n', 1),
      parameter(`${NEW_SET}/jupyter`, 'dask==2024.12.1\njupyterlab==4.3.4\nnumpy==2.2.5\n', 4),
      parameter(`${NEW_SET}/base`, 'dask==2024.12.1\nnumpy==2.2.4\n', 2),
    ];
    // WHEN
    const set = appVersionSetOf('lab1', parameters);
    // THEN
    expect(set).toEqual({
      path: NEW_SET,
      kinds: ['base', 'jupyter'],
      lastModified: new Date(Date.UTC(2026, 11, 2, 10, 0, 4)),
      versions: { dask: '2024.12.1', jupyterlab: '4.3.4', numpy: '2.2.4' },
      conflicts: [{ name: 'numpy', base: '2.2.4', jupyter: '2.2.5' }],
    });
  });

  test('an app without parameters has no set', () => {
    expect(appVersionSetOf('lab1', [])).toBeUndefined();
  });

  test('a parameter without a single pin is a clear error naming it', () => {
    expect(() => pinsOf(parameter(`${NEW_SET}/base`, 'garbage\n', 1))).toThrow(
      new CliError(`the version set parameter ${NEW_SET}/base holds no \`name==version\` line; delete it, and the next machine to bootstrap shares its versions again.`),
    );
  });

  test.each([['1.0,>=0'], ['1.0;python_version>"3"'], ['\u001b[2J']])('a version %j that is not a plain version is refused, shown escaped', (version) => {
    // GIVEN a pin that would loosen the requirement, or reach the terminal as a control sequence
    const bad = parameter(`${NEW_SET}/base`, `dask==2024.12.1\nnumpy==${version}\n`, 1);
    // WHEN / THEN
    expect(() => appVersionSetOf('lab1', [bad])).toThrow(`pins numpy to ${JSON.stringify(version)}, which is not a version`);
  });

  test('versions pip freeze writes are accepted', () => {
    const pins = pinsOf(parameter(`${NEW_SET}/base`, 'a==1.0\nb==2.0.0rc1\nc==1.0.post1\nd==1!2.0\ne==1.0+local.7\nf==2024.12.1\n', 1));
    expect(Object.keys(pins)).toHaveLength(6);
  });
});

describe("SSM's errors as clear messages", () => {
  test('AccessDeniedException names the permission and the path it is needed on', () => {
    // WHEN
    const error = versionSetReadError(awsError('AccessDeniedException', 'User: arn:aws:iam::1:user/t is not authorized to perform: ssm:GetParametersByPath'), 'lab1');
    // THEN
    expect(error).toBeInstanceOf(CliError);
    expect(error?.message).toBe(
      'Not allowed to read the Python version set of app lab1 (AccessDeniedException: User: arn:aws:iam::1:user/t is not authorized to perform: ssm:GetParametersByPath). ' +
        'It takes ssm:GetParametersByPath on /dasklab/lab1/python (the parameter path arn:aws:ssm:<region>:<account>:parameter/dasklab/lab1/python).',
    );
  });

  test('expired credentials keep the common message and exit code', () => {
    const error = versionSetReadError(awsError('ExpiredTokenException', 'The security token included in the request is expired'), 'lab1');
    expect(error?.message).toMatch(/^AWS credentials are missing, expired or not valid/);
    expect(error?.exitCode).toBe(2);
  });

  test('any other answer of AWS is one line naming the app and the path', () => {
    const error = versionSetReadError(awsError('ThrottlingException', 'Rate exceeded\nmore'), 'lab1');
    expect(error?.message).toBe('Cannot read the Python version set of app lab1 under /dasklab/lab1/python (AWS error ThrottlingException: Rate exceeded).');
  });

  test('a bug is not dressed up as an AWS error', () => {
    expect(versionSetReadError(new TypeError('x is undefined'), 'lab1')).toBeUndefined();
  });
});

describe('what the commands show', () => {
  const set = {
    path: NEW_SET,
    kinds: ['base' as const],
    lastModified: new Date(0),
    versions: { Dask: '2024.12.1', cloudpickle: '3.1.0', numpy: '2.2.4' },
    conflicts: [],
  };

  test('the status line: path, dask and numpy, and the count', () => {
    expect(formatVersionSetLine(set)).toBe(`Python versions: ${NEW_SET} (dask 2024.12.1, numpy 2.2.4, 3 packages)`);
  });

  test('a set without dask or numpy: the count alone', () => {
    expect(summarizeVersionSet({ versions: { jupyterlab: '4.3.4' } })).toBe('1 package');
  });

  test('requirements.txt: every pin a line, sorted by name as pip compares them', () => {
    // WHEN
    const file = renderRequirementsFile({ versions: { numpy: '2.2.4', Jinja2: '3.1.5', dask: '2024.12.1', 'zope.interface': '7.2' } });
    // THEN
    expect(file).toEqual({ name: 'requirements.txt', mode: 0o644, content: 'dask==2024.12.1\nJinja2==3.1.5\nnumpy==2.2.4\nzope.interface==7.2\n' });
    expect(requirementsText({})).toBe('');
  });

  test('status --json rows: the set in every row, null without one, the reason when unreadable', () => {
    // GIVEN two rows
    const rows: StatusRow[] = [
      { machine: 'alice', instanceId: 'i-1', state: 'running', readiness: 'ready' },
      { machine: 'bob', instanceId: 'i-2', state: 'running', readiness: 'ready' },
    ];
    // WHEN / THEN
    expect(statusJsonRows(rows, { set }).map((r) => r.versionSet)).toEqual([set, set]);
    expect(statusJsonRows(rows, { set: undefined }).map((r) => [r.versionSet, 'versionSetError' in r])).toEqual([[null, false], [null, false]]);
    const failed = statusJsonRows(rows, { error: 'Not allowed' });
    expect(failed.map((r) => [r.versionSetError, 'versionSet' in r])).toEqual([['Not allowed', false], ['Not allowed', false]]);
    expect(failed[0]).toMatchObject(rows[0]);
  });
});

describe('commands when SSM refuses the version set', () => {
  const ec2Mock = mockClient(EC2Client);
  const ssmMock = mockClient(SSMClient);
  const denied = awsError('AccessDeniedException', 'User: arn:aws:iam::1:user/t is not authorized to perform: ssm:GetParametersByPath');
  const instance = (id: string, role: string, name: string) => ({
    InstanceId: id,
    InstanceType: 't3.medium' as const,
    State: { Name: 'running' as const },
    PrivateIpAddress: '10.0.0.5',
    Tags: [{ Key: 'dasklab:app', Value: 'lab1' }, { Key: 'dasklab:role', Value: role }, { Key: 'Name', Value: name }, { Key: 'dasklab:bootstrap', Value: 'ready' }],
  });

  beforeEach(() => {
    ec2Mock.reset();
    ssmMock.reset();
    ssmMock.on(GetParametersByPathCommand).rejects(denied);
  });

  afterAll(() => {
    ec2Mock.restore();
    ssmMock.restore();
  });

  test('status still shows the machines, and says why the set is not shown', async () => {
    // GIVEN a standalone machine, and SSM refusing the version-set path
    ec2Mock.on(DescribeInstancesCommand).resolves({ Reservations: [{ Instances: [instance('i-1', 'standalone', 'lab1-machine')] }] });
    // WHEN
    const text = await runCaptured(['status', '--app', 'lab1', '--region', 'eu-west-1']);
    const json = await runCaptured(['status', '--app', 'lab1', '--region', 'eu-west-1', '--json']);
    // THEN
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^MACHINE\s.*\nlab1-machine\s+standalone\s+-\s+i-1\s/);
    expect(text.stdout).not.toContain('Python versions');
    expect(text.stderr).toContain('Python versions not shown: Not allowed to read the Python version set of app lab1 (AccessDeniedException:');
    expect(text.stderr).toContain('It takes ssm:GetParametersByPath on /dasklab/lab1/python');
    expect(text.stderr).not.toMatch(/\n\s+at /);
    expect(json.code).toBe(0);
    const rows = JSON.parse(json.stdout);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ machine: 'lab1-machine', readiness: 'ready' });
    expect(rows[0].versionSet).toBeUndefined();
    expect(rows[0].versionSetError).toMatch(/^Not allowed to read the Python version set of app lab1/);
  });

  test('tls-client still writes the certificates, without requirements.txt, and says why', async () => {
    // GIVEN a cluster whose client material is readable, and SSM refusing the version-set path
    ec2Mock.on(DescribeInstancesCommand).resolves({ Reservations: [{ Instances: [instance('i-1', 'scheduler', 'lab1-scheduler')] }] });
    const pem = (label: string) => `-----BEGIN ${label}-----\nAAAA\n-----END ${label}-----\n`;
    ssmMock.on(GetParametersCommand).resolves({
      Parameters: [
        { Name: '/dasklab/lab1/cluster/tls/ca-cert', Value: pem('CERTIFICATE') },
        { Name: '/dasklab/lab1/cluster/tls/client-cert', Value: pem('CERTIFICATE') },
        { Name: '/dasklab/lab1/cluster/tls/client-key', Value: pem('PRIVATE KEY') },
      ],
    });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dasklab-version-set-'));
    try {
      // WHEN
      const out = path.join(dir, 'tls');
      const run = await runCaptured(['tls-client', '--out', out, '--app', 'lab1', '--region', 'eu-west-1']);
      // THEN
      expect(run.code).toBe(0);
      expect(fs.readdirSync(out).sort()).toEqual(['.dasklab-out', 'ca.pem', 'client-key.pem', 'client.pem', 'connect.py']);
      expect(run.stderr).toContain('No requirements.txt: Not allowed to read the Python version set of app lab1');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('the reader turns the refusal into a CliError', async () => {
    const ssm = new SSMClient({ region: 'eu-west-1' });
    await expect(readAppVersionSet(ssm, 'lab1')).rejects.toThrow(/^Not allowed to read the Python version set of app lab1/);
    ssm.destroy();
  });
});
