import * as fs from 'fs';
import * as path from 'path';
import * as yaml from 'js-yaml';
import { spawnSync } from 'child_process';
import { cachedBuild, hashOf } from './cache';
import { onCleanup } from './cleanup';
import { adaptUserData } from './deviations';
import { SsmGrant } from './instance-roles';
import { Machine } from './machine';
import { TwinMoto } from './moto';
import { AWS_ENDPOINT_URL, PIP_INDEX_URL } from './network';
import { mustRun, RunResult, sleep } from './proc';
import { rootfsKey } from './rootfs';
import { writeSeed } from './seed';
import { Services } from './services';
import { followImport, IntrinsicValues, LoadedApp, resolve, TemplateInstance } from './template';

/**
 * A baked machine image, as the template has EC2 Image Builder make it: a
 * launch template whose ImageId is `resolve:ssm:<name>` names the
 * AWS::SSM::Parameter of that name, whose Value is an AWS::ImageBuilder::Image's
 * ImageId; the image's recipe lists the components whose documents' build phase
 * runs on a build instance, as the role of the infrastructure configuration's
 * instance profile. The twin builds it the same way: it boots a container of
 * its rootfs (the parent image) like a machine, runs the build phase's
 * ExecuteBash steps in it as root, stops it, does what Image Builder's
 * post-build cleanup does that matters to the copies booted from it, and keeps
 * its root as a directory the machines then boot from (cached).
 */

type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any

/** Canonical's public parameters: the parent image, which is the twin's rootfs. */
const CANONICAL_PARAMETERS = /^\/aws\/service\/canonical\//;

/** One ExecuteBash step of a component's build phase. */
export interface BuildStep {
  component: string;
  name: string;
  /** Its commands, as the one bash script ExecuteBash runs them as. */
  script: string;
}

/** An image of the app, as its Image Builder resources define it. */
export interface ImageSpec {
  /** The SSM parameter that holds its AMI id, as launch templates name it. */
  parameterName: string;
  /** The stack holding the image's resources. */
  stack: string;
  /** The first component's name (`dasklab-<app>-<arch>-<digest>`). */
  name: string;
  steps: BuildStep[];
  /** The build instance's role: the infrastructure configuration's instance profile's. */
  buildRole: string;
  /** The infrastructure configuration's first instance type. */
  instanceType: string;
}

const getAttOf = (node: Json, attribute: string): string | undefined =>
  Array.isArray(node?.['Fn::GetAtt']) && node['Fn::GetAtt'][1] === attribute ? node['Fn::GetAtt'][0] : undefined;

/**
 * The SSM parameter name a machine's image is resolved from: its own ImageId
 * or its launch template's, when that is `resolve:ssm:<name>`.
 */
export function imageParameterOf(app: LoadedApp, inst: TemplateInstance): string | undefined {
  const resources = app.templates.get(inst.stack!)!.resources ?? {};
  const props = resources[inst.logicalId]?.Properties ?? {};
  let imageId: Json = props.ImageId;
  // An instance names its launch template under LaunchTemplate; a spot machine (custom resource) directly.
  const ltNode = props.LaunchTemplate?.LaunchTemplateId ?? props.LaunchTemplateId;
  if (imageId === undefined && ltNode !== undefined) {
    const { stack, node } = followImport(app, inst.stack!, ltNode);
    const lt = typeof node?.Ref === 'string' ? app.templates.get(stack)?.resources?.[node.Ref] : undefined;
    if (lt?.Type !== 'AWS::EC2::LaunchTemplate') throw new Error(`${inst.logicalId}: its launch template ${JSON.stringify(ltNode)} is no AWS::EC2::LaunchTemplate of the app`);
    imageId = lt.Properties?.LaunchTemplateData?.ImageId;
  }
  // No image named at all (the twin's own fixtures): the rootfs.
  if (imageId === undefined) return undefined;
  if (typeof imageId !== 'string') throw new Error(`${inst.logicalId}: the twin needs a literal ImageId, got ${JSON.stringify(imageId)}`);
  const name = /^resolve:ssm:(.+)$/.exec(imageId)?.[1];
  if (!name) throw new Error(`${inst.logicalId}: ImageId ${imageId} names no SSM parameter; the twin knows no AMI ids`);
  return CANONICAL_PARAMETERS.test(name) ? undefined : name;
}

