import * as fs from 'fs';
import * as path from 'path';
import { SPOT_MACHINE_RESOURCE_TYPE } from '../../lib/machine/spot-machine-properties';

/**
 * Reads a synthesized CloudFormation template the way the twin needs it: its
 * EC2 instances, the wait condition each one signals, and their user data with
 * the intrinsics resolved to twin values.
 */

type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any

/** The resource types the twin boots as machines: instances, and spot machines (launched by a custom resource on AWS). */
export const MACHINE_RESOURCE_TYPES: readonly string[] = ['AWS::EC2::Instance', SPOT_MACHINE_RESOURCE_TYPE];

/** One machine of the template: an AWS::EC2::Instance or a spot machine. */
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
  /** The stack it belongs to (set by loadTemplate). */
  stack?: string;
  /** All its tags. */
  tags?: Record<string, string>;
  /** The unresolved KeyName property, if any. */
  keyName?: Json;
}

export interface LoadedTemplate {
  stack: string;
  file: string;
  instances: TemplateInstance[];
  /** Logical ids of every AWS::CloudFormation::WaitConditionHandle. */
  handles: Set<string>;
  /** The CidrBlock of the template's VPC, if it has exactly one with a literal block. */
  vpcCidr?: string;
  /** The template's Resources, unresolved. */
  resources?: Record<string, Json>;
  /** Its Outputs' exports: export name -> the unresolved output value. */
  exports?: Map<string, Json>;
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

/**
 * Loads `<dir>/<stack>.template.json` and pairs each instance with its wait condition.
 * A template without instances is an error unless opts.allowNoInstances.
 */
export function loadTemplate(dir: string, stack: string, opts: { allowNoInstances?: boolean } = {}): LoadedTemplate {
  const file = path.join(dir, `${stack}.template.json`);
  if (!fs.existsSync(file)) {
    const found = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.template.json')) : [];
    throw new Error(`no ${file}; templates there: ${found.join(', ') || 'none'}`);
  }
  const parsed = JSON.parse(fs.readFileSync(file, 'utf8'));
  const resources: Record<string, Json> = parsed.Resources ?? {};
  const waits = Object.entries(resources).filter(([, r]) => r.Type === 'AWS::CloudFormation::WaitCondition');
  const instances: TemplateInstance[] = [];
  for (const [logicalId, r] of Object.entries(resources)) {
    if (!MACHINE_RESOURCE_TYPES.includes(r.Type)) continue;
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
      stack,
      tags: Object.fromEntries((props.Tags ?? []).filter((t: Json) => typeof t.Value === 'string').map((t: Json) => [t.Key, t.Value])),
      keyName: props.KeyName,
    });
    if (props.PrivateIpAddress !== undefined && typeof props.PrivateIpAddress !== 'string') {
      throw new Error(`instance ${logicalId}: the twin needs a literal PrivateIpAddress, got ${JSON.stringify(props.PrivateIpAddress)}`);
    }
  }
  if (instances.length === 0 && !opts.allowNoInstances) throw new Error(`${file} has no AWS::EC2::Instance`);
  const handles = new Set(
    Object.keys(resources).filter((id) => resources[id].Type === 'AWS::CloudFormation::WaitConditionHandle'),
  );
  const vpcs = Object.values(resources).filter((r) => r.Type === 'AWS::EC2::VPC');
  const vpcCidr = vpcs.length === 1 && typeof vpcs[0].Properties?.CidrBlock === 'string' ? vpcs[0].Properties.CidrBlock : undefined;
  const exported = new Map<string, Json>();
  for (const [outputId, o] of Object.entries<Json>(parsed.Outputs ?? {})) {
    const name = o.Export?.Name;
    if (name === undefined) continue;
    if (typeof name !== 'string') throw new Error(`output ${outputId} of ${stack} has a non-literal export name: ${JSON.stringify(name)}`);
    exported.set(name, o.Value);
  }
  return { stack, file, instances, handles, vpcCidr, resources, exports: exported };
}

// ---------------------------------------------------------------------------
// Several stacks of one app (a lab: <name>-Lab-Shared and <name>-Lab-<k>)

