/**
 * `dasklab tunnel`: the command that brings the Dask dashboard (port 8787 on
 * the scheduler) to http://localhost:8787, through Session Manager or SSH.
 */
import { DASK_PORTS } from '../cluster/dask-ports';
import { connectionOf, dashboardTunnelArgv } from './connection';
import { CliError } from './errors';
import { Machine } from './machines';
import { Reachability } from './network-access';
import { AppScope, selectOne } from './select';

/** The tunnel to show or run. */
export interface Tunnel {
  readonly machine: Machine;
  /** `ssm` (Session Manager port forwarding) or `ssh` (ssh -L). */
  readonly via: 'ssm' | 'ssh';
  readonly argv: string[];
  /** Where the dashboard shows up. */
  readonly url: string;
  /** Set when the dashboard port is open to the user's network: no tunnel needed. */
  readonly directUrl?: string;
}

/**
 * The machine whose dashboard to forward: the one `name` names (its scheduler
 * when it names a student with a cluster), else the app's scheduler, else its
 * only machine.
 */
export function tunnelTarget(machines: readonly Machine[], name: string | undefined, scope: AppScope): Machine {
  if (name !== undefined) return selectOne(machines, name, scope, ['scheduler', 'student', 'standalone']);
  const schedulers = machines.filter((m) => m.role === 'scheduler');
  if (schedulers.length === 1) return schedulers[0];
  if (machines.length === 1) return machines[0];
  throw new CliError(`App "${scope.app}" has ${machines.length} machines; name one: ${machines.map((m) => m.label).join(', ')}.`);
}

/** The tunnel to a machine's dashboard. */
export function tunnelTo(machine: Machine, reach: Reachability, region: string, options: { keyFile?: string; localPort?: number }): Tunnel {
  const connection = connectionOf(machine, reach, region);
  const localPort = options.localPort ?? DASK_PORTS.dashboard;
  return {
    machine,
    via: connection.viaSsm ? 'ssm' : 'ssh',
    argv: dashboardTunnelArgv(connection, { keyFile: options.keyFile ?? `${machine.label}.pem`, localPort }),
    url: `http://localhost:${localPort}/status`,
    directUrl: reach.dashboard && machine.publicIp ? `http://${machine.publicIp}:${DASK_PORTS.dashboard}/status` : undefined,
  };
}
