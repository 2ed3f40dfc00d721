/**
 * What a deploy of a config would create, counted for the preflight checks.
 * It mirrors the stacks (lib/machine/machine-stack.ts, lib/cluster/cluster-stack.ts) without
 * building them, so preflight starts fast and needs no CDK.
 */
import { DasklabConfig } from '../../config';
import { addressInSubnet, clusterSchedulerAddress, NetworkConfig } from '../../config/network-schema';

/** One machine the deploy would launch. */
export interface PlannedMachine {
  readonly role: 'standalone' | 'scheduler' | 'worker' | 'student';
  readonly instanceType: string;
  /** Launched as a Spot instance (counts against the Spot vCPU quota). */
  readonly spot: boolean;
  /**
   * Which of the VPC's subnets (and so availability zones) it goes to, as the
   * stack places it: index modulo {@link VPC_AZ_COUNT}.
   */
  readonly subnetIndex: number;
}

/** What the deploy creates, counted. */
export interface DeployPlan {
  readonly machines: readonly PlannedMachine[];
  /** VPCs (one per stack). */
  readonly vpcs: number;
  /** Internet gateways (one per VPC). */
  readonly internetGateways: number;
  /** Key pairs: one per machine when generated, one shared when the config imports a public key. */
  readonly keyPairs: number;
  /** Security groups, including each VPC's default group. */
  readonly securityGroups: number;
  /** What the plan could not count. */
  readonly notes: readonly string[];
  /**
   * The existing VPC the machines go to.
   * @default - a VPC of the deploy's own
   */
  readonly network?: NetworkConfig;
  /** The machines install from python.codeArtifact (which needs its VPC endpoints). */
  readonly codeArtifact: boolean;
  /**
   * The cluster scheduler's fixed private address in the existing VPC.
   * @default - none (no cluster, or a VPC of the deploy's own)
   */
  readonly clusterSchedulerAddress?: string;
}

/** The number of availability zones the VPC spans (lib/network/network.ts, maxAzs). */
export const VPC_AZ_COUNT = 2;

/** What the plan needs to know of a config's `lab` section, with its roster loaded. */
export interface LabPlanInput {
  /** The roster's student ids. */
  readonly studentIds: readonly string[];
  /** 0: one machine per student; n: a scheduler and n workers per student. */
  readonly workersPerStudent: number;
  /** The instance type of every lab machine. */
  readonly instanceType: string;
}

/**
 * Counts what deploying `config` creates.
 *
 * @param lab the config's lab section with its roster loaded, when it has one
 *   (lib/lab/lab-stacks.ts: one shared VPC, each student's machines in one subnet)
 */
export function deployPlan(config: DasklabConfig, lab?: LabPlanInput): DeployPlan {
  const machines: PlannedMachine[] = [];
  const notes: string[] = [];
  let securityGroups = 2; // the machines' group and the VPC's default group
  if (lab !== undefined) {
    // The lab places each student's machines in a subnet chosen by a hash of the
    // id; with two or more students both zones are as good as certain to be
    // used, so alternating zones per student asks the same of the offerings.
    lab.studentIds.forEach((_, i) => {
      if (lab.workersPerStudent === 0) {
        machines.push({ role: 'student', instanceType: lab.instanceType, spot: false, subnetIndex: i });
        return;
      }
      machines.push({ role: 'scheduler', instanceType: lab.instanceType, spot: false, subnetIndex: i });
      for (let w = 0; w < lab.workersPerStudent; w++) {
        machines.push({ role: 'worker', instanceType: lab.instanceType, spot: false, subnetIndex: i });
      }
      securityGroups += 1; // the student's own cluster group
    });
    if (lab.studentIds.length === 0) notes.push('the roster has no students: the lab deploys no machines');
  } else if (config.cluster) {
    // ClusterStack: the scheduler in subnet 0 (or the one its fixed address lies in), worker i (from 0) in subnet i + 1.
    const address = config.network?.schedulerAddress;
    const schedulerSubnet = address ? Math.max(0, config.network!.subnets.findIndex((s) => addressInSubnet(address, s.cidr) === 'usable')) : 0;
    machines.push({ role: 'scheduler', instanceType: config.cluster.schedulerInstanceType, spot: false, subnetIndex: schedulerSubnet });
    for (let i = 0; i < config.cluster.workers; i++) {
      machines.push({ role: 'worker', instanceType: config.cluster.workerInstanceType, spot: config.cluster.spot, subnetIndex: i + 1 });
    }
    securityGroups += 3; // ClusterSecurityGroups: member, scheduler, worker
  } else {
    machines.push({ role: 'standalone', instanceType: config.machine.instanceType, spot: false, subnetIndex: 0 });
  }
  return {
    machines,
    // An existing VPC: the deploy makes neither.
    vpcs: config.network ? 0 : 1,
    internetGateways: config.network ? 0 : 1,
    keyPairs: config.access.publicKey ? 1 : machines.length,
    securityGroups,
    notes,
    network: config.network,
    codeArtifact: config.python.codeArtifact !== null,
    clusterSchedulerAddress: config.cluster && config.network ? clusterSchedulerAddress(config.network) : undefined,
  };
}
