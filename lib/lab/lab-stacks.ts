import { createHash } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, CfnWaitConditionHandle, Stack, StackProps, Token } from 'aws-cdk-lib';
import * as cxapi from 'aws-cdk-lib/cx-api';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { denyDefaultEgress } from '../cluster/cluster-security-groups';
import { ConfigError } from '../config/errors';
import { DasklabConfig } from '../config/schema';
import { DASK_PORTS } from '../cluster/dask-ports';
import { workerNames } from '../cluster/worker-names';
import { DaskMachine } from '../machine/dask-machine';
import type { LockFileLocation, MaterialsLocation } from '../bootstrap/bootstrap-user-data';
import { LabSchedule } from './lab-schedule';
import { checkLargestShard, largestShard, ShardMeasure } from './lab-size';
import { FleetBase, MachineFleet } from '../machine/machine-fleet';
import { fleetSettingsOf, importedKeyPairOf, pythonLockOf, ubuntuArchitectureOf } from '../machine/machine-stack';
import { LabStudentFleet } from './lab-student-fleet';
import { CourseMaterialsAsset } from './course-materials-asset';
import { tagApp } from '../tags';

/**
 * Number of stacks a lab's machines are spread over, whatever the class size.
 * A student's stack follows from their id alone, so adding or removing a
 * student never moves another student's machine to another stack; and the
 * number is fixed, so a stack never disappears from the app (a removed
 * student's machine is deleted by the next deploy, not left running). Each
 * lab's fullest stack is weighed against CloudFormation's limits at synth
 * (lab-size.ts).
 */
export const LAB_SHARDS = 16;

/** A student of the roster. */
export interface LabStudent {
  readonly id: string;
  readonly name?: string;
  readonly email?: string;
}

/** The stack (1..LAB_SHARDS) a student's machines live in. */
export function shardOf(studentId: string): number {
  return (createHash('sha256').update(studentId).digest().readUInt32BE(0) % LAB_SHARDS) + 1;
}

/** The subnet (index) a student's machines live in: stable, spread over AZs. */
export function subnetIndexOf(studentId: string): number {
  return createHash('sha256').update(studentId).digest().readUInt32BE(4);
}

export function labSharedStackName(config: DasklabConfig): string {
  return `${config.name}-Lab-Shared`;
}

export function labShardStackName(config: DasklabConfig, shard: number): string {
  return `${config.name}-Lab-${shard}`;
}

/** Properties of {@link LabSharedStack}. */
export interface LabSharedStackProps extends StackProps {
  readonly config: DasklabConfig;
}

/**
 * `<name>-Lab-Shared`: what every student's machine shares, created once:
 * the network, the security group, the role and its instance profile. The
 * student stacks depend on it and on nothing else, so they all deploy at once.
 *
 * CloudFormation refuses to change or remove an export that another stack
 * imports (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/intrinsic-function-reference-importvalue.html),
 * and `cdk deploy --all` updates this stack before the student stacks. So it
 * exports a fixed set of values that no config change alters: the VPC, every
 * public subnet (also one no student uses), the security group (its rules
 * change in place) and the instance profile. What changes with the config
 * (launch templates, key pairs, user data) lives in the student stacks. SSM
 * parameters would not do instead: CloudFormation reads a parameter's value
 * when it updates a stack (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/systems-manager-parameter-types.html),
 * but `cdk deploy` skips a stack whose template did not change.
 */
export class LabSharedStack extends Stack {
  public readonly fleet: MachineFleet;
  public readonly instanceProfile: iam.InstanceProfile;
  /**
   * The course materials (lab.materials), one asset for the class, which the
   * lab machines' role may read. The student stacks name its bucket and key
   * in user data: a key is the hash of the content, and the bucket's name
   * follows from the account and region, so no export carries them.
   */
  public readonly materials?: CourseMaterialsAsset;
  /** The app's lock file (python.lockFile), which the student stacks name as they name the materials. */
  public readonly pythonLock?: LockFileLocation;

