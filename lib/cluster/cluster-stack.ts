import { Aws, CfnOutput, Fn, Stack, StackProps } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Construct } from 'constructs';
import { addressInSubnet, DEFAULT_SCHEDULER_HOST_NUMBER, hostInCidr, schedulerAddressProblem } from '../config/network-schema';
import { schedulerAddress } from '../bootstrap/bootstrap-user-data';
import { ClusterSecurityGroups } from './cluster-security-groups';
import { clusterTlsParameterPath } from './cluster-tls';
import { DasklabConfig } from '../config/schema';
import { DASK_PORTS } from './dask-ports';
import { workerNames } from './worker-names';
import { DaskMachine } from '../machine/dask-machine';
import { MachineFleet } from '../machine/machine-fleet';
import { MachineWrittenParameters } from '../machine/machine-written-parameters';
import { addConnectionOutputs, fleetPropsOf, ubuntuArchitectureOf } from '../machine/machine-stack';
import { tagApp } from '../tags';

export { clusterTlsParameterPath } from './cluster-tls';

/** Properties of {@link ClusterStack}. */
export interface ClusterStackProps extends StackProps {
  /** The validated config, with a `cluster` section. */
  readonly config: DasklabConfig;
}

/**
 * The scheduler's fixed address and the subnet it lies in: the configured
 * address, or host {@link DEFAULT_SCHEDULER_HOST_NUMBER} of the first subnet. Checked
 * here too, so that no construct launches a machine at an address EC2 would
 * refuse (outside the subnet, or one of the five AWS reserves:
 * https://docs.aws.amazon.com/vpc/latest/userguide/subnet-sizing.html).
 */
export function schedulerPlacement(subnets: readonly ec2.ISubnet[], address: string | null): { host: string; subnetIndex: number } {
  if (address === null) return { host: hostInCidr(subnets[0].ipv4CidrBlock, DEFAULT_SCHEDULER_HOST_NUMBER), subnetIndex: 0 };
  const cidrs = subnets.map((s) => s.ipv4CidrBlock);
  const problem = schedulerAddressProblem(address, cidrs);
  if (problem !== null) throw new Error(`network.schedulerAddress ${address}: ${problem}`);
  return { host: address, subnetIndex: cidrs.findIndex((cidr) => addressInSubnet(address, cidr) === 'usable') };
}

/**
 * `<name>-Cluster`: a Dask scheduler and `cluster.workers` workers.
 *
 * Workers find the scheduler at a private IP fixed at synth time, so no worker
 * depends on the scheduler's creation: CloudFormation creates every machine at
 * once. A worker that boots first keeps restarting until the scheduler
 * answers. The scheduler's readiness signal waits until every worker has
 * joined and run a task. With `cluster.spot`, workers run on spot capacity
 * and the scheduler, which holds the cluster's state, stays on demand.
 */
export class ClusterStack extends Stack {
  public readonly scheduler: DaskMachine;
  public readonly workers: DaskMachine[];
  public readonly fleet: MachineFleet;

  constructor(scope: Construct, id: string, props: ClusterStackProps) {
    const { config } = props;
    const cluster = config.cluster;
    if (!cluster) throw new Error('ClusterStack needs a config with a cluster section');
    super(scope, id, {
      description: `dasklab ${config.name}: a Dask cluster of 1 scheduler and ${cluster.workers} workers`,
      ...props,
    });
    tagApp(this, config.name);
    this.fleet = new MachineFleet(this, 'Fleet', fleetPropsOf(this, config));
    const groups = new ClusterSecurityGroups(this, 'ClusterAccess', {
      vpc: this.fleet.network.vpc,
      dashboardCidrs: config.access.dashboardCidrs,
      dashboardWorldOpenAcknowledged: config.access.allowWorldOpen.includes('dashboardCidrs'),
    });

    const { host: schedulerHost, subnetIndex: schedulerSubnet } = schedulerPlacement(this.fleet.network.subnets, config.network?.schedulerAddress ?? null);
    const names = workerNames(cluster.workers);
    // With TLS, the scheduler publishes the certificates it makes and the workers
    // only fetch them: the scheduler runs as a role of its own, the only one that writes.
    const schedulerRole = cluster.tls
      ? this.fleet.addInstanceRole('Scheduler', `dasklab ${config.name}: the Dask scheduler; Session Manager, its own bootstrap tag, and the cluster's certificate parameters`)
      : undefined;
    const tlsParameters = schedulerRole
      ? new MachineWrittenParameters(this, 'TlsParameters', {
          path: clusterTlsParameterPath(config.name),
          writers: [schedulerRole],
          readers: [this.fleet.instanceRole],
        })
      : undefined;
    const tls = tlsParameters ? { parameterPath: tlsParameters.path } : undefined;
    this.scheduler = this.fleet.addMachine(this, 'Scheduler', {
      role: 'scheduler',
      instanceType: cluster.schedulerInstanceType,
      architecture: ubuntuArchitectureOf(cluster.schedulerInstanceType),
      name: `${config.name}-scheduler`,
      subnetIndex: schedulerSubnet,
      privateIpAddress: schedulerHost,
      extraSecurityGroups: [groups.member, groups.scheduler],
      instanceRole: schedulerRole,
      dask: { schedulerHost, name: 'scheduler', expectedWorkerCount: names.length, tls },
      jupyter: cluster.jupyter,
    });
    this.workers = names.map((name, i) =>
      this.fleet.addMachine(this, `Worker${i + 1}`, {
        role: 'worker',
        instanceType: cluster.workerInstanceType,
        architecture: ubuntuArchitectureOf(cluster.workerInstanceType),
        name: `${config.name}-${name}`,
        subnetIndex: i + 1,
        extraSecurityGroups: [groups.member, groups.worker],
        dask: { schedulerHost, name, tls },
        spot: cluster.spot,
      }),
    );

    if (tlsParameters) {
      // Deleted after every machine, so that no machine writes a certificate after the cleanup.
      for (const machine of [this.scheduler, ...this.workers]) machine.instance.cfnResource.node.addDependency(tlsParameters.resource);
    }

    addConnectionOutputs(this, this.scheduler, {
      keyFile: `${config.name}-scheduler.pem`,
      directSsh: config.access.sshCidrs.length > 0,
      prefix: 'Scheduler',
    });
    const address = schedulerAddress(schedulerHost, cluster.tls);
    new CfnOutput(this, 'SchedulerAddress', {
      description: 'The Dask scheduler, reachable from the cluster’s machines',
      value: address,
    });
    new CfnOutput(this, 'DashboardTunnelCommand', {
      description: `Forwards the dashboard to http://localhost:${DASK_PORTS.dashboard} through Session Manager`,
      value: Fn.join('', [
        `aws ssm start-session --region ${Aws.REGION} --target `,
        this.scheduler.instanceId,
        ' --document-name AWS-StartPortForwardingSession',
        ` --parameters portNumber=${DASK_PORTS.dashboard},localPortNumber=${DASK_PORTS.dashboard}`,
      ]),
    });
    new CfnOutput(this, 'ClientSnippet', {
      description: 'Python on the scheduler (its login shell has the venv): connect and compute',
      value:
        `from dask.distributed import Client; import dask.array as da; ` +
        `client = Client("${address}"); print(da.random.random((20000, 20000)).mean().compute())`,
    });
    new CfnOutput(this, 'WorkerInstanceIds', {
      description: 'The workers, in order worker-1, worker-2, ...',
      value: Fn.join(',', this.workers.map((w) => w.instanceId)),
    });
  }
}