/** The stacks of one synthesized app that the twin boots, and what they export. */
export interface LoadedApp {
  dir: string;
  /** Every template of the app (also those without instances), by stack name. */
  templates: Map<string, LoadedTemplate>;
  /** The stacks whose instances are booted, in the order given (or sorted naturally for a pattern). */
  booted: string[];
  /** The booted instances, stack by stack. */
  instances: TemplateInstance[];
  /** Export name -> the exporting stack and its unresolved output value, across the app. */
  exports: Map<string, { stack: string; value: Json }>;
  /** The CidrBlock of the app's VPC, if the whole app has exactly one with a literal block. */
  vpcCidr?: string;
}

const naturalOrder = (a: string, b: string): number => a.localeCompare(b, 'en', { numeric: true });

/**
 * Loads every template in dir and selects the stacks to boot: the names given
 * (each must exist; one without instances boots nothing), or every stack whose
 * name matches the pattern and has an instance. Logical ids of instances and
 * wait-condition handles must be unique across the booted stacks (the twin
 * names machines and signal URLs by them).
 */
export function loadApp(dir: string, stacks: string[] | RegExp): LoadedApp {
  const names = fs.existsSync(dir)
    ? fs.readdirSync(dir).filter((f) => f.endsWith('.template.json')).map((f) => f.slice(0, -'.template.json'.length))
    : [];
  const templates = new Map<string, LoadedTemplate>();
  const selected = Array.isArray(stacks) ? stacks : names.filter((s) => stacks.test(s));
  for (const s of selected) {
    if (!names.includes(s)) throw new Error(`no ${path.join(dir, `${s}.template.json`)}; stacks there: ${names.join(', ') || 'none'}`);
  }
  for (const name of names.sort(naturalOrder)) {
    // Stacks not booted are only read for their resources and exports, not checked.
    templates.set(name, selected.includes(name) ? loadTemplate(dir, name, { allowNoInstances: true }) : readResources(dir, name));
  }
  const booted = Array.isArray(stacks) ? stacks : selected.sort(naturalOrder).filter((s) => templates.get(s)!.instances.length > 0);
  const instances = booted.flatMap((s) => templates.get(s)!.instances);
  if (instances.length === 0) throw new Error(`no AWS::EC2::Instance in the stacks ${Array.isArray(stacks) ? stacks.join(', ') : String(stacks)} of ${dir}`);
  const seen = new Map<string, string>();
  for (const s of booted) {
    const t = templates.get(s)!;
    for (const id of t.instances.flatMap((i) => [i.logicalId, i.handle])) {
      if (seen.has(id) && seen.get(id) !== s) throw new Error(`logical id ${id} is in both ${seen.get(id)} and ${s}; the twin needs unique ids`);
      seen.set(id, s);
    }
  }
  const exports = new Map<string, { stack: string; value: Json }>();
  for (const [stack, t] of templates) {
    for (const [name, value] of t.exports ?? []) {
      if (exports.has(name)) throw new Error(`export ${name} is defined by both ${exports.get(name)!.stack} and ${stack}`);
      exports.set(name, { stack, value });
    }
  }
  const vpcs = [...templates.values()].flatMap((t) =>
    Object.values(t.resources ?? {}).filter((r: Json) => r.Type === 'AWS::EC2::VPC'),
  );
  const vpcCidr = vpcs.length === 1 && typeof vpcs[0].Properties?.CidrBlock === 'string' ? vpcs[0].Properties.CidrBlock : undefined;
  return { dir, templates, booted, instances, exports, vpcCidr };
}

/** A template's resources and exports only (a stack the twin does not boot). */
function readResources(dir: string, stack: string): LoadedTemplate {
  const file = path.join(dir, `${stack}.template.json`);
  const parsed = JSON.parse(fs.readFileSync(file, 'utf8'));
  const exports = new Map<string, Json>();
  for (const o of Object.values<Json>(parsed.Outputs ?? {})) {
    if (typeof o.Export?.Name === 'string') exports.set(o.Export.Name, o.Value);
  }
  return { stack, file, instances: [], handles: new Set(), resources: parsed.Resources ?? {}, exports };
}