/** Follows the parameter named `parameterName` to the image's components and build role. */
export function imageSpecOf(app: LoadedApp, parameterName: string, values: Omit<IntrinsicValues, 'stackName'>): ImageSpec {
  const found = [...app.templates].flatMap(([stack, t]) =>
    Object.values<Json>(t.resources ?? {})
      .filter((r) => r.Type === 'AWS::SSM::Parameter' && r.Properties?.Name === parameterName)
      .map((r) => ({ stack, parameter: r })),
  );
  if (found.length !== 1) throw new Error(`the launch template's image parameter ${parameterName} is created by ${found.length} AWS::SSM::Parameter of the app; the twin needs exactly one`);
  const { stack, parameter } = found[0];
  const resources: Record<string, Json> = app.templates.get(stack)!.resources ?? {};
  const follow = (node: Json, attribute: string, type: string, what: string): Json => {
    const id = getAttOf(node, attribute);
    const r = id ? resources[id] : undefined;
    if (r?.Type !== type) throw new Error(`${what} ${JSON.stringify(node)} is no Fn::GetAtt ${attribute} of an ${type} in ${stack}`);
    return r;
  };
  const image = follow(parameter.Properties.Value, 'ImageId', 'AWS::ImageBuilder::Image', `the Value of ${parameterName}`);
  const recipe = follow(image.Properties?.ImageRecipeArn, 'Arn', 'AWS::ImageBuilder::ImageRecipe', 'the image\'s ImageRecipeArn');
  const infra = follow(image.Properties?.InfrastructureConfigurationArn, 'Arn', 'AWS::ImageBuilder::InfrastructureConfiguration', 'the image\'s InfrastructureConfigurationArn');
  const parent = recipe.Properties?.ParentImage;
  if (typeof parent !== 'string' || !CANONICAL_PARAMETERS.test(parent.replace(/^ssm:/, ''))) {
    throw new Error(`the recipe of ${parameterName} has the parent image ${JSON.stringify(parent)}; the twin's parent image is its rootfs, standing for Canonical's (ssm:/aws/service/canonical/...)`);
  }
  const steps: BuildStep[] = [];
  let name = '';
  for (const c of recipe.Properties?.Components ?? []) {
    const component = follow(c.ComponentArn, 'Arn', 'AWS::ImageBuilder::Component', 'a recipe ComponentArn');
    const props = component.Properties ?? {};
    name ||= String(props.Name);
    if (props.Platform !== 'Linux') throw new Error(`component ${props.Name}: platform ${props.Platform}; the twin builds Linux images only`);
    if (props.Data === undefined) throw new Error(`component ${props.Name} has no inline Data (the twin reads no component from S3)`);
    const document: Json = yaml.safeLoad(resolve(props.Data, { ...values, stackName: stack }));
    // Image Builder's build runs the build and validate phases; test runs on another instance, after the image is made.
    for (const phase of (document?.phases ?? []).filter((p: Json) => p.name === 'build' || p.name === 'validate')) {
      for (const step of phase.steps ?? []) {
        if (step.action !== 'ExecuteBash') throw new Error(`component ${props.Name}, step ${step.name}: action ${step.action}; the twin runs ExecuteBash steps only`);
        const commands = step.inputs?.commands;
        if (!Array.isArray(commands) || !commands.every((x) => typeof x === 'string')) throw new Error(`component ${props.Name}, step ${step.name}: inputs.commands is no list of strings`);
        steps.push({ component: String(props.Name), name: String(step.name), script: commands.join('\n') });
      }
    }
  }
  if (steps.length === 0) throw new Error(`the recipe of ${parameterName} has no ExecuteBash step in a build phase`);
  const profileRef = infra.Properties?.InstanceProfileName?.Ref;
  const profile = resources[profileRef];
  if (profile?.Type !== 'AWS::IAM::InstanceProfile') throw new Error(`the infrastructure configuration of ${parameterName} names no AWS::IAM::InstanceProfile of ${stack} by Ref`);
  const roles = (profile.Properties?.Roles ?? []).map((r: Json) => r?.Ref);
  if (roles.length !== 1 || resources[roles[0]]?.Type !== 'AWS::IAM::Role') throw new Error(`instance profile ${profileRef} has no Ref to one AWS::IAM::Role of ${stack}`);
  return {
    parameterName,
    stack,
    name,
    steps,
    buildRole: roles[0],
    instanceType: String(infra.Properties?.InstanceTypes?.[0] ?? 't3.medium'),
  };
}

/** The steps as the twin runs them: the bootstrap's parameters rewritten as in the machines' user data (deviations.ts). */
export function twinScripts(spec: ImageSpec): string[] {
  return spec.steps.map((s) =>
    s.script.includes('# >>> dasklab parameters')
      ? adaptUserData(s.script, { pipIndexUrl: PIP_INDEX_URL, awsEndpointUrl: AWS_ENDPOINT_URL }).script
      : s.script,
  );
}