  constructor(scope: Construct, id: string, props: LabSharedStackProps) {
    super(scope, id, {
      description: `dasklab ${props.config.name}: what the lab's machines share`,
      ...props,
    });
    tagApp(this, props.config.name);
    const settings = fleetSettingsOf(props.config);
    this.pythonLock = pythonLockOf(this, props.config);
    // The lab's packages name the version set the role may share (the fleet has no machines of its own).
    this.fleet = new MachineFleet(this, 'Fleet', {
      ...settings,
      bootstrap: { ...settings.bootstrap, packages: labPackagesOf(props.config), lockFile: this.pythonLock },
    });
    this.instanceProfile = new iam.InstanceProfile(this, 'InstanceProfile', { role: this.fleet.instanceRole.role });
    const lab = props.config.lab!;
    // The student stacks name it by its parameter (LabStudentFleet), built here once for the class.
    if (props.config.machine.bake) this.fleet.bakedImageFor(ubuntuArchitectureOf(lab.instanceType), lab.instanceType);
    if (lab.materials !== null) {
      this.materials = new CourseMaterialsAsset(this, 'CourseMaterials', { materials: lab.courseMaterials! });
      this.materials.grantRead(this.fleet.instanceRole.role);
    }
    // Exported whether or not a student stack reads them today, under the names the CDK gives the
    // references of the student stacks, so that no student removed or added removes or adds an export.
    // An existing VPC's ids are plain values in every stack, not exports.
    for (const value of [
      this.fleet.network.vpc.vpcId,
      ...this.fleet.network.subnets.map((subnet) => subnet.subnetId),
      this.fleet.securityGroup.securityGroupId,
      this.instanceProfile.instanceProfileArn,
    ]) {
      if (Token.isUnresolved(value)) this.exportValue(value);
    }
  }
}

/** What every lab machine installs: python.packages and the course's own (a worker runs the notebooks' tasks). */
function labPackagesOf(config: DasklabConfig): string[] {
  return [...config.python.packages, ...(config.lab!.courseMaterials?.requirements ?? [])];
}

/** Properties of {@link LabShardStack}. */
export interface LabShardStackProps extends StackProps {
  readonly config: DasklabConfig;
  readonly shared: LabSharedStack;
  /** The students of this stack, in roster order. */
  readonly students: readonly LabStudent[];
}

/**
 * `<name>-Lab-<k>`: the machines of the students whose ids hash to stack k.
 * Each student gets a machine (role `student`) or, with
 * `lab.workersPerStudent`, a scheduler and workers of their own, each machine
 * with its own key pair.
 */
export class LabShardStack extends Stack {
  public readonly machines: DaskMachine[] = [];

  constructor(scope: Construct, id: string, props: LabShardStackProps) {
    const { config, shared, students } = props;
    const lab = config.lab!;
    super(scope, id, {
      description: `dasklab ${config.name}: lab machines of ${students.length} students`,
      ...props,
    });
    tagApp(this, config.name);
    // A stack needs a resource even when none of the roster's ids hash to it.
    new CfnWaitConditionHandle(this, 'Placeholder');

    const settings = fleetSettingsOf(config);
    const fleet = new LabStudentFleet(this, 'Fleet', {
      ...settings,
      keyPair: students.length > 0 ? importedKeyPairOf(this, config) : undefined,
      bootstrap: {
        ...settings.bootstrap,
        packages: labPackagesOf(config),
        lockFile: shared.pythonLock,
        idleStopMinutes: lab.idleStopMinutes,
        trainerPublicKey: lab.trainerPublicKey ?? undefined,
      },
      network: shared.fleet.network,
      securityGroup: shared.fleet.securityGroup,
      identity: { role: shared.fleet.instanceRole.role, instanceProfile: shared.instanceProfile },
      versionSet: shared.fleet.versionSet,
    });
    const instanceType = lab.instanceType;
    for (const student of students) {
      const scope = new Construct(this, `Student-${student.id}`);
      const common = {
        instanceType,
        architecture: ubuntuArchitectureOf(instanceType),
        student: student.id,
        subnetIndex: subnetIndexOf(student.id),
      };
      if (lab.workersPerStudent === 0) {
        this.machines.push(
          fleet.addMachine(scope, 'Machine', {
            ...common,
            role: 'student',
            name: `${config.name}-${student.id}`,
            jupyter: lab.jupyter,
            materials: shared.materials?.location,
          }),
        );
        continue;
      }
      this.machines.push(...addStudentCluster(scope, fleet, config, common, student.id, lab.workersPerStudent, shared.materials?.location));
    }
    if (lab.schedule && this.machines.length > 0) {
      new LabSchedule(this, 'Schedule', { schedule: lab.schedule, instances: this.machines, app: config.name });
    }
  }
}

/**
 * A student's own small cluster. Its workers learn the scheduler's address
 * from the template (`Fn::GetAtt`), so within one student the scheduler is
 * created first; all students still come up in parallel. A security group of
 * the student's own opens the Dask ports between that student's machines only.
 */
