import * as fs from 'fs';
import * as path from 'path';

/**
 * Reads a synthesized CloudFormation template the way the twin needs it: its
 * EC2 instances, the wait condition each one signals, and their user data with
 * the intrinsics resolved to twin values.
 */

type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any

/** One AWS::EC2::Instance of the template. */
export interface TemplateInstance {
  logicalId: string;
  /** The `dasklab:role` tag, or '' when the instance has none. */
  role: string;
  /** The `Name` tag, or ''. */
  name: string;
  instanceType: string;
  /** The unresolved `Fn::Base64` argument. */
  userData: Json;
  /** The wait condition that waits for this instance (DependsOn includes it). */
  waitCondition: string;
  /** The handle that wait condition listens on. */
  handle: string;
  /** The wait condition's Timeout, in seconds. */
  timeoutSeconds: number;
  /** PrivateIpAddress, when the template fixes it (a cluster's scheduler). */
  privateIpAddress?: string;
}

export interface LoadedTemplate {
  stack: string;
  file: string;
  instances: TemplateInstance[];
  /** Logical ids of every AWS::CloudFormation::WaitConditionHandle. */
  handles: Set<string>;
  /** The CidrBlock of the template's VPC, if it has exactly one with a literal block. */
  vpcCidr?: string;
}

/** Values the twin substitutes for intrinsics. */
export interface IntrinsicValues {
  region: string;
  stackName: string;
  /** URL of the signal receiver for a wait-condition handle. */
  signalUrl(handleLogicalId: string): string;
  /** The twin IP of an instance. */
  privateIp(instanceLogicalId: string): string;
}

const asList = (v: Json): string[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

function tag(props: Json, key: string): string {
  const found = (props.Tags ?? []).find((t: Json) => t.Key === key);
  if (found && typeof found.Value !== 'string') {
    throw new Error(`tag ${key} is not a plain string: ${JSON.stringify(found.Value)}`);
  }
  return found?.Value ?? '';
}

/** Loads `<dir>/<stack>.template.json` and pairs each instance with its wait condition. */
export function loadTemplate(dir: string, stack: string): LoadedTemplate {
  const file = path.join(dir, `${stack}.template.json`);
  if (!fs.existsSync(file)) {
    const found = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.template.json')) : [];
    throw new Error(`no ${file}; templates there: ${found.join(', ') || 'none'}`);
  }
  const resources: Record<string, Json> = JSON.parse(fs.readFileSync(file, 'utf8')).Resources ?? {};
  const waits = Object.entries(resources).filter(([, r]) => r.Type === 'AWS::CloudFormation::WaitCondition');
  const instances: TemplateInstance[] = [];
  for (const [logicalId, r] of Object.entries(resources)) {
    if (r.Type !== 'AWS::EC2::Instance') continue;
    const props = r.Properties ?? {};
    const matching = waits.filter(([, w]) => asList(w.DependsOn).includes(logicalId));
    if (matching.length !== 1) {
      throw new Error(`instance ${logicalId} is waited for by ${matching.length} wait conditions; the twin needs exactly one`);
    }
    const [waitId, wait] = matching[0];
    const handle = wait.Properties?.Handle?.Ref;
    if (typeof handle !== 'string' || resources[handle]?.Type !== 'AWS::CloudFormation::WaitConditionHandle') {
      throw new Error(`wait condition ${waitId} has no Ref to a WaitConditionHandle: ${JSON.stringify(wait.Properties?.Handle)}`);
    }
    const b64 = props.UserData?.['Fn::Base64'];
    if (b64 === undefined) throw new Error(`instance ${logicalId} has no UserData {"Fn::Base64": ...}`);
    if (typeof props.InstanceType !== 'string') {
      throw new Error(`instance ${logicalId} has no plain InstanceType: ${JSON.stringify(props.InstanceType)}`);
    }
    instances.push({
      logicalId,
      role: tag(props, 'dasklab:role'),
      name: tag(props, 'Name'),
      instanceType: props.InstanceType,
      userData: b64,
      waitCondition: waitId,
      handle,
      timeoutSeconds: Number(wait.Properties?.Timeout ?? 43200),
      privateIpAddress: typeof props.PrivateIpAddress === 'string' ? props.PrivateIpAddress : undefined,
    });
    if (props.PrivateIpAddress !== undefined && typeof props.PrivateIpAddress !== 'string') {
      throw new Error(`instance ${logicalId}: the twin needs a literal PrivateIpAddress, got ${JSON.stringify(props.PrivateIpAddress)}`);
    }
  }
  if (instances.length === 0) throw new Error(`${file} has no AWS::EC2::Instance`);
  const handles = new Set(
    Object.keys(resources).filter((id) => resources[id].Type === 'AWS::CloudFormation::WaitConditionHandle'),
  );
  const vpcs = Object.values(resources).filter((r) => r.Type === 'AWS::EC2::VPC');
  const vpcCidr = vpcs.length === 1 && typeof vpcs[0].Properties?.CidrBlock === 'string' ? vpcs[0].Properties.CidrBlock : undefined;
  return { stack, file, instances, handles, vpcCidr };
}

const PSEUDO: Record<string, (v: IntrinsicValues) => string> = {
  'AWS::Region': (v) => v.region,
  'AWS::StackName': (v) => v.stackName,
  'AWS::Partition': () => 'aws',
  'AWS::URLSuffix': () => 'amazonaws.com',
  'AWS::AccountId': () => '000000000000',
};

/** Resolves the intrinsics the twin knows to strings; throws on any other. */
export function resolve(node: Json, values: IntrinsicValues): string {
  if (typeof node === 'string') return node;
  if (node === null || typeof node !== 'object' || Array.isArray(node)) {
    throw new Error(`cannot resolve ${JSON.stringify(node)} to a string`);
  }
  const keys = Object.keys(node);
  if (keys.length !== 1) throw new Error(`not an intrinsic: ${JSON.stringify(node)}`);
  const [fn] = keys;
  const arg = node[fn];
  if (fn === 'Fn::Join') {
    const [sep, parts] = arg;
    return (parts as Json[]).map((p) => resolve(p, values)).join(sep);
  }
  if (fn === 'Ref') {
    if (PSEUDO[arg]) return PSEUDO[arg](values);
    if (typeof arg === 'string' && !arg.startsWith('AWS::')) return values.signalUrl(arg);
  }
  if (fn === 'Fn::GetAtt' && Array.isArray(arg) && arg[1] === 'PrivateIp') {
    return values.privateIp(arg[0]);
  }
  throw new Error(`the twin does not know the intrinsic ${JSON.stringify(node)}`);
}

/**
 * Resolves an instance's user data. A Ref to anything but a wait-condition
 * handle is rejected: the twin has nothing to put there.
 */
export function resolveUserData(inst: TemplateInstance, values: IntrinsicValues, handles: Set<string>): string {
  const checked: IntrinsicValues = {
    ...values,
    signalUrl: (id) => {
      if (!handles.has(id)) throw new Error(`user data of ${inst.logicalId} Refs ${id}, which is not a wait-condition handle`);
      return values.signalUrl(id);
    },
  };
  return resolve(inst.userData, checked);
}