/** The build instance: a twin machine of its own, with its own addresses and IMDS identity. */
export interface Builder {
  instanceId: string;
  ip: string;
  cidrs: string[];
  hostname: string;
  name: string;
  netnsPath: string;
  /** What its role allows in SSM Parameter Store (instance-roles.ts). */
  ssmGrants: SsmGrant[];
}

export interface BuildContext {
  rootfs: string;
  /** The cached apt repo and pip index the build installs from (part of the cache key). */
  indexesDir: string;
  runDir: string;
  services: Services;
  moto?: TwinMoto;
  region: string;
  log: (msg: string) => void;
}

/** A built image: its root, and the seconds its build took here (0 when cached). */
export interface BuiltImage {
  rootfs: string;
  seconds: number;
}

/** What the build put into SSM (the app's version set), kept with the image. */
const PUT_PARAMETERS = 'parameters.json';

/**
 * Image Builder's Linux post-build cleanup, as far as it matters to copies
 * booted from the image: cloud-init's instance state and logs (cloud-init runs
 * the next instance's user data), the machine id, SSH host keys and
 * authorized keys, temporary files.
 * https://docs.aws.amazon.com/imagebuilder/latest/userguide/security-best-practices.html#post-build-cleanup
 */
const CLEANUP = [
  'set -eu',
  'cloud-init clean --logs --machine-id',
  // Ubuntu's images link D-Bus's machine id to /etc/machine-id; the twin's debootstrapped rootfs has a copy,
  // from which systemd would give every copy the build's id again.
  'ln -sfn /etc/machine-id /var/lib/dbus/machine-id',
  'rm -f /etc/ssh/ssh_host_*',
  'rm -f ~root/.ssh/authorized_keys /home/*/.ssh/authorized_keys',
  'rm -rf /tmp/* /var/tmp/*',
].join('\n');

/**
 * Returns the image's root, building it first unless it is cached under a
 * digest of its scripts (as the twin runs them), the rootfs, the indexes and
 * this file. The builder must be known to the services (IMDS, the AWS
 * endpoint) already. A build that fails throws with its log's tail.
 */
export async function ensureImage(spec: ImageSpec, builder: Builder, ctx: BuildContext): Promise<BuiltImage> {
  const scripts = twinScripts(spec);
  const key = hashOf(rootfsKey(), path.basename(ctx.indexesDir), fs.readFileSync(__filename), ...scripts);
  // One cache slot per app and architecture (the component name without its digest): a rebuild replaces it.
  const kind = `image-${spec.name.replace(/-[0-9a-f]+$/, '')}`;
  const result = await cachedBuild(kind, key, async (tmp) => {
    ctx.log(`image ${spec.name}: building (${spec.steps.length} step(s)) on ${builder.name} as ${spec.stack}/${spec.buildRole} ...`);
    await build(spec, scripts, builder, ctx, tmp);
  });
  const dir = result.dir;
  if (result.built) {
    ctx.log(`image ${spec.name} built in ${result.seconds.toFixed(0)} s: ${dir}`);
  } else {
    ctx.log(`image ${spec.name}: cached ${dir}`);
    await restoreParameters(dir, ctx);
  }
  return { rootfs: path.join(dir, 'rootfs'), seconds: result.seconds };
}