function addStudentCluster(
  scope: Construct,
  fleet: FleetBase,
  config: DasklabConfig,
  common: { instanceType: string; architecture: 'amd64' | 'arm64'; student: string; subnetIndex: number },
  studentId: string,
  workers: number,
  materials: MaterialsLocation | undefined,
): DaskMachine[] {
  const group = new ec2.SecurityGroup(scope, 'Cluster', {
    vpc: fleet.network.vpc,
    description: `dasklab lab: Dask traffic between the machines of student ${studentId}`,
    allowAllOutbound: false,
  });
  denyDefaultEgress(group);
  for (const port of [ec2.Port.tcp(DASK_PORTS.scheduler), ec2.Port.tcpRange(DASK_PORTS.worker, DASK_PORTS.nanny)]) {
    group.addIngressRule(group, port, 'Dask, between this student’s machines');
    group.addEgressRule(group, port, 'Dask, between this student’s machines');
  }
  const names = workerNames(workers);
  const scheduler = fleet.addMachine(scope, 'Scheduler', {
    ...common,
    role: 'scheduler',
    name: `${config.name}-${studentId}-scheduler`,
    extraSecurityGroups: [group],
    dask: { schedulerHost: '127.0.0.1', name: 'scheduler', expectedWorkerCount: names.length },
    jupyter: config.lab!.jupyter,
    // Where the student works; their workers have the course's packages, not its files.
    materials,
  });
  const workerMachines = names.map((name, i) =>
    fleet.addMachine(scope, `Worker${i + 1}`, {
      ...common,
      role: 'worker',
      name: `${config.name}-${studentId}-${name}`,
      extraSecurityGroups: [group],
      dask: { schedulerHost: scheduler.privateIp, name },
    }),
  );
  return [scheduler, ...workerMachines];
}

/**
 * Most machines a lab may have. Whether the fullest student stack also stays
 * within CloudFormation's limits depends on how the ids hash and on the
 * machines' user data, and is checked for each lab (see lab-size.ts).
 */
export const LAB_MACHINE_LIMIT = 800;

/** Adds the lab's stacks: the shared one and LAB_SHARDS student stacks. */
export function addLabStacks(app: App, config: DasklabConfig, students: readonly LabStudent[]): void {
  const perStudent = 1 + config.lab!.workersPerStudent;
  if (students.length * perStudent > LAB_MACHINE_LIMIT) {
    throw new ConfigError(`The lab of ${config.name} is too large`, [
      `lab: ${students.length} students with ${perStudent} machines each are ${students.length * perStudent} machines; ` +
        `expected at most ${LAB_MACHINE_LIMIT} machines ` +
        `(with workersPerStudent ${config.lab!.workersPerStudent}: at most ${Math.floor(LAB_MACHINE_LIMIT / perStudent)} students)`,
    ]);
  }
  const byShard = new Map<number, LabStudent[]>();
  for (const student of students) {
    const shard = shardOf(student.id);
    byShard.set(shard, [...(byShard.get(shard) ?? []), student]);
  }
  const ids = new Map([...byShard].map(([shard, members]) => [shard, members.map((s) => s.id)]));
  checkLargestShard(config, largestShard(config, ids, (shard) => labShardStackName(config, shard), (probe, shard) => measureShard(config, shard, probe)));

  const shared = new LabSharedStack(app, labSharedStackName(config), { config });
  for (let shard = 1; shard <= LAB_SHARDS; shard++) {
    const stack = new LabShardStack(app, labShardStackName(config, shard), {
      config,
      shared,
      students: byShard.get(shard) ?? [],
    });
    stack.addStackDependency(shared);
  }
}

/** Synthesizes student stack `shard` of `config` holding the given students, apart from the app, and weighs its template. */
function measureShard(config: DasklabConfig, shard: number, studentIds: readonly string[]): ShardMeasure {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'dasklab-lab-size-'));
  try {
    // The materials are fingerprinted, not copied again, for a probe, and no Lambda code is bundled:
    // the student stack's template is what is weighed.
    const probe = new App({ outdir, context: { [cxapi.DISABLE_ASSET_STAGING_CONTEXT]: true, [cxapi.BUNDLING_STACKS]: [] } });
    const shared = new LabSharedStack(probe, labSharedStackName(config), { config });
    const stack = new LabShardStack(probe, labShardStackName(config, shard), { config, shared, students: studentIds.map((id) => ({ id })) });
    const artifact = probe.synth().getStackByName(stack.stackName);
    return {
      bytes: fs.statSync(path.join(outdir, artifact.templateFile)).size,
      resources: Object.keys(artifact.template.Resources ?? {}).length,
    };
  } finally {
    fs.rmSync(outdir, { recursive: true, force: true });
  }
}
