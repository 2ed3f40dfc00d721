/**
 * The program as a whole: help texts, and the expected errors (credentials
 * with aws-sdk-client-mock, since real missing credentials would make the SDK
 * probe instance metadata over the network).
 */
import { DescribeInstancesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { expectedErrorOf } from '../../../lib/cli/errors';
import { runCaptured } from './support';

const ec2Mock = mockClient(EC2Client);
beforeEach(() => ec2Mock.reset());

const COMMANDS = ['status', 'handouts', 'stop', 'start', 'reset', 'preflight', 'tunnel', 'open'];

describe('help', () => {
  test('--help lists every command and the global options', async () => {
    const run = await runCaptured(['--help']);
    expect(run.code).toBe(0);
    for (const command of COMMANDS) expect(run.stdout).toMatch(new RegExp(`^  ${command}\\b`, 'm'));
    for (const option of ['--app <name>', '--region <region>', '--json', '--config <file>']) expect(run.stdout).toContain(option);
  });

  test.each(COMMANDS)('%s --help has an example', async (command) => {
    const run = await runCaptured([command, '--help']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/\nExamples?:\n {2}\$ npx dasklab /);
  });

  test('an unknown command is an error with a hint', async () => {
    const run = await runCaptured(['statsu']);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("error: unknown command 'statsu'");
    expect(run.stderr).toContain('(Did you mean status?)');
  });
});

describe('credentials', () => {
  test.each([
    ['ExpiredToken', 'The security token included in the request is expired'],
    ['CredentialsProviderError', 'Could not load credentials from any providers'],
    ['UnrecognizedClientException', 'The security token included in the request is invalid.'],
    ['AuthFailure', 'AWS was not able to validate the provided access credentials'],
  ])('%s: one line saying how to fix it, exit 2', async (name, message) => {
    // GIVEN AWS refusing the caller's credentials
    ec2Mock.on(DescribeInstancesCommand).rejects(Object.assign(new Error(message), { name, $metadata: {} }));
    // WHEN
    const run = await runCaptured(['status', '--app', 'lab1', '--region', 'eu-west-1']);
    // THEN
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr.trim().split('\n')).toEqual([
      `dasklab: AWS credentials are missing, expired or not valid (${name}: ${message}). To fix: run \`aws sso login\` or \`aws configure\`, or set AWS_PROFILE (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY), then try again.`,
    ]);
  });

  test('stop with expired credentials reports once, not per machine', async () => {
    ec2Mock.on(DescribeInstancesCommand).resolvesOnce({
      Reservations: [{ Instances: [1, 2].map((n) => ({ InstanceId: `i-${n}`, State: { Name: 'running' }, Tags: [{ Key: 'Name', Value: `m${n}` }] })) }],
    });
    ec2Mock.rejects(Object.assign(new Error('The security token included in the request is expired'), { name: 'ExpiredToken', $metadata: {} }));
    const run = await runCaptured(['stop', '--all', '--app', 'lab1', '--region', 'eu-west-1']);
    expect(run.code).toBe(2);
    expect(run.stderr.match(/AWS credentials are missing/g)).toHaveLength(1);
  });
});

describe('other expected errors', () => {
  test('an AWS error is one line, no stack trace', async () => {
    ec2Mock.on(DescribeInstancesCommand).rejects(Object.assign(new Error('Request limit exceeded.'), { name: 'RequestLimitExceeded', $metadata: {} }));
    const run = await runCaptured(['status', '--app', 'lab1', '--region', 'eu-west-1']);
    expect(run.code).toBe(1);
    expect(run.stderr).toBe('dasklab: AWS error RequestLimitExceeded: Request limit exceeded.\n');
  });

  test('a missing permission names itself', () => {
    const error = expectedErrorOf(Object.assign(new Error('You are not authorized to perform this operation.'), { name: 'UnauthorizedOperation' }));
    expect(error?.message).toMatch(/^Not allowed by AWS \(UnauthorizedOperation\): You are not authorized/);
    expect(error?.exitCode).toBe(1);
  });

  test('an invalid --config is reported with its problems', async () => {
    const run = await runCaptured(['preflight', '--config', '/nonexistent/dasklab.json', '--region', 'eu-west-1']);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('dasklab: Cannot read dasklab config /nonexistent/dasklab.json:');
  });

  test.each([['a\u001b[2Jb'], ['../x'], ['Lab1'], ['']])('--app %j is refused before calling AWS, shown escaped', async (app) => {
    const run = await runCaptured(['status', '--app', app, '--region', 'eu-west-1']);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`--app: ${JSON.stringify(app)} is not accepted; expected 2 to 24 characters`);
    expect(run.stderr).not.toContain('\u001b');
    expect(ec2Mock.calls()).toHaveLength(0);
  });

  test('handouts refuses a non-empty --out before calling AWS', async () => {
    const run = await runCaptured(['handouts', '--out', __dirname, '--app', 'lab1', '--region', 'eu-west-1']);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`${__dirname} exists and is not empty; pass --force`);
    expect(ec2Mock.calls()).toHaveLength(0);
  });

  test.each([['.'], ['..'], ['/']])('handouts --out %s --force is refused before calling AWS, and nothing is touched', async (out) => {
    // GIVEN the repository as the current directory
    const before = require('fs').readdirSync(process.cwd()).sort();
    const run = await runCaptured(['handouts', '--out', out, '--force', '--app', 'lab1', '--region', 'eu-west-1']);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/ (is the current directory|holds the current directory|is the root directory); --out must name a directory of its own/);
    expect(ec2Mock.calls()).toHaveLength(0);
    expect(require('fs').readdirSync(process.cwd()).sort()).toEqual(before);
  });
});
