/**
 * The Lambda behind `Custom::DasklabSpotMachine`: one EC2 instance on spot
 * capacity, or on demand when EC2 has no spot capacity for it.
 *
 * CloudFormation has no resource for this: an AWS::EC2::Instance with spot
 * market options simply fails when spot capacity is short, and fleets and
 * Auto Scaling groups keep asking for spot. So the first RunInstances asks
 * for spot and, on an error that means "no spot capacity now", a second one
 * launches the same machine on demand.
 */
import {
  CancelSpotInstanceRequestsCommand,
  CreateTagsCommand,
  DeleteTagsCommand,
  DescribeInstancesCommand,
  EC2Client,
  Instance,
  ResourceType,
  RunInstancesCommand,
  RunInstancesCommandInput,
  Tag,
  TerminateInstancesCommand,
  waitUntilInstanceRunning,
  waitUntilInstanceTerminated,
} from '@aws-sdk/client-ec2';
import { IN_PLACE_SPOT_MACHINE_PROPERTIES, SpotMachineProperties } from '../machine/spot-machine-properties';
import { TAG_MARKET } from '../tag-keys';
import { customResourceHandler, CustomResourceEvent, CustomResourceResult, HandlerContext } from './custom-resource';

export type { SpotMachineProperties } from '../machine/spot-machine-properties';

export type Market = 'spot' | 'on-demand';

/**
 * EC2 error codes that mean there is no spot capacity for the request now,
 * while on-demand capacity may exist: the codes AWS ParallelCluster fails
 * over on. Any other error fails the launch.
 */
export const SPOT_UNAVAILABLE_ERRORS: ReadonlySet<string> = new Set([
  'InsufficientInstanceCapacity',
  'InsufficientCapacity',
  'UnfulfillableCapacity',
  'MaxSpotInstanceCountExceeded',
  'SpotMaxPriceTooLow',
  'Unsupported',
]);

/**
 * How long a worker's spot request stays valid. Without ValidUntil a persistent
 * request expires 7 days after it is made, and an interrupted worker then stays
 * stopped; AWS documents no maximum
 * (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_SpotMarketOptions.html,
 * https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_LaunchTemplateSpotMarketOptionsRequest.html).
 * Ten years outlives any stack; deleting the stack cancels the request.
 */
export const SPOT_REQUEST_VALID_YEARS = 10;

/**
 * A persistent request whose machine stops when EC2 reclaims the capacity and
 * starts again when it returns: the worker keeps its id, disk and bootstrap.
 */
function spotOptions(now: Date) {
  const validUntil = new Date(now);
  validUntil.setUTCFullYear(validUntil.getUTCFullYear() + SPOT_REQUEST_VALID_YEARS);
  return { SpotInstanceType: 'persistent', InstanceInterruptionBehavior: 'stop', ValidUntil: validUntil } as const;
}


/** What RunInstances creates and tags: a spot launch also makes a spot request. */
function taggedResourceTypes(market: Market): ResourceType[] {
  return market === 'spot' ? ['instance', 'volume', 'spot-instances-request'] : ['instance', 'volume'];
}

/**
 * Where the machine goes. Whether it gets a public IP is a property of its
 * network interface, which then also names the subnet and groups:
 * https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_InstanceNetworkInterfaceSpecification.html
 */
function placementOf(props: SpotMachineProperties): Pick<RunInstancesCommandInput, 'SubnetId' | 'SecurityGroupIds' | 'NetworkInterfaces'> {
  if (props.AssociatePublicIpAddress === undefined) {
    return { SubnetId: props.SubnetId, SecurityGroupIds: [...props.SecurityGroupIds] };
  }
  return {
    NetworkInterfaces: [
      { DeviceIndex: 0, SubnetId: props.SubnetId, Groups: [...props.SecurityGroupIds], AssociatePublicIpAddress: props.AssociatePublicIpAddress === 'true' },
    ],
  };
}

/** Launches on spot, or on demand when spot has no capacity. */
export async function launch(ec2: EC2Client, props: SpotMachineProperties, log: (line: string) => void): Promise<{ instanceId: string; market: Market }> {
  const input = (market: Market): RunInstancesCommandInput => ({
    MinCount: 1,
    MaxCount: 1,
    LaunchTemplate: { LaunchTemplateId: props.LaunchTemplateId, Version: props.LaunchTemplateVersion },
    InstanceType: props.InstanceType as RunInstancesCommandInput['InstanceType'],
    ...placementOf(props),
    KeyName: props.KeyName,
    UserData: props.UserData,
    InstanceMarketOptions: market === 'spot' ? { MarketType: 'spot', SpotOptions: spotOptions(new Date()) } : undefined,
    TagSpecifications: taggedResourceTypes(market).map((type) => ({
      ResourceType: type,
      Tags: [...(props.Tags ?? []), { Key: TAG_MARKET, Value: market }],
    })),
  });
  let market: Market = 'spot';
  let launched;
  try {
    launched = await ec2.send(new RunInstancesCommand(input('spot')));
  } catch (error) {
    const code = (error as Error).name;
    if (!SPOT_UNAVAILABLE_ERRORS.has(code)) throw error;
    log(`no spot capacity for ${props.InstanceType} (${code}: ${(error as Error).message}); launching on demand`);
    market = 'on-demand';
    launched = await ec2.send(new RunInstancesCommand(input('on-demand')));
  }
  const instanceId = launched.Instances?.[0]?.InstanceId;
  if (!instanceId) throw new Error(`RunInstances returned no instance for ${props.InstanceType}`);
  log(`launched ${instanceId} (${props.InstanceType}, ${market})`);
  return { instanceId, market };
}

