/**
 * The machines of an app, found through their tags (no local state file): every
 * instance tagged `dasklab:app=<app>` that is not terminated.
 */
import { EC2Client, Instance, paginateDescribeInstances } from '@aws-sdk/client-ec2';
import { TAG_APP, TAG_JUPYTER, TAG_MARKET, TAG_ROLE, TAG_STUDENT } from '../tag-keys';
import { BOOTSTRAP_TAG } from './bootstrap-tag';
import { CliError } from './errors';

/** One deployed machine, as the CLI sees it. */
export interface Machine {
  readonly instanceId: string;
  /**
   * A short unique name for files and SSH hosts: the student id for a
   * student's machine, otherwise the `Name` tag, otherwise the instance id.
   */
  readonly label: string;
  /** The `Name` tag. */
  readonly name?: string;
  /** `standalone`, `scheduler`, `worker` or `student` (the `dasklab:role` tag). */
  readonly role?: string;
  /** The `dasklab:student` tag, in a lab. */
  readonly student?: string;
  readonly instanceType?: string;
  /** EC2's state name: pending, running, stopping, stopped, shutting-down. */
  readonly state: string;
  readonly publicIp?: string;
  readonly privateIp?: string;
  /** When the instance was last started. */
  readonly launchTime?: Date;
  readonly keyName?: string;
  readonly securityGroupIds: readonly string[];
  readonly availabilityZone?: string;
  /** The `dasklab:bootstrap` tag. */
  readonly bootstrapTag?: string;
  /** The `dasklab:jupyter` tag of a machine with JupyterLab: `answers` or `not answering`. */
  readonly jupyterTag?: string;
  /** `spot` or `on-demand` for a spot worker (the `dasklab:market` tag): what capacity it got. */
  readonly market?: string;
  /** `aws:cloudformation:stack-name`. */
  readonly stackName?: string;
}

/** Every state but terminated: a terminated instance is no longer part of the app. */
export const LIVE_STATES = ['pending', 'running', 'stopping', 'stopped', 'shutting-down'];

/** Order of roles in listings: the machine people log in to first. */
const ROLE_ORDER = ['standalone', 'scheduler', 'student', 'worker'];

/**
 * The app's machines, sorted by student, role and name.
 *
 * @param ec2 the EC2 client of the app's region
 * @param app the `dasklab:app` tag value
 */
export async function findMachines(ec2: EC2Client, app: string): Promise<Machine[]> {
  const instances: Instance[] = [];
  const pages = paginateDescribeInstances(
    { client: ec2 },
    {
      Filters: [
        { Name: `tag:${TAG_APP}`, Values: [app] },
        { Name: 'instance-state-name', Values: LIVE_STATES },
      ],
    },
  );
  for await (const page of pages) {
    for (const reservation of page.Reservations ?? []) {
      instances.push(...(reservation.Instances ?? []));
    }
  }
  return withLabels(instances.map(machineOf)).sort(compareMachines);
}

/**
 * Like {@link findMachines}, but an app without machines is an error that
 * names the app and the region.
 */
export async function requireMachines(ec2: EC2Client, app: string, region: string): Promise<Machine[]> {
  const machines = await findMachines(ec2, app);
  if (machines.length === 0) {
    throw new CliError(
      `No machines of app "${app}" in region ${region} (no instance tagged ${TAG_APP}=${app}). ` +
        'Deploy with `npx cdk deploy`, or pass the right --app or --region.',
    );
  }
  return machines;
}

/** A machine from a DescribeInstances instance (label still to be assigned). */
export function machineOf(instance: Instance): Machine {
  const tags = new Map((instance.Tags ?? []).map((t) => [t.Key ?? '', t.Value ?? '']));
  const name = tags.get('Name') || undefined;
  const role = tags.get(TAG_ROLE) || undefined;
  const student = tags.get(TAG_STUDENT) || undefined;
  const instanceId = instance.InstanceId ?? '?';
  return {
    instanceId,
    label: instanceId,
    name,
    role,
    student,
    instanceType: instance.InstanceType,
    state: instance.State?.Name ?? 'unknown',
    publicIp: instance.PublicIpAddress || undefined,
    privateIp: instance.PrivateIpAddress || undefined,
    launchTime: instance.LaunchTime,
    keyName: instance.KeyName || undefined,
    securityGroupIds: (instance.SecurityGroups ?? []).map((g) => g.GroupId ?? '').filter((id) => id !== ''),
    availabilityZone: instance.Placement?.AvailabilityZone,
    bootstrapTag: tags.get(BOOTSTRAP_TAG.key),
    jupyterTag: tags.get(TAG_JUPYTER) || undefined,
    market: tags.get(TAG_MARKET) || undefined,
    stackName: tags.get('aws:cloudformation:stack-name') || undefined,
  };
}

/**
 * Gives each machine its label. A label is also a file name and an SSH Host
 * alias, so it keeps to [A-Za-z0-9._-]; a clash (two machines with one Name)
 * gets the instance id appended.
 */
export function withLabels(machines: readonly Machine[]): Machine[] {
  const base = machines.map((m) => safeName((m.role === 'student' && m.student) || m.name || m.instanceId));
  const counts = new Map<string, number>();
  for (const b of base) counts.set(b, (counts.get(b) ?? 0) + 1);
  return machines.map((m, i) => ({ ...m, label: counts.get(base[i])! > 1 ? `${base[i]}-${m.instanceId}` : base[i] }));
}

/** Replaces what may not appear in a file name or SSH Host alias. */
function safeName(text: string): string {
  const cleaned = text.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[-.]+/, '');
  return cleaned === '' ? 'machine' : cleaned;
}

/** Student (none first), then role, then label with numbers in numeric order (worker-2 before worker-10). */
export function compareMachines(a: Machine, b: Machine): number {
  const byStudent = (a.student ?? '').localeCompare(b.student ?? '', 'en', { numeric: true });
  if (byStudent !== 0) return byStudent;
  const rank = (m: Machine) => {
    const i = ROLE_ORDER.indexOf(m.role ?? '');
    return i < 0 ? ROLE_ORDER.length : i;
  };
  return rank(a) - rank(b) || a.label.localeCompare(b.label, 'en', { numeric: true });
}
