/**
 * The custom resources' Lambda handlers against moto, called as Lambda calls
 * them (the exported `handler`), answering CloudFormation over HTTP:
 * spot workers with on-demand fallback, and the cleanup of the parameters
 * machines wrote. A fault proxy in front of moto answers spot launches with
 * EC2's capacity errors, which moto itself never gives.
 */
import {
  CreateKeyPairCommand,
  CreateLaunchTemplateCommand,
  CreateSecurityGroupCommand,
  CreateSubnetCommand,
  CreateVpcCommand,
  DescribeInstanceAttributeCommand,
  DescribeInstancesCommand,
  EC2Client,
  Instance,
} from '@aws-sdk/client-ec2';
import { paginateGetParametersByPath, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import * as http from 'http';
import { AddressInfo } from 'net';
import { CustomResourceEvent } from '../../lib/handlers/custom-resource';
import { handler as parameterPathHandler } from '../../lib/handlers/parameter-path';
import { handler as spotMachineHandler, SpotMachineProperties } from '../../lib/handlers/spot-machine';
import { answerEc2Error, Ec2Proxy } from './ec2-proxy';
import { MotoServer, motoSkipReason, startMoto } from './moto-server';
import { useMotoEnvironment } from './support';

const skip = motoSkipReason();
if (skip) console.warn(skip);
const suite = skip ? describe.skip : describe;

const CONTEXT = { getRemainingTimeInMillis: () => 10 * 60 * 1000 };

/** A local stand-in for CloudFormation's pre-signed response URL: records every response PUT to it. */
class ResponseReceiver {
  readonly responses: any[] = [];
  private server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      this.responses.push({ method: req.method, contentType: req.headers['content-type'], ...JSON.parse(body) });
      res.end();
    });
  });
  url = '';
  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/response`;
  }
  stop(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
  last(): any {
    return this.responses[this.responses.length - 1];
  }
}

/**
 * Forwards to moto, except that while `spotError` is set it answers every
 * RunInstances for spot capacity with that EC2 error, as EC2 does when it has
 * no spot capacity (HTTP 500 for capacity errors).
 */
class FaultProxy extends Ec2Proxy {
  spotError: { code: string; status: number } | undefined;
  readonly spotAttempts: string[] = [];
  /** The market options of each spot launch, as the handler sent them (moto keeps no spot request for RunInstances). */
  readonly spotOptions: Array<Record<string, string>> = [];

  protected answer(params: URLSearchParams, res: http.ServerResponse): boolean {
    if (params.get('Action') !== 'RunInstances' || params.get('InstanceMarketOptions.MarketType') !== 'spot') return false;
    this.spotAttempts.push(params.get('InstanceType') ?? '');
    this.spotOptions.push(Object.fromEntries([...params].filter(([key]) => key.startsWith('InstanceMarketOptions.SpotOptions.'))));
    if (!this.spotError) return false;
    answerEc2Error(res, this.spotError.status, this.spotError.code, 'There is no Spot capacity available that matches your request.');
    return true;
  }
}

suite('custom resources against moto', () => {
  let moto: MotoServer;
  let proxy: FaultProxy;
  let receiver: ResponseReceiver;
  let restoreEnv: () => void;
  let ec2: EC2Client;
  let ssm: SSMClient;
  let machine: SpotMachineProperties;
  let requests = 0;
  const savedEndpoint = process.env.AWS_ENDPOINT_URL;

  beforeAll(async () => {
    moto = await startMoto((line) => console.log(line));
    restoreEnv = useMotoEnvironment(moto.endpoint);
    proxy = new FaultProxy(moto.endpoint);
    await proxy.start();
    receiver = new ResponseReceiver();
    await receiver.start();
    // The handlers build their clients as in Lambda; the SDK reads the endpoint from the environment.
    process.env.AWS_ENDPOINT_URL = proxy.url;
    ec2 = new EC2Client({ endpoint: moto.endpoint });
    ssm = new SSMClient({ endpoint: moto.endpoint });
    // GIVEN what the stack creates before its workers: network, security group, key, launch template
    const vpc = await ec2.send(new CreateVpcCommand({ CidrBlock: '10.40.0.0/16' }));
    const subnet = await ec2.send(new CreateSubnetCommand({ VpcId: vpc.Vpc!.VpcId, CidrBlock: '10.40.16.0/20' }));
    const group = await ec2.send(new CreateSecurityGroupCommand({ GroupName: 'workers', Description: 'workers', VpcId: vpc.Vpc!.VpcId }));
    await ec2.send(new CreateKeyPairCommand({ KeyName: 'demo-worker-1' }));
    const template = await ec2.send(
      new CreateLaunchTemplateCommand({ LaunchTemplateName: 'demo-machines', LaunchTemplateData: { ImageId: 'ami-12c6146b' } }),
    );
    machine = {
      LaunchTemplateId: template.LaunchTemplate!.LaunchTemplateId!,
      LaunchTemplateVersion: '1',
      InstanceType: 't3.large',
      SubnetId: subnet.Subnet!.SubnetId!,
      SecurityGroupIds: [group.GroupId!],
      KeyName: 'demo-worker-1',
      UserData: Buffer.from('#!/bin/bash\necho worker-1\n').toString('base64'),
      Tags: [
        { Key: 'dasklab:app', Value: 'demo' },
        { Key: 'dasklab:role', Value: 'worker' },
        { Key: 'Name', Value: 'demo-worker-1' },
      ],
    };
  });

  afterAll(async () => {
    if (savedEndpoint === undefined) delete process.env.AWS_ENDPOINT_URL;
    else process.env.AWS_ENDPOINT_URL = savedEndpoint;
    await receiver?.stop();
    await proxy?.stop();
    restoreEnv?.();
    await moto?.stop();
  });

  afterEach(() => {
    proxy.spotError = undefined;
  });

  function event(type: 'Create' | 'Update' | 'Delete', resourceType: string, props: object, extra: Partial<CustomResourceEvent> = {}): CustomResourceEvent {
    requests++;
    return {
      RequestType: type,
      ResponseURL: receiver.url,
      StackId: 'arn:aws:cloudformation:us-east-1:123456789012:stack/demo-Cluster/1',
      RequestId: `request-${requests}`,
      LogicalResourceId: 'Worker1SpotInstance',
      ResourceType: resourceType,
      ResourceProperties: { ServiceToken: 'arn:aws:lambda:us-east-1:123456789012:function:launcher', ...props },
      ...extra,
    };
  }

  async function spot(type: 'Create' | 'Update' | 'Delete', props: object, extra: Partial<CustomResourceEvent> = {}): Promise<any> {
    const e = event(type, 'Custom::DasklabSpotMachine', props, extra);
    await spotMachineHandler(e, CONTEXT);
    const response = receiver.last();
    expect(response.RequestId).toBe(e.RequestId);
    return response;
  }

  async function instance(id: string): Promise<Instance> {
    const out = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] }));
    return out.Reservations![0].Instances![0];
  }

  const tagsOf = (i: Instance) => Object.fromEntries((i.Tags ?? []).map((t) => [t.Key, t.Value]));

  async function appInstanceStates(): Promise<string[]> {
    const out = await ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: 'tag:dasklab:app', Values: ['demo'] }] }));
    return (out.Reservations ?? []).flatMap((r) => r.Instances ?? []).map((i) => `${i.InstanceId}:${i.State?.Name}`);
  }

  test('with spot capacity: a spot worker, tagged as the template says, answered with its id and address', async () => {
    // WHEN CloudFormation creates the worker
    const response = await spot('Create', machine);
    // THEN it answers SUCCESS with the instance as physical id and its attributes
    expect(response).toMatchObject({ method: 'PUT', contentType: '', Status: 'SUCCESS', LogicalResourceId: 'Worker1SpotInstance' });
    expect(response.PhysicalResourceId).toMatch(/^i-[0-9a-f]+$/);
    expect(response.Data).toMatchObject({ InstanceId: response.PhysicalResourceId, Market: 'spot' });
    expect(response.Data.PrivateIp).toMatch(/^10\.40\.(1[6-9]|2\d|3[01])\.\d+$/);
    // AND the machine is on spot, in the subnet, with the groups, key, user data and tags given
    const launched = await instance(response.PhysicalResourceId);
    expect(launched.InstanceLifecycle).toBe('spot');
    expect(launched).toMatchObject({ InstanceType: 't3.large', SubnetId: machine.SubnetId, KeyName: 'demo-worker-1', State: { Name: 'running' } });
    expect(launched.SecurityGroups!.map((g) => g.GroupId)).toEqual(machine.SecurityGroupIds);
    expect(tagsOf(launched)).toEqual({ 'dasklab:app': 'demo', 'dasklab:role': 'worker', Name: 'demo-worker-1', 'dasklab:market': 'spot' });
    // AND its spot request is persistent, stops the worker when EC2 reclaims the capacity, and stays valid for
    // years, not the 7 days EC2 gives a request without ValidUntil
    const options = proxy.spotOptions[proxy.spotOptions.length - 1];
    expect(options).toMatchObject({
      'InstanceMarketOptions.SpotOptions.SpotInstanceType': 'persistent',
      'InstanceMarketOptions.SpotOptions.InstanceInterruptionBehavior': 'stop',
    });
    const validUntil = Date.parse(options['InstanceMarketOptions.SpotOptions.ValidUntil']);
    expect(validUntil - Date.now()).toBeGreaterThan(5 * 365 * 24 * 3600 * 1000);
    const userData = await ec2.send(new DescribeInstanceAttributeCommand({ InstanceId: launched.InstanceId, Attribute: 'userData' }));
    expect(Buffer.from(userData.UserData!.Value!, 'base64').toString()).toBe('#!/bin/bash\necho worker-1\n');
    // WHEN the stack is deleted THEN the worker is terminated
    const deleted = await spot('Delete', machine, { PhysicalResourceId: response.PhysicalResourceId });
    expect(deleted).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: response.PhysicalResourceId });
    expect((await instance(response.PhysicalResourceId)).State!.Name).toBe('terminated');
  });

  test.each(['InsufficientInstanceCapacity', 'MaxSpotInstanceCountExceeded'])(
    'without spot capacity (%s): the same worker on demand',
    async (code) => {
      // GIVEN EC2 answers spot launches with a capacity error
      proxy.spotError = { code, status: code === 'InsufficientInstanceCapacity' ? 500 : 400 };
      const attemptsBefore = proxy.spotAttempts.length;
      // WHEN CloudFormation creates the worker
      const response = await spot('Create', machine);
      // THEN spot was asked for first, and the worker runs on demand with the same settings
      expect(proxy.spotAttempts.length).toBeGreaterThan(attemptsBefore);
      expect(response).toMatchObject({ Status: 'SUCCESS', Data: { Market: 'on-demand' } });
      const launched = await instance(response.PhysicalResourceId);
      expect(launched.InstanceLifecycle).toBeUndefined();
      expect(launched).toMatchObject({ InstanceType: 't3.large', SubnetId: machine.SubnetId, KeyName: 'demo-worker-1' });
      expect(tagsOf(launched)).toMatchObject({ 'dasklab:role': 'worker', 'dasklab:market': 'on-demand' });
      await spot('Delete', machine, { PhysicalResourceId: response.PhysicalResourceId });
    },
  );

  test('an error that is not about capacity fails the resource with EC2\'s reason and launches nothing', async () => {
    // GIVEN EC2 refuses the spot launch for another reason
    proxy.spotError = { code: 'InvalidParameterCombination', status: 400 };
    const before = await appInstanceStates();
    // WHEN CloudFormation creates the worker
    const response = await spot('Create', machine);
    // THEN FAILED, with the code in the reason, and no machine was launched
    expect(response.Status).toBe('FAILED');
    expect(response.Reason).toContain('InvalidParameterCombination');
    expect(response.PhysicalResourceId).toBe('Worker1SpotInstance-not-created');
    expect(await appInstanceStates()).toEqual(before);
    // AND the rollback's Delete of that id succeeds without touching anything
    const rollback = await spot('Delete', machine, { PhysicalResourceId: response.PhysicalResourceId });
    expect(rollback.Status).toBe('SUCCESS');
    expect(await appInstanceStates()).toEqual(before);
  });

  test('an update that changes only tags retags the running worker; any other change replaces it', async () => {
    // GIVEN a running worker
    const created = await spot('Create', machine);
    const id = created.PhysicalResourceId;
    // WHEN only its tags change
    const retagged = { ...machine, Tags: [...machine.Tags!.filter((t) => t.Key !== 'Name'), { Key: 'team', Value: 'physics' }] };
    const updated = await spot('Update', retagged, { PhysicalResourceId: id, OldResourceProperties: { ServiceToken: 'x', ...machine } });
    // THEN the same machine, with the new tags and without the removed one
    expect(updated).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: id, Data: { Market: 'spot' } });
    expect(tagsOf(await instance(id))).toEqual({ 'dasklab:app': 'demo', 'dasklab:role': 'worker', team: 'physics', 'dasklab:market': 'spot' });
    // WHEN its instance type changes
    const resized = await spot('Update', { ...retagged, InstanceType: 't3.xlarge' }, { PhysicalResourceId: id, OldResourceProperties: retagged });
    // THEN a new machine answers (CloudFormation then deletes the old one)
    expect(resized.Status).toBe('SUCCESS');
    expect(resized.PhysicalResourceId).not.toBe(id);
    expect((await instance(resized.PhysicalResourceId)).InstanceType).toBe('t3.xlarge');
    for (const old of [id, resized.PhysicalResourceId]) await spot('Delete', machine, { PhysicalResourceId: old });
    expect((await instance(id)).State!.Name).toBe('terminated');
  });

  test('deleting a worker that is already gone succeeds', async () => {
    const created = await spot('Create', machine);
    await spot('Delete', machine, { PhysicalResourceId: created.PhysicalResourceId });
    const again = await spot('Delete', machine, { PhysicalResourceId: created.PhysicalResourceId });
    expect(again.Status).toBe('SUCCESS');
    const unknown = await spot('Delete', machine, { PhysicalResourceId: 'i-0123456789abcdef0' });
    expect(unknown.Status).toBe('SUCCESS');
  });

  describe('parameters machines wrote', () => {
    const PATH = '/dasklab/demo/cluster/tls';

    async function names(path: string): Promise<string[]> {
      const found: string[] = [];
      for await (const page of paginateGetParametersByPath({ client: ssm }, { Path: path, Recursive: true })) {
        found.push(...(page.Parameters ?? []).map((p) => p.Name!));
      }
      return found.sort();
    }

    async function parameterPath(type: 'Create' | 'Update' | 'Delete', path: string, physicalId?: string): Promise<any> {
      await parameterPathHandler(event(type, 'Custom::DasklabParameterPath', { Path: path }, { LogicalResourceId: 'TlsParameters', PhysicalResourceId: physicalId }), CONTEXT);
      return receiver.last();
    }

    test('deleting the resource deletes every parameter under its path, and only those', async () => {
      // GIVEN the resource, and machines that wrote 12 SecureString parameters under its path (more than one DeleteParameters batch)
      expect(await parameterPath('Create', PATH)).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: PATH });
      for (let i = 0; i < 12; i++) {
        await ssm.send(new PutParameterCommand({ Name: `${PATH}/cert-${i}`, Value: `pem ${i}`, Type: 'SecureString' }));
      }
      await ssm.send(new PutParameterCommand({ Name: '/dasklab/other/cluster/tls/ca-cert', Value: 'another cluster', Type: 'SecureString' }));
      await ssm.send(new PutParameterCommand({ Name: `${PATH}-old/ca-cert`, Value: 'a sibling path', Type: 'SecureString' }));
      expect(await names(PATH)).toHaveLength(12);
      // WHEN the stack is deleted
      const deleted = await parameterPath('Delete', PATH, PATH);
      // THEN the path is empty and the other parameters are untouched
      expect(deleted.Status).toBe('SUCCESS');
      expect(await names(PATH)).toEqual([]);
      expect(await names('/dasklab/other')).toEqual(['/dasklab/other/cluster/tls/ca-cert']);
      expect(await names(`${PATH}-old`)).toEqual([`${PATH}-old/ca-cert`]);
    });

    test.each(['dasklab/no-leading-slash', '/dasklab/trailing/', ''])('a bad path %j fails with a reason naming it', async (path) => {
      const response = await parameterPath('Create', path);
      expect(response.Status).toBe('FAILED');
      expect(response.Reason).toContain(`got ${JSON.stringify(path)}`);
      expect(response.Reason).toContain('absolute SSM parameter path');
    });
  });
});