/**
 * Terminates a machine and waits until it is gone, so that its security
 * groups and subnet can be deleted after it. Its spot request is cancelled
 * first: terminating the instance of a persistent request alone makes EC2
 * launch a new one. A machine that no longer exists is fine.
 */
export async function terminate(ec2: EC2Client, instanceId: string, maxWaitSeconds: number, log: (line: string) => void): Promise<void> {
  const instance = await describe(ec2, instanceId);
  if (!instance || instance.State?.Name === 'terminated') {
    log(`${instanceId} is already gone`);
    return;
  }
  if (instance.SpotInstanceRequestId) {
    await ec2.send(new CancelSpotInstanceRequestsCommand({ SpotInstanceRequestIds: [instance.SpotInstanceRequestId] }));
    log(`cancelled spot request ${instance.SpotInstanceRequestId}`);
  }
  await ec2.send(new TerminateInstancesCommand({ InstanceIds: [instanceId] }));
  await waitUntilInstanceTerminated({ client: ec2, maxWaitTime: maxWaitSeconds, minDelay: 5 }, { InstanceIds: [instanceId] });
  log(`terminated ${instanceId}`);
}

/** The instance, or undefined when EC2 does not know it. */
async function describe(ec2: EC2Client, instanceId: string): Promise<Instance | undefined> {
  try {
    const out = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }));
    return out.Reservations?.[0]?.Instances?.[0];
  } catch (error) {
    if ((error as Error).name === 'InvalidInstanceID.NotFound' || (error as Error).name === 'InvalidInstanceID.Malformed') return undefined;
    throw error;
  }
}

/** Brings the machine's tags from `before` to `after` without touching other tags. */
async function retag(ec2: EC2Client, instanceId: string, before: readonly Tag[], after: readonly Tag[]): Promise<void> {
  const wanted = new Map(after.map((t) => [t.Key!, t.Value!]));
  const removed = before.filter((t) => !wanted.has(t.Key!));
  if (removed.length > 0) {
    await ec2.send(new DeleteTagsCommand({ Resources: [instanceId], Tags: removed.map((t) => ({ Key: t.Key })) }));
  }
  if (after.length > 0) await ec2.send(new CreateTagsCommand({ Resources: [instanceId], Tags: [...after] }));
}

/** True when the change from `before` to `after` can be made to the running machine. */
export function changesInPlace(before: Record<string, unknown>, after: Record<string, unknown>): boolean {
  const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
  return [...keys].every((key) => IN_PLACE_SPOT_MACHINE_PROPERTIES.includes(key) || JSON.stringify(before[key]) === JSON.stringify(after[key]));
}

/** Seconds a waiter may take, leaving the function time to answer CloudFormation. */
function waitBudget(context: HandlerContext, cap: number): number {
  return Math.max(10, Math.min(cap, Math.floor(context.getRemainingTimeInMillis() / 1000) - 30));
}

/** Waits until the machine runs and returns what the template reads with Fn::GetAtt. */
async function runningMachine(ec2: EC2Client, instanceId: string, market: string, context: HandlerContext): Promise<CustomResourceResult> {
  await waitUntilInstanceRunning({ client: ec2, maxWaitTime: waitBudget(context, 300), minDelay: 5 }, { InstanceIds: [instanceId] });
  const instance = await describe(ec2, instanceId);
  return {
    physicalResourceId: instanceId,
    data: {
      InstanceId: instanceId,
      PrivateIp: instance?.PrivateIpAddress ?? '',
      PublicIp: instance?.PublicIpAddress ?? '',
      PublicDnsName: instance?.PublicDnsName ?? '',
      Market: market,
    },
  };
}

const isInstanceId = (id: string | undefined): id is string => /^i-[0-9a-f]+$/.test(id ?? '');

/** Handles one request; exported for tests, which call it with their own client. */
export async function handleSpotMachine(ec2: EC2Client, event: CustomResourceEvent, context: HandlerContext): Promise<CustomResourceResult> {
  const log = (line: string) => console.log(`${event.LogicalResourceId}: ${line}`);
  const props = event.ResourceProperties as unknown as SpotMachineProperties;
  const current = event.PhysicalResourceId;
  if (event.RequestType === 'Delete') {
    if (isInstanceId(current)) await terminate(ec2, current, waitBudget(context, 600), log);
    return { physicalResourceId: current ?? event.LogicalResourceId };
  }
  if (event.RequestType === 'Update' && isInstanceId(current) && changesInPlace(event.OldResourceProperties ?? {}, props as any)) {
    await retag(ec2, current, event.OldResourceProperties?.Tags ?? [], props.Tags ?? []);
    const tags = (await describe(ec2, current))?.Tags ?? [];
    return runningMachine(ec2, current, tags.find((t) => t.Key === TAG_MARKET)?.Value ?? '', context);
  }
  // Create, or an update that replaces the machine: CloudFormation deletes
  // the old one once the new one is in place.
  const { instanceId, market } = await launch(ec2, props, log);
  try {
    return await runningMachine(ec2, instanceId, market, context);
  } catch (error) {
    // Leave nothing half-made behind: the failed machine is never handed to CloudFormation.
    await terminate(ec2, instanceId, waitBudget(context, 300), log).catch((e) => log(`could not terminate ${instanceId}: ${e}`));
    throw error;
  }
}

export const handler = customResourceHandler((event, context) => handleSpotMachine(new EC2Client({}), event, context));