async function build(spec: ImageSpec, scripts: string[], builder: Builder, ctx: BuildContext, tmp: string): Promise<void> {
  const seedDir = path.join(ctx.runDir, `seed-${builder.name}`);
  // Image Builder launches the build instance with no user data of the app: cloud-init has nothing to run.
  writeSeed(seedDir, { instanceId: builder.instanceId, hostname: builder.hostname, cidrs: builder.cidrs, userData: '#cloud-config\n{}\n' });
  const machine = new Machine({
    logicalId: spec.name,
    role: 'image-build',
    instanceId: builder.instanceId,
    ip: builder.ip,
    hostname: builder.hostname,
    name: builder.name,
    rootfs: ctx.rootfs,
    netnsPath: builder.netnsPath,
    seedDir,
    consoleLog: path.join(ctx.runDir, `console-${builder.name}.log`),
    persistentDir: path.join(tmp, 'build'),
  });
  const logFile = path.join(ctx.runDir, `image-build-${builder.name}.log`);
  try {
    await machine.boot();
    // Image Builder runs the steps once the instance is up and its SSM agent online; here: once cloud-init is done.
    const booted = await untilRunning(machine, ['cloud-init', 'status', '--wait'], 300_000);
    // 2: done with recoverable errors (deprecated keys, say), which do not keep an instance from running commands.
    await mustSucceed(booted.code === 2 ? { ...booted, code: 0 } : booted, 'cloud-init status --wait', logFile);
    for (const [k, script] of scripts.entries()) {
      const step = spec.steps[k];
      const file = `/var/tmp/dasklab-twin-image-step-${k}.sh`;
      fs.appendFileSync(logFile, `--- ${step.component} ${step.name} (ExecuteBash)\n`);
      await mustSucceed(await machine.exec(['sh', '-c', `cat >${file}`], { input: script }), `write ${file}`, logFile);
      // One bash script of the step's commands, as root; its output interleaved as a log would have it.
      const r = await machine.exec(['bash', '-c', 'bash "$0" 2>&1', file], { timeoutMs: 60 * 60 * 1000 });
      fs.appendFileSync(logFile, r.stdout + r.stderr);
      if (r.code !== 0) {
        const tail = (r.stdout + r.stderr).trimEnd().split('\n').slice(-40).join('\n');
        throw new Error(`image ${spec.name}: step ${step.name} of ${step.component} failed (exit ${r.code}); the build's log ends:\n${tail}`);
      }
    }
    await mustSucceed(await machine.exec(['sh', '-c', CLEANUP]), 'post-build cleanup', logFile);
    await savePutParameters(builder, ctx, tmp);
  } finally {
    await machine.stop();
  }
  // The image is the build instance's root as it stopped: its layer over the parent, copied into one tree.
  const merged = path.join(tmp, 'merged');
  fs.mkdirSync(merged);
  await mustRun('mount', ['-t', 'overlay', 'overlay', '-o', `ro,lowerdir=${path.join(tmp, 'build', 'upper')}:${ctx.rootfs}`, merged]);
  const unmount = onCleanup(`unmount ${merged}`, () => spawnSync('umount', ['-l', merged], { stdio: 'ignore' }));
  try {
    await mustRun('cp', ['-a', `${merged}/.`, path.join(tmp, 'rootfs')]);
  } finally {
    unmount();
  }
  fs.rmSync(merged, { recursive: true, force: true });
  fs.rmSync(path.join(tmp, 'build'), { recursive: true, force: true });
  fs.copyFileSync(logFile, path.join(tmp, 'build.log'));
}

/** Runs a command in a machine that has just been started, retrying while its systemd is not up yet. */
async function untilRunning(machine: Machine, cmd: string[], timeoutMs: number): Promise<RunResult> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await machine.exec(cmd, { timeoutMs: Math.max(1000, deadline - Date.now()) });
    if (r.code === 0 || r.code === 2 || Date.now() > deadline) return r;
    await sleep(1000);
  }
}

async function mustSucceed(r: RunResult, what: string, logFile: string): Promise<void> {
  if (r.code === 0) return;
  fs.appendFileSync(logFile, `${what}: exit ${r.code}\n${r.stdout}${r.stderr}`);
  throw new Error(`image build: ${what} exited ${r.code}: ${(r.stdout + r.stderr).slice(-2000)}`);
}

/**
 * Keeps what the build put into SSM Parameter Store (the app's version set)
 * beside the image: a run that reuses the cached image puts it into its own
 * moto, where it would be had the image been built in that run.
 */
async function savePutParameters(builder: Builder, ctx: BuildContext, tmp: string): Promise<void> {
  const names = [...new Set(ctx.services.ssmCalls
    .filter((c) => c.instanceId === builder.instanceId && c.action === 'PutParameter' && c.status === 200)
    .flatMap((c) => c.names))];
  const parameters = names.length && ctx.moto ? await ctx.moto.getParameters(ctx.region, names) : [];
  fs.writeFileSync(path.join(tmp, PUT_PARAMETERS), JSON.stringify(parameters, null, 2));
}

async function restoreParameters(dir: string, ctx: BuildContext): Promise<void> {
  const file = path.join(dir, PUT_PARAMETERS);
  const parameters = fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, 'utf8')) : [];
  if (parameters.length === 0) return;
  if (!ctx.moto) throw new Error(`the cached image ${dir} put SSM parameters, but moto is not running`);
  const script = [
    'import json, sys, boto3',
    'ssm = boto3.client("ssm", region_name=sys.argv[1])',
    'for p in json.loads(sys.argv[2]):',
    '    ssm.put_parameter(Name=p["name"], Value=p["value"], Type=p["type"], Tier="Intelligent-Tiering")',
  ].join('\n');
  const r = await ctx.moto.python(script, [ctx.region, JSON.stringify(parameters)]);
  if (r.code !== 0) throw new Error(`putting the cached image's parameters into moto: ${r.stderr.slice(-2000)}`);
  ctx.log(`image: put ${parameters.map((p: Json) => p.name).join(', ')} into SSM, as its build did`);
}
