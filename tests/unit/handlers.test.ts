/**
 * The custom-resource handlers' runtime logic, as it runs in Lambda on
 * Create, Update and Delete: the exact EC2 and SSM calls (mocked with
 * aws-sdk-client-mock) and the answer PUT to CloudFormation. No app is
 * synthesized, so these run in seconds; they are the tests of the mutation
 * testing module `handlers` (tests/mutation/modules.mjs).
 *
 * The EC2 waiters are the SDK's own, run against the mocked client; only
 * their delay between polls is shortened (the handler's 5 s becomes 1 ms),
 * and the time budget the handler gives them is recorded.
 */
import * as http from 'http';
import * as https from 'https';
import { AddressInfo } from 'net';
import {
  CancelSpotInstanceRequestsCommand,
  CreateTagsCommand,
  DeleteTagsCommand,
  DescribeInstancesCommand,
  EC2Client,
  RunInstancesCommand,
  TerminateInstancesCommand,
  waitUntilInstanceRunning,
  waitUntilInstanceTerminated,
} from '@aws-sdk/client-ec2';
import { DeleteParametersCommand, GetParametersByPathCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { customResourceHandler, CustomResourceEvent } from '../../lib/handlers/custom-resource';
import { deleteParametersUnder, handleParameterPath, handler as parameterPathHandler } from '../../lib/handlers/parameter-path';
import { changesInPlace, handleSpotMachine, handler as spotMachineHandler } from '../../lib/handlers/spot-machine';

// https.request recorded, and able to carry one PUT over plain http to the local server.
jest.mock('https', () => {
  const actual = jest.requireActual('https');
  return { ...actual, request: jest.fn((...args: any[]) => actual.request(...args)) };
});
jest.mock('@aws-sdk/client-ec2', () => {
  const actual = jest.requireActual('@aws-sdk/client-ec2');
  const fast = (waiter: any) => jest.fn((params: any, input: any) => waiter({ ...params, minDelay: 0.001, maxDelay: 0.002 }, input));
  return { ...actual, waitUntilInstanceRunning: fast(actual.waitUntilInstanceRunning), waitUntilInstanceTerminated: fast(actual.waitUntilInstanceTerminated) };
});

const ec2Mock = mockClient(EC2Client);
const ssmMock = mockClient(SSMClient);
const ec2 = () => new EC2Client({ region: 'eu-west-1' });
const ssm = () => new SSMClient({ region: 'eu-west-1' });
/** A Lambda with ten minutes left. */
const context = { getRemainingTimeInMillis: () => 600_000 };
const logged: string[] = [];

beforeEach(() => {
  ec2Mock.reset();
  ssmMock.reset();
  (waitUntilInstanceRunning as jest.Mock).mockClear();
  (waitUntilInstanceTerminated as jest.Mock).mockClear();
  logged.length = 0;
  jest.spyOn(console, 'log').mockImplementation((line: string) => void logged.push(line));
  jest.spyOn(console, 'error').mockImplementation((line: string) => void logged.push(line));
});
afterEach(() => {
  (console.log as jest.Mock).mockRestore();
  (console.error as jest.Mock).mockRestore();
});

/** An EC2 or SSM error as the SDK raises it: its code is its name. */
function awsError(code: string, message = `${code} message`): Error {
  return Object.assign(new Error(message), { name: code });
}

/** The names of the commands sent to the mocked EC2 client, in order. */
const ec2Calls = () => ec2Mock.calls().map((c) => (c.args[0] as any).constructor.name.replace(/Command$/, ''));

/** DescribeInstances answering with one instance, whose state may change between calls. */
function instanceIs(instance: () => Record<string, unknown>): void {
  ec2Mock.on(DescribeInstancesCommand).callsFake(() => ({ Reservations: [{ Instances: [{ InstanceId: 'i-0abc', ...instance() }] }] }));
}

/**
 * A local stand-in for the pre-signed response URL: records the PUT and
 * answers with `status`.
 */
async function responseUrl(status = 200): Promise<{ url: string; requests: Array<{ method: string; url: string; headers: http.IncomingHttpHeaders; body: any }>; close: () => Promise<void> }> {
  const requests: Array<{ method: string; url: string; headers: http.IncomingHttpHeaders; body: any }> = [];
  const server = http.createServer((req, res) => {
    let text = '';
    req.on('data', (chunk) => (text += chunk));
    req.on('end', () => {
      requests.push({ method: req.method!, url: req.url!, headers: req.headers, body: JSON.parse(text) });
      res.statusCode = status;
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/bucket/response?X-Amz-Signature=abc`,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function cfnEvent(requestType: 'Create' | 'Update' | 'Delete', url: string, more: Partial<CustomResourceEvent> = {}): CustomResourceEvent {
  return {
    RequestType: requestType,
    ResponseURL: url,
    StackId: 'arn:aws:cloudformation:eu-west-1:111122223333:stack/dasklab-Cluster/guid',
    RequestId: 'request-1',
    LogicalResourceId: 'Worker1',
    ResourceType: 'Custom::DasklabSpotMachine',
    ResourceProperties: {},
    ...more,
  };
}

// The response object: https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/crpg-ref-responses.html
// (Status SUCCESS or FAILED; Reason required when FAILED; a non-empty PhysicalResourceId; StackId, RequestId and
// LogicalResourceId copied from the request; Data read with Fn::GetAtt; the body at most 4096 bytes).
describe('the answer to CloudFormation', () => {
  test('success: one PUT to the pre-signed URL with the status, the resource id, the data and the request\'s ids', async () => {
    const server = await responseUrl();
    try {
      const handler = customResourceHandler(async () => ({ physicalResourceId: 'i-0abc', data: { PrivateIp: '10.0.1.5' } }));
      await handler(cfnEvent('Create', server.url), context);
      expect(server.requests).toHaveLength(1);
      const [put] = server.requests;
      expect(put.method).toBe('PUT');
      expect(put.url).toBe('/bucket/response?X-Amz-Signature=abc');
      expect(put.body).toEqual({
        Status: 'SUCCESS',
        PhysicalResourceId: 'i-0abc',
        Data: { PrivateIp: '10.0.1.5' },
        StackId: 'arn:aws:cloudformation:eu-west-1:111122223333:stack/dasklab-Cluster/guid',
        RequestId: 'request-1',
        LogicalResourceId: 'Worker1',
      });
      // the URL is signed without a content type; the length is the body's, in bytes
      expect(put.headers['content-type']).toBe('');
      expect(put.headers['content-length']).toBe(String(Buffer.byteLength(JSON.stringify(put.body))));
    } finally {
      await server.close();
    }
  });

  test('success without data sends an empty Data object', async () => {
    const server = await responseUrl();
    try {
      await customResourceHandler(async () => ({ physicalResourceId: '/dasklab/app/tls' }))(cfnEvent('Update', server.url, { PhysicalResourceId: '/dasklab/app/tls' }), context);
      expect(server.requests[0].body).toEqual(expect.objectContaining({ Status: 'SUCCESS', PhysicalResourceId: '/dasklab/app/tls', Data: {} }));
    } finally {
      await server.close();
    }
  });

  test('a failed Create answers FAILED with the error\'s name and message as the reason, under an id that names no resource', async () => {
    const server = await responseUrl();
    try {
      await customResourceHandler(async () => {
        throw awsError('UnauthorizedOperation', 'You are not authorized to perform this operation.');
      })(cfnEvent('Create', server.url), context);
      expect(server.requests[0].body).toEqual({
        Status: 'FAILED',
        Reason: 'UnauthorizedOperation: You are not authorized to perform this operation.',
        PhysicalResourceId: 'Worker1-not-created',
        StackId: 'arn:aws:cloudformation:eu-west-1:111122223333:stack/dasklab-Cluster/guid',
        RequestId: 'request-1',
        LogicalResourceId: 'Worker1',
      });
      // AND the log says which request failed and why
      expect(logged).toContain('Create Worker1 failed: UnauthorizedOperation: You are not authorized to perform this operation.');
    } finally {
      await server.close();
    }
  });

  test('a failed Update or Delete keeps the resource\'s id (a new id would tell CloudFormation it was replaced)', async () => {
    const server = await responseUrl();
    try {
      const failing = customResourceHandler(async () => {
        throw new Error('boom');
      });
      await failing(cfnEvent('Update', server.url, { PhysicalResourceId: 'i-0abc' }), context);
      await failing(cfnEvent('Delete', server.url, { PhysicalResourceId: 'i-0def' }), context);
      expect(server.requests.map((r) => [r.body.Status, r.body.PhysicalResourceId, r.body.Reason])).toEqual([
        ['FAILED', 'i-0abc', 'Error: boom'],
        ['FAILED', 'i-0def', 'Error: boom'],
      ]);
    } finally {
      await server.close();
    }
  });

  test('something thrown that is not an Error is still the reason', async () => {
    const server = await responseUrl();
    try {
      await customResourceHandler(async () => {
        throw 'no capacity'; // eslint-disable-line no-throw-literal
      })(cfnEvent('Create', server.url), context);
      expect(server.requests[0].body.Reason).toBe('no capacity');
    } finally {
      await server.close();
    }
  });

  test('a long reason is cut to 1000 characters, keeping the response under CloudFormation\'s 4096 bytes', async () => {
    const server = await responseUrl();
    try {
      await customResourceHandler(async () => {
        throw new Error('x'.repeat(5000));
      })(cfnEvent('Create', server.url), context);
      const { body, headers } = server.requests[0];
      expect(body.Reason).toBe(`Error: ${'x'.repeat(993)}`);
      expect(Number(headers['content-length'])).toBeLessThan(4096);
    } finally {
      await server.close();
    }
  });

  test.each([300, 403, 500])('a PUT answered %i fails the Lambda invocation (CloudFormation did not get the answer)', async (status) => {
    const server = await responseUrl(status);
    try {
      await expect(customResourceHandler(async () => ({ physicalResourceId: 'x' }))(cfnEvent('Create', server.url), context)).rejects.toThrow(
        `response PUT answered ${status}`,
      );
      expect(server.requests).toHaveLength(1);
    } finally {
      await server.close();
    }
  });

  test('a response URL that cannot be reached fails the invocation', async () => {
    const server = await responseUrl();
    await server.close();
    await expect(customResourceHandler(async () => ({ physicalResourceId: 'x' }))(cfnEvent('Create', server.url), context)).rejects.toThrow(/ECONNREFUSED/);
  });

  test('an https response URL (as CloudFormation sends) is PUT over https', async () => {
    const server = await responseUrl();
    const request = https.request as unknown as jest.Mock;
    request.mockClear();
    request.mockImplementationOnce((url: string, options: any, callback: any) => http.request(url.replace(/^https:/, 'http:'), options, callback));
    try {
      const url = server.url.replace(/^http:/, 'https:');
      await customResourceHandler(async () => ({ physicalResourceId: 'x' }))(cfnEvent('Create', url), context);
      expect(request.mock.calls.map((c) => c[0])).toEqual([url]);
      expect(server.requests.map((r) => r.body.Status)).toEqual(['SUCCESS']);
    } finally {
      await server.close();
    }
  });
});

describe('parameter path cleanup (Custom::DasklabParameterPath)', () => {
  const event = (requestType: 'Create' | 'Update' | 'Delete', path: unknown, physicalResourceId?: string): CustomResourceEvent =>
    cfnEvent(requestType, 'http://unused', { LogicalResourceId: 'TlsCleanup', ResourceProperties: path === undefined ? {} : { Path: path }, PhysicalResourceId: physicalResourceId });

  const reads: any[] = [];
  /** GetParametersByPath answering `names` in pages of `pageSize`, following NextToken. */
  function parametersUnder(names: string[], pageSize: number): void {
    reads.length = 0;
    ssmMock.on(GetParametersByPathCommand).callsFake((input: any) => {
      reads.push({ ...input }); // the paginator reuses one input object, so each call's is copied here
      const start = Number(input.NextToken ?? 0);
      const end = start + pageSize;
      return { Parameters: names.slice(start, end).map((Name) => ({ Name })), NextToken: end < names.length ? String(end) : undefined };
    });
    ssmMock.on(DeleteParametersCommand).resolves({});
  }

  test.each(['/dasklab/demo/cluster/tls', '/a1', '/A_b.c-d/e9'])('Create with the absolute path %s names the resource by its path and touches no parameter', async (path) => {
    expect(await handleParameterPath(ssm(), event('Create', path))).toEqual({ physicalResourceId: path });
    expect(ssmMock.calls()).toHaveLength(0);
  });

  test.each([
    ['relative', 'dasklab/demo'],
    ['trailing slash', '/dasklab/demo/'],
    ['root alone', '/'],
    ['empty', ''],
    ['a space', '/dasklab/de mo'],
    ['a star inside', '/dasklab/*/tls'],
    // parameter names hold only a-zA-Z0-9_.- and / (https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_PutParameter.html,
    // Name): the last character was once allowed to be anything but a slash
    ['a line break after it', '/dasklab/demo\n'],
    ['a space after it', '/dasklab/demo '],
    ['a line break before it', 'x\n/dasklab/demo'],
  ])('Create with a path that is not absolute and clean (%s) fails, quoting it', async (_, path) => {
    await expect(handleParameterPath(ssm(), event('Create', path))).rejects.toThrow(
      `Path must be an absolute SSM parameter path without a trailing slash, got ${JSON.stringify(path)}`,
    );
  });

  test('Create without a Path fails, quoting the empty path', async () => {
    await expect(handleParameterPath(ssm(), event('Create', undefined))).rejects.toThrow('without a trailing slash, got ""');
  });

  test('Update to another path is a new resource (a new id), so CloudFormation deletes the old one, which cleans the old path', async () => {
    // https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/crpg-ref-responses.html: a different
    // PhysicalResourceId on update is a replacement, and CloudFormation sends a Delete for the old resource.
    expect(await handleParameterPath(ssm(), event('Update', '/dasklab/new/tls', '/dasklab/old/tls'))).toEqual({ physicalResourceId: '/dasklab/new/tls' });
    expect(ssmMock.calls()).toHaveLength(0);
    await expect(handleParameterPath(ssm(), event('Update', '/dasklab/new/', '/dasklab/old/tls'))).rejects.toThrow('trailing slash');
  });

  test('Delete removes every parameter under the path, recursively, through every page, at most 10 names per call', async () => {
    // GIVEN 23 parameters, answered 4 to a page
    const names = Array.from({ length: 23 }, (_, i) => `/dasklab/demo/cluster/tls/p${i}`);
    parametersUnder(names, 4);
    // WHEN the stack is deleted
    expect(await handleParameterPath(ssm(), event('Delete', '/dasklab/demo/cluster/tls', '/dasklab/demo/cluster/tls'))).toEqual({
      physicalResourceId: '/dasklab/demo/cluster/tls',
    });
    // THEN every page was read (each call carrying the previous page's NextToken)
    expect(reads).toHaveLength(6);
    expect(reads[0]).toEqual(expect.objectContaining({ Path: '/dasklab/demo/cluster/tls', Recursive: true, NextToken: undefined }));
    expect(reads.every((r) => r.Path === '/dasklab/demo/cluster/tls' && r.Recursive === true)).toBe(true);
    expect(reads.slice(1).map((r) => r.NextToken)).toEqual(['4', '8', '12', '16', '20']);
    // AND all 23 were deleted, in calls of at most 10 names
    // (https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_DeleteParameters.html: Names, 1 to 10 items)
    expect(ssmMock.commandCalls(DeleteParametersCommand).map((c) => c.args[0].input.Names)).toEqual([names.slice(0, 10), names.slice(10, 20), names.slice(20)]);
    expect(logged.join('\n')).toContain(`deleted 23 parameters under /dasklab/demo/cluster/tls: ${names.join(', ')}`);
  });

  test('exactly 10 parameters are deleted in one call; none, in no call', async () => {
    const ten = Array.from({ length: 10 }, (_, i) => `/p/q${i}`);
    parametersUnder(ten, 50);
    expect(await deleteParametersUnder(ssm(), '/p')).toEqual(ten);
    expect(ssmMock.commandCalls(DeleteParametersCommand).map((c) => c.args[0].input.Names)).toEqual([ten]);

    ssmMock.reset();
    ssmMock.on(GetParametersByPathCommand).resolves({});
    expect(await deleteParametersUnder(ssm(), '/p')).toEqual([]);
    expect(ssmMock.commandCalls(DeleteParametersCommand)).toHaveLength(0);
  });

  test('Delete of a resource that was never created (its Create failed) touches nothing and keeps its id', async () => {
    parametersUnder(['/dasklab/demo/cluster/tls/ca'], 10);
    expect(await handleParameterPath(ssm(), event('Delete', '/dasklab/demo/cluster/tls', 'TlsCleanup-not-created'))).toEqual({ physicalResourceId: 'TlsCleanup-not-created' });
    expect(ssmMock.calls()).toHaveLength(0);
  });

  test('a failed deletion fails the Delete (the stack is not reported clean)', async () => {
    ssmMock.on(GetParametersByPathCommand).resolves({ Parameters: [{ Name: '/dasklab/demo/tls/ca' }] });
    ssmMock.on(DeleteParametersCommand).rejects(awsError('AccessDeniedException'));
    await expect(handleParameterPath(ssm(), event('Delete', '/dasklab/demo/tls', '/dasklab/demo/tls'))).rejects.toThrow('AccessDeniedException message');
  });

  test('the Lambda handler answers CloudFormation after the cleanup', async () => {
    parametersUnder(['/dasklab/demo/tls/ca', '/dasklab/demo/tls/key'], 10);
    const server = await responseUrl();
    try {
      await parameterPathHandler(
        cfnEvent('Delete', server.url, { LogicalResourceId: 'TlsCleanup', PhysicalResourceId: '/dasklab/demo/tls', ResourceProperties: { Path: '/dasklab/demo/tls' } }),
        context,
      );
      expect(ssmMock.commandCalls(DeleteParametersCommand).map((c) => c.args[0].input.Names)).toEqual([['/dasklab/demo/tls/ca', '/dasklab/demo/tls/key']]);
      expect(server.requests.map((r) => [r.body.Status, r.body.PhysicalResourceId])).toEqual([['SUCCESS', '/dasklab/demo/tls']]);
    } finally {
      await server.close();
    }
  });
});

describe('spot machine launcher (Custom::DasklabSpotMachine)', () => {
  const PROPS = {
    ServiceToken: 'arn:aws:lambda:eu-west-1:111122223333:function:launcher',
    LaunchTemplateId: 'lt-0123456789abcdef0',
    LaunchTemplateVersion: '3',
    InstanceType: 'm7g.large',
    SubnetId: 'subnet-1',
    SecurityGroupIds: ['sg-1', 'sg-2'],
    KeyName: 'dasklab-demo',
    UserData: 'IyEvYmluL2Jhc2g=',
    Tags: [
      { Key: 'dasklab:app', Value: 'demo' },
      { Key: 'dasklab:role', Value: 'worker' },
    ],
  };
  const event = (requestType: 'Create' | 'Update' | 'Delete', more: Partial<CustomResourceEvent> = {}): CustomResourceEvent =>
    cfnEvent(requestType, 'http://unused', { ResourceProperties: PROPS, ...more });
  const runInputs = () => ec2Mock.commandCalls(RunInstancesCommand).map((c) => c.args[0].input);
  /** A machine that is running at the first look. */
  function runs(extra: Record<string, unknown> = {}): void {
    instanceIs(() => ({ State: { Name: 'running' }, ...extra }));
  }

  describe('Create', () => {
    test('asks for one machine from the launch template, on a persistent spot request that stops the machine when capacity is reclaimed', async () => {
      ec2Mock.on(RunInstancesCommand).resolves({ Instances: [{ InstanceId: 'i-0abc' }] });
      runs({ PrivateIpAddress: '10.0.1.5', PublicIpAddress: '203.0.113.7', PublicDnsName: 'ec2-203-0-113-7.compute.amazonaws.com' });
      const before = new Date();
      const result = await handleSpotMachine(ec2(), event('Create'), context);
      const after = new Date();
      // THEN one RunInstances, exactly this
      const [input] = runInputs();
      expect(runInputs()).toHaveLength(1);
      expect(input).toEqual({
        MinCount: 1,
        MaxCount: 1,
        LaunchTemplate: { LaunchTemplateId: 'lt-0123456789abcdef0', Version: '3' },
        InstanceType: 'm7g.large',
        SubnetId: 'subnet-1',
        SecurityGroupIds: ['sg-1', 'sg-2'],
        KeyName: 'dasklab-demo',
        UserData: 'IyEvYmluL2Jhc2g=',
        // https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_SpotMarketOptions.html: a persistent request
        // reopens after an interruption (https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/spot-request-status.html)
        // and InstanceInterruptionBehavior stop keeps the instance, its id and disk
        InstanceMarketOptions: { MarketType: 'spot', SpotOptions: { SpotInstanceType: 'persistent', InstanceInterruptionBehavior: 'stop', ValidUntil: expect.any(Date) } },
        // the spot request is tagged too (a spot launch makes one)
        TagSpecifications: ['instance', 'volume', 'spot-instances-request'].map((ResourceType) => ({
          ResourceType,
          Tags: [...PROPS.Tags, { Key: 'dasklab:market', Value: 'spot' }],
        })),
      });
      // AND the request stays valid ten years from now (without ValidUntil it expires after 7 days)
      const validUntil: Date = input.InstanceMarketOptions!.SpotOptions!.ValidUntil!;
      const inTenYears = (d: Date) => {
        const t = new Date(d);
        t.setUTCFullYear(t.getUTCFullYear() + 10);
        return t.getTime();
      };
      expect(validUntil.getTime()).toBeGreaterThanOrEqual(inTenYears(before));
      expect(validUntil.getTime()).toBeLessThanOrEqual(inTenYears(after));
      // AND the answer: the instance id, and what the template reads with Fn::GetAtt
      expect(result).toEqual({
        physicalResourceId: 'i-0abc',
        data: { InstanceId: 'i-0abc', PrivateIp: '10.0.1.5', PublicIp: '203.0.113.7', PublicDnsName: 'ec2-203-0-113-7.compute.amazonaws.com', Market: 'spot' },
      });
      expect(logged).toContain('Worker1: launched i-0abc (m7g.large, spot)');
    });

    test('waits until the machine runs, polling DescribeInstances, with 300 s at most when the Lambda has time', async () => {
      ec2Mock.on(RunInstancesCommand).resolves({ Instances: [{ InstanceId: 'i-0abc' }] });
      let looks = 0;
      instanceIs(() => ({ State: { Name: ++looks < 3 ? 'pending' : 'running' }, PrivateIpAddress: looks < 3 ? undefined : '10.0.1.5' }));
      const result = await handleSpotMachine(ec2(), event('Create'), context);
      expect(result.data!.PrivateIp).toBe('10.0.1.5');
      expect(looks).toBe(4); // three by the waiter, one for the addresses
      expect((waitUntilInstanceRunning as jest.Mock).mock.calls).toEqual([[expect.objectContaining({ maxWaitTime: 300, minDelay: 5 }), { InstanceIds: ['i-0abc'] }]]);
    });

    test.each([
      [900_000, 300],
      [200_000, 170],
      [200_999, 170],
      [30_000, 10],
    ])('with %i ms left the wait is given %i s, leaving 30 s to answer (10 s at least)', async (remaining, budget) => {
      ec2Mock.on(RunInstancesCommand).resolves({ Instances: [{ InstanceId: 'i-0abc' }] });
      runs();
      await handleSpotMachine(ec2(), event('Create'), { getRemainingTimeInMillis: () => remaining });
      expect((waitUntilInstanceRunning as jest.Mock).mock.calls[0][0].maxWaitTime).toBe(budget);
    });

    test('a machine without addresses answers empty strings, not undefined (Fn::GetAtt needs a value)', async () => {
      ec2Mock.on(RunInstancesCommand).resolves({ Instances: [{ InstanceId: 'i-0abc' }] });
      runs();
      expect((await handleSpotMachine(ec2(), event('Create'), context)).data).toEqual({ InstanceId: 'i-0abc', PrivateIp: '', PublicIp: '', PublicDnsName: '', Market: 'spot' });
    });

    // The codes that mean "no spot capacity now":
    // https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html
    test.each(['InsufficientInstanceCapacity', 'InsufficientCapacity', 'UnfulfillableCapacity', 'MaxSpotInstanceCountExceeded', 'SpotMaxPriceTooLow', 'Unsupported'])(
      'when spot has no capacity (%s) the same machine is launched on demand, with no spot request',
      async (code) => {
        ec2Mock
          .on(RunInstancesCommand)
          .rejectsOnce(awsError(code, 'There is no Spot capacity available that matches your request.'))
          .resolves({ Instances: [{ InstanceId: 'i-0def' }] });
        instanceIs(() => ({ InstanceId: 'i-0def', State: { Name: 'running' } }));
        const result = await handleSpotMachine(ec2(), event('Create'), context);
        const [spot, onDemand] = runInputs();
        expect(runInputs()).toHaveLength(2);
        expect(spot.InstanceMarketOptions?.MarketType).toBe('spot');
        const { InstanceMarketOptions, TagSpecifications, ...rest } = onDemand;
        expect(InstanceMarketOptions).toBeUndefined();
        expect(TagSpecifications).toEqual(['instance', 'volume'].map((ResourceType) => ({ ResourceType, Tags: [...PROPS.Tags, { Key: 'dasklab:market', Value: 'on-demand' }] })));
        // the same machine otherwise
        const { InstanceMarketOptions: _m, TagSpecifications: _t, ...spotRest } = spot;
        expect(rest).toEqual(spotRest);
        expect(result).toEqual(expect.objectContaining({ physicalResourceId: 'i-0def', data: expect.objectContaining({ InstanceId: 'i-0def', Market: 'on-demand' }) }));
        expect(logged).toContain(`Worker1: no spot capacity for m7g.large (${code}: There is no Spot capacity available that matches your request.); launching on demand`);
        expect(logged).toContain('Worker1: launched i-0def (m7g.large, on-demand)');
      },
    );

    test.each(['UnauthorizedOperation', 'InvalidParameterValue', 'InsufficientInstanceCapacityX'])('any other error (%s) fails the launch, with no on-demand machine', async (code) => {
      ec2Mock.on(RunInstancesCommand).rejects(awsError(code));
      await expect(handleSpotMachine(ec2(), event('Create'), context)).rejects.toThrow(`${code} message`);
      expect(runInputs()).toHaveLength(1);
    });

    test('an on-demand launch that fails too fails the Create', async () => {
      ec2Mock.on(RunInstancesCommand).rejectsOnce(awsError('InsufficientInstanceCapacity')).rejects(awsError('InsufficientInstanceCapacity', 'none on demand either'));
      await expect(handleSpotMachine(ec2(), event('Create'), context)).rejects.toThrow('none on demand either');
      expect(runInputs()).toHaveLength(2);
    });

    test('RunInstances returning no instance fails the Create, naming the type', async () => {
      ec2Mock.on(RunInstancesCommand).resolves({ Instances: [] });
      await expect(handleSpotMachine(ec2(), event('Create'), context)).rejects.toThrow('RunInstances returned no instance for m7g.large');
      ec2Mock.on(RunInstancesCommand).resolves({});
      await expect(handleSpotMachine(ec2(), event('Create'), context)).rejects.toThrow('RunInstances returned no instance for m7g.large');
    });

    test.each([
      ['true', true],
      ['false', false],
    ])('AssociatePublicIpAddress "%s" goes on the network interface, which then names the subnet and groups', async (value, expected) => {
      // https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_InstanceNetworkInterfaceSpecification.html
      ec2Mock.on(RunInstancesCommand).resolves({ Instances: [{ InstanceId: 'i-0abc' }] });
      runs();
      await handleSpotMachine(ec2(), event('Create', { ResourceProperties: { ...PROPS, AssociatePublicIpAddress: value } }), context);
      const [input] = runInputs();
      expect(input.NetworkInterfaces).toEqual([{ DeviceIndex: 0, SubnetId: 'subnet-1', Groups: ['sg-1', 'sg-2'], AssociatePublicIpAddress: expected }]);
      expect(input).not.toHaveProperty('SubnetId');
      expect(input).not.toHaveProperty('SecurityGroupIds');
    });

    test('without tags the machine still carries its market tag', async () => {
      ec2Mock.on(RunInstancesCommand).resolves({ Instances: [{ InstanceId: 'i-0abc' }] });
      runs();
      const { Tags, ...untagged } = PROPS;
      await handleSpotMachine(ec2(), event('Create', { ResourceProperties: untagged }), context);
      expect(runInputs()[0].TagSpecifications!.map((t) => t.Tags)).toEqual([0, 1, 2].map(() => [{ Key: 'dasklab:market', Value: 'spot' }]));
    });

    test('a machine that never runs is cancelled and terminated, and the Create fails (nothing left behind)', async () => {
      // GIVEN the spot machine is terminated while starting (the running waiter fails on "terminated")
      ec2Mock.on(RunInstancesCommand).resolves({ Instances: [{ InstanceId: 'i-0abc' }] });
      let looks = 0;
      ec2Mock.on(CancelSpotInstanceRequestsCommand).resolves({});
      let terminated = false;
      ec2Mock.on(TerminateInstancesCommand).callsFake(() => {
        terminated = true;
        return {};
      });
      instanceIs(() => ({ SpotInstanceRequestId: 'sir-1', State: { Name: ++looks === 1 ? 'terminated' : terminated ? 'terminated' : 'running' } }));
      // WHEN CloudFormation creates it
      await expect(handleSpotMachine(ec2(), event('Create'), context)).rejects.toThrow(/terminated/);
      // THEN its spot request is cancelled and the instance terminated
      expect(ec2Calls()).toEqual(['RunInstances', 'DescribeInstances', 'DescribeInstances', 'CancelSpotInstanceRequests', 'TerminateInstances', 'DescribeInstances']);
      expect(ec2Mock.commandCalls(CancelSpotInstanceRequestsCommand)[0].args[0].input).toEqual({ SpotInstanceRequestIds: ['sir-1'] });
      expect((waitUntilInstanceTerminated as jest.Mock).mock.calls[0][0].maxWaitTime).toBe(300);
    });

    test('when that clean-up fails too, the Create fails with the first error and the clean-up\'s is logged', async () => {
      ec2Mock.on(RunInstancesCommand).resolves({ Instances: [{ InstanceId: 'i-0abc' }] });
      let looks = 0;
      instanceIs(() => ({ State: { Name: ++looks === 1 ? 'terminated' : 'running' } }));
      ec2Mock.on(TerminateInstancesCommand).rejects(awsError('UnauthorizedOperation', 'not allowed'));
      await expect(handleSpotMachine(ec2(), event('Create'), context)).rejects.toThrow(/terminated/);
      expect(logged).toContain('Worker1: could not terminate i-0abc: UnauthorizedOperation: not allowed');
    });
  });

  describe('Delete', () => {
    test('cancels the spot request first (else EC2 launches a new instance for it), then terminates and waits until terminated', async () => {
      // https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/using-spot-instances-cancel.html: cancelling does not
      // terminate the instance; a persistent request reopens when its instance goes
      // (https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/spot-request-status.html)
      instanceIs(() => ({ SpotInstanceRequestId: 'sir-1', State: { Name: 'running' } }));
      ec2Mock.on(CancelSpotInstanceRequestsCommand).resolves({});
      let looksAfter = 0;
      ec2Mock.on(TerminateInstancesCommand).callsFake(() => {
        instanceIs(() => ({ State: { Name: ++looksAfter < 3 ? 'shutting-down' : 'terminated' } }));
        return {};
      });
      expect(await handleSpotMachine(ec2(), event('Delete', { PhysicalResourceId: 'i-0abc' }), context)).toEqual({ physicalResourceId: 'i-0abc' });
      expect(ec2Calls()).toEqual(['DescribeInstances', 'CancelSpotInstanceRequests', 'TerminateInstances', 'DescribeInstances', 'DescribeInstances', 'DescribeInstances']);
      expect(ec2Mock.commandCalls(DescribeInstancesCommand)[0].args[0].input).toEqual({ InstanceIds: ['i-0abc'] });
      expect(ec2Mock.commandCalls(CancelSpotInstanceRequestsCommand).map((c) => c.args[0].input)).toEqual([{ SpotInstanceRequestIds: ['sir-1'] }]);
      expect(ec2Mock.commandCalls(TerminateInstancesCommand).map((c) => c.args[0].input)).toEqual([{ InstanceIds: ['i-0abc'] }]);
      expect((waitUntilInstanceTerminated as jest.Mock).mock.calls).toEqual([[expect.objectContaining({ maxWaitTime: 570, minDelay: 5 }), { InstanceIds: ['i-0abc'] }]]);
      expect(logged).toEqual(['Worker1: cancelled spot request sir-1', 'Worker1: terminated i-0abc']);
    });

    test('the wait for termination is given 600 s at most', async () => {
      instanceIs(() => ({ State: { Name: ec2Mock.commandCalls(TerminateInstancesCommand).length > 0 ? 'terminated' : 'stopped' } }));
      ec2Mock.on(TerminateInstancesCommand).resolves({});
      await handleSpotMachine(ec2(), event('Delete', { PhysicalResourceId: 'i-0abc' }), { getRemainingTimeInMillis: () => 900_000 });
      expect((waitUntilInstanceTerminated as jest.Mock).mock.calls[0][0].maxWaitTime).toBe(600);
    });

    test('an on-demand machine (no spot request) is terminated with nothing to cancel', async () => {
      instanceIs(() => ({ State: { Name: ec2Mock.commandCalls(TerminateInstancesCommand).length > 0 ? 'terminated' : 'running' } }));
      ec2Mock.on(TerminateInstancesCommand).resolves({});
      await handleSpotMachine(ec2(), event('Delete', { PhysicalResourceId: 'i-0abc' }), context);
      expect(ec2Calls()).toEqual(['DescribeInstances', 'TerminateInstances', 'DescribeInstances']);
    });

    test.each([
      ['EC2 no longer knows it', () => ec2Mock.on(DescribeInstancesCommand).rejects(awsError('InvalidInstanceID.NotFound'))],
      ['its id is malformed to EC2', () => ec2Mock.on(DescribeInstancesCommand).rejects(awsError('InvalidInstanceID.Malformed'))],
      ['DescribeInstances returns no reservation', () => ec2Mock.on(DescribeInstancesCommand).resolves({ Reservations: [] })],
      ['DescribeInstances returns no reservation list', () => ec2Mock.on(DescribeInstancesCommand).resolves({})],
      ['DescribeInstances returns a reservation without instances', () => ec2Mock.on(DescribeInstancesCommand).resolves({ Reservations: [{}] })],
      ['it is terminated already', () => instanceIs(() => ({ SpotInstanceRequestId: 'sir-1', State: { Name: 'terminated' } }))],
    ])('a machine already gone (%s) is fine: nothing to cancel or terminate, the Delete succeeds', async (_, given) => {
      given();
      expect(await handleSpotMachine(ec2(), event('Delete', { PhysicalResourceId: 'i-0abc' }), context)).toEqual({ physicalResourceId: 'i-0abc' });
      expect(ec2Calls()).toEqual(['DescribeInstances']);
      expect(logged).toEqual(['Worker1: i-0abc is already gone']);
    });

    test('any other error looking it up fails the Delete (the machine may still be there)', async () => {
      ec2Mock.on(DescribeInstancesCommand).rejects(awsError('UnauthorizedOperation'));
      await expect(handleSpotMachine(ec2(), event('Delete', { PhysicalResourceId: 'i-0abc' }), context)).rejects.toThrow('UnauthorizedOperation message');
      expect(ec2Calls()).toEqual(['DescribeInstances']);
    });

    test('a failed cancellation fails the Delete before anything is terminated', async () => {
      instanceIs(() => ({ SpotInstanceRequestId: 'sir-1', State: { Name: 'running' } }));
      ec2Mock.on(CancelSpotInstanceRequestsCommand).rejects(awsError('UnauthorizedOperation'));
      ec2Mock.on(TerminateInstancesCommand).rejects(new Error('terminated without cancelling'));
      await expect(handleSpotMachine(ec2(), event('Delete', { PhysicalResourceId: 'i-0abc' }), context)).rejects.toThrow('UnauthorizedOperation message');
      expect(ec2Mock.commandCalls(TerminateInstancesCommand)).toHaveLength(0);
    });

    test.each([
      ['the id a failed Create answered', 'Worker1-not-created', 'Worker1-not-created'],
      ['no id', undefined, 'Worker1'],
    ])('Delete of a machine never created (%s) makes no EC2 call', async (_, id, answered) => {
      expect(await handleSpotMachine(ec2(), event('Delete', { PhysicalResourceId: id }), context)).toEqual({ physicalResourceId: answered });
      expect(ec2Mock.calls()).toHaveLength(0);
    });
  });

  describe('Update', () => {
    const old = { ...PROPS, Tags: [{ Key: 'dasklab:app', Value: 'demo' }, { Key: 'dasklab:course', Value: 'ml101' }] };

    test('a change of tags alone retags the running machine: other tags are kept, only removed keys deleted', async () => {
      runs({ PrivateIpAddress: '10.0.1.5', Tags: [...PROPS.Tags, { Key: 'dasklab:market', Value: 'spot' }] });
      ec2Mock.on(DeleteTagsCommand).resolves({});
      ec2Mock.on(CreateTagsCommand).resolves({});
      const result = await handleSpotMachine(ec2(), event('Update', { PhysicalResourceId: 'i-0abc', OldResourceProperties: old }), context);
      expect(ec2Mock.commandCalls(RunInstancesCommand)).toHaveLength(0);
      expect(ec2Mock.commandCalls(DeleteTagsCommand).map((c) => c.args[0].input)).toEqual([{ Resources: ['i-0abc'], Tags: [{ Key: 'dasklab:course' }] }]);
      expect(ec2Mock.commandCalls(CreateTagsCommand).map((c) => c.args[0].input)).toEqual([{ Resources: ['i-0abc'], Tags: PROPS.Tags }]);
      // the same machine (same id: no replacement), its market read from its tag
      expect(result).toEqual({ physicalResourceId: 'i-0abc', data: { InstanceId: 'i-0abc', PrivateIp: '10.0.1.5', PublicIp: '', PublicDnsName: '', Market: 'spot' } });
      expect((waitUntilInstanceRunning as jest.Mock).mock.calls[0][1]).toEqual({ InstanceIds: ['i-0abc'] });
    });

    test('a new Lambda (ServiceToken) with no tags removed and none left deletes and creates no tag', async () => {
      runs({ Tags: [] });
      const before = { ...PROPS, Tags: [] };
      const after = { ...PROPS, ServiceToken: 'arn:aws:lambda:eu-west-1:111122223333:function:launcher2', Tags: [] };
      const result = await handleSpotMachine(ec2(), event('Update', { PhysicalResourceId: 'i-0abc', OldResourceProperties: before, ResourceProperties: after }), context);
      expect(ec2Calls()).toEqual(['DescribeInstances', 'DescribeInstances', 'DescribeInstances']);
      expect(result.data!.Market).toBe('');
    });

    test('tags added where there were none are created, nothing deleted', async () => {
      runs({ Tags: PROPS.Tags });
      const { Tags, ...untagged } = PROPS;
      await handleSpotMachine(ec2(), event('Update', { PhysicalResourceId: 'i-0abc', OldResourceProperties: untagged }), context);
      expect(ec2Mock.commandCalls(DeleteTagsCommand)).toHaveLength(0);
      expect(ec2Mock.commandCalls(CreateTagsCommand).map((c) => c.args[0].input)).toEqual([{ Resources: ['i-0abc'], Tags: PROPS.Tags }]);
    });

    test('all tags removed are deleted, none created', async () => {
      runs();
      const { Tags, ...untagged } = PROPS;
      await handleSpotMachine(ec2(), event('Update', { PhysicalResourceId: 'i-0abc', OldResourceProperties: PROPS, ResourceProperties: untagged }), context);
      expect(ec2Mock.commandCalls(DeleteTagsCommand).map((c) => c.args[0].input)).toEqual([{ Resources: ['i-0abc'], Tags: [{ Key: 'dasklab:app' }, { Key: 'dasklab:role' }] }]);
      expect(ec2Mock.commandCalls(CreateTagsCommand)).toHaveLength(0);
    });

    test.each([
      ['InstanceType', 'm7g.xlarge'],
      ['LaunchTemplateVersion', '4'],
      ['SubnetId', 'subnet-2'],
      ['AssociatePublicIpAddress', 'true'],
    ])('a change of %s launches a new machine (a new id: CloudFormation then deletes the old one)', async (key, value) => {
      ec2Mock.on(RunInstancesCommand).resolves({ Instances: [{ InstanceId: 'i-0new' }] });
      runs();
      const result = await handleSpotMachine(ec2(), event('Update', { PhysicalResourceId: 'i-0abc', OldResourceProperties: PROPS, ResourceProperties: { ...PROPS, [key]: value } }), context);
      expect(runInputs()).toHaveLength(1);
      expect(result.physicalResourceId).toBe('i-0new');
      expect(ec2Mock.commandCalls(TerminateInstancesCommand)).toHaveLength(0);
    });

    test('an update of a resource whose Create failed launches the machine', async () => {
      ec2Mock.on(RunInstancesCommand).resolves({ Instances: [{ InstanceId: 'i-0new' }] });
      runs();
      const result = await handleSpotMachine(ec2(), event('Update', { PhysicalResourceId: 'Worker1-not-created', OldResourceProperties: PROPS }), context);
      expect(result.physicalResourceId).toBe('i-0new');
    });

    test('changesInPlace: only tags and the service token change in place; a property added, removed or changed does not', () => {
      expect(changesInPlace(PROPS, { ...PROPS, Tags: [] })).toBe(true);
      expect(changesInPlace(PROPS, { ...PROPS, ServiceToken: 'other' })).toBe(true);
      expect(changesInPlace(PROPS, { ...PROPS })).toBe(true);
      expect(changesInPlace(PROPS, { ...PROPS, SecurityGroupIds: ['sg-2', 'sg-1'] })).toBe(false);
      expect(changesInPlace(PROPS, { ...PROPS, KeyName: 'other' })).toBe(false);
      expect(changesInPlace(PROPS, { ...PROPS, AssociatePublicIpAddress: 'false' })).toBe(false);
      const { UserData, ...withoutUserData } = PROPS;
      expect(changesInPlace(PROPS, withoutUserData)).toBe(false);
      expect(changesInPlace(withoutUserData, PROPS)).toBe(false);
    });
  });

  test('the Lambda handler launches and answers CloudFormation with the instance id and its data', async () => {
    ec2Mock.on(RunInstancesCommand).resolves({ Instances: [{ InstanceId: 'i-0abc' }] });
    runs({ PrivateIpAddress: '10.0.1.5' });
    const server = await responseUrl();
    try {
      await spotMachineHandler(cfnEvent('Create', server.url, { ResourceProperties: PROPS }), context);
      expect(server.requests.map((r) => r.body)).toEqual([
        expect.objectContaining({ Status: 'SUCCESS', PhysicalResourceId: 'i-0abc', Data: expect.objectContaining({ PrivateIp: '10.0.1.5', Market: 'spot' }) }),
      ]);
    } finally {
      await server.close();
    }
  });
});