/**
 * Follows `{"Fn::ImportValue": name}` to the exporting stack's output value, as
 * CloudFormation does; any other node stays in its own stack.
 */
export function followImport(app: LoadedApp, stack: string, node: Json): { stack: string; node: Json } {
  if (node && typeof node === 'object' && !Array.isArray(node) && 'Fn::ImportValue' in node) {
    const name = node['Fn::ImportValue'];
    if (typeof name !== 'string') throw new Error(`the twin needs a literal Fn::ImportValue name: ${JSON.stringify(node)}`);
    const exp = app.exports.get(name);
    if (!exp) throw new Error(`Fn::ImportValue ${name}: no stack of ${app.dir} exports it`);
    return followImport(app, exp.stack, exp.value);
  }
  return { stack, node };
}

/** An instance's AWS::EC2::KeyPair, as its KeyName names it. */
export interface TemplateKeyPair {
  /** Stack and logical id of the AWS::EC2::KeyPair resource. */
  stack: string;
  logicalId: string;
  /** Its KeyName (literal), or `<stack>-<logicalId>`. */
  keyName: string;
  /** 'ed25519' or 'rsa' (EC2's default). */
  keyType: string;
  /** PublicKeyMaterial when the key is imported; undefined: EC2 generates the pair. */
  publicKeyMaterial?: string;
}

/**
 * The key pair an instance's KeyName refers to: a Ref to an AWS::EC2::KeyPair
 * (in its own stack or, through Fn::ImportValue, in another), or a literal key
 * name of a KeyPair resource of the app. undefined when the instance has no KeyName.
 */
export function keyPairOf(app: LoadedApp, inst: TemplateInstance): TemplateKeyPair | undefined {
  if (inst.keyName === undefined) return undefined;
  const { stack, node } = followImport(app, inst.stack!, inst.keyName);
  const describe = (s: string, id: string, r: Json): TemplateKeyPair => {
    const p = r.Properties ?? {};
    if (p.PublicKeyMaterial !== undefined && typeof p.PublicKeyMaterial !== 'string') {
      throw new Error(`key pair ${id}: the twin needs a literal PublicKeyMaterial, got ${JSON.stringify(p.PublicKeyMaterial)}`);
    }
    return {
      stack: s,
      logicalId: id,
      keyName: typeof p.KeyName === 'string' ? p.KeyName : `${s}-${id}`,
      keyType: typeof p.KeyType === 'string' ? p.KeyType : 'rsa',
      publicKeyMaterial: p.PublicKeyMaterial,
    };
  };
  if (typeof node === 'string') {
    for (const [s, t] of app.templates) {
      for (const [id, r] of Object.entries<Json>(t.resources ?? {})) {
        if (r.Type === 'AWS::EC2::KeyPair' && r.Properties?.KeyName === node) return describe(s, id, r);
      }
    }
    throw new Error(`instance ${inst.logicalId}: KeyName ${node} is no AWS::EC2::KeyPair of the app (the twin knows no pre-existing key pairs)`);
  }
  const ref = node && typeof node === 'object' ? node.Ref : undefined;
  const r = typeof ref === 'string' ? app.templates.get(stack)?.resources?.[ref] : undefined;
  if (!r || r.Type !== 'AWS::EC2::KeyPair') {
    throw new Error(`instance ${inst.logicalId}: KeyName ${JSON.stringify(inst.keyName)} is not a Ref to an AWS::EC2::KeyPair`);
  }
  return describe(stack, ref, r);
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
  // The string form over pseudo parameters only, e.g. the CDK's asset bucket
  // "cdk-hnb659fds-assets-${AWS::AccountId}-${AWS::Region}".
  if (fn === 'Fn::Sub' && typeof arg === 'string') {
    return arg.replace(/\$\{([^}!]+)\}/g, (whole, name: string) => {
      if (!PSEUDO[name]) throw new Error(`the twin does not know ${whole} in ${JSON.stringify(node)}`);
      return PSEUDO[name](values);
    });
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
