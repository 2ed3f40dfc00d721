/**
 * How to reach a machine: directly over SSH when its security group opens port
 * 22, otherwise through AWS Systems Manager Session Manager, which needs no
 * open port (the AWS CLI and its Session Manager plugin on the user's side).
 */
import { DASK_PORTS } from '../cluster/dask-ports';
import { Machine } from './machines';
import { Reachability } from './network-access';

/** The login user of Ubuntu's cloud images. */
export const DEFAULT_USER = 'ubuntu';

/** Where and how to connect to one machine. */
export interface Connection {
  readonly user: string;
  /** The public IP (direct) or the instance id (Session Manager). */
  readonly host: string;
  /** True when the connection goes through Session Manager. */
  readonly viaSsm: boolean;
  readonly instanceId: string;
  readonly region: string;
}

/** The connection to a machine: direct when SSH is open to the outside, else Session Manager. */
export function connectionOf(machine: Machine, reach: Reachability, region: string): Connection {
  const direct = reach.ssh && machine.publicIp !== undefined;
  return {
    user: DEFAULT_USER,
    host: direct ? machine.publicIp! : machine.instanceId,
    viaSsm: !direct,
    instanceId: machine.instanceId,
    region,
  };
}

/** The ssh ProxyCommand that tunnels SSH through Session Manager (`%h` is the instance id). */
export function ssmProxyCommand(region: string): string {
  return `aws ssm start-session --region ${region} --target %h --document-name AWS-StartSSHSession --parameters portNumber=%p`;
}

/**
 * The ssh command line, as argv.
 *
 * @param keyFile the private key file; omitted for a key the user already has (an imported key pair)
 */
export function sshArgv(connection: Connection, keyFile?: string): string[] {
  const argv = ['ssh'];
  if (keyFile !== undefined) argv.push('-i', keyFile);
  if (connection.viaSsm) argv.push('-o', `ProxyCommand=${ssmProxyCommand(connection.region)}`);
  argv.push(`${connection.user}@${connection.host}`);
  return argv;
}

/** The ssh command line as one string a shell runs as is. */
export function sshCommand(connection: Connection, keyFile?: string): string {
  return shellJoin(sshArgv(connection, keyFile));
}

/** Options of {@link dashboardTunnelArgv}. */
export interface TunnelOptions {
  /** The key file for an SSH tunnel. */
  readonly keyFile?: string;
  /**
   * The port on the user's computer.
   * @default the dashboard port, 8787
   */
  readonly localPort?: number;
}

/**
 * The command that forwards the Dask dashboard to localhost: an SSH tunnel when
 * SSH is open, else a Session Manager port forward.
 */
export function dashboardTunnelArgv(connection: Connection, options: TunnelOptions = {}): string[] {
  const remote = DASK_PORTS.dashboard;
  const local = options.localPort ?? remote;
  if (connection.viaSsm) {
    return [
      'aws', 'ssm', 'start-session',
      '--region', connection.region,
      '--target', connection.instanceId,
      '--document-name', 'AWS-StartPortForwardingSession',
      '--parameters', `portNumber=${remote},localPortNumber=${local}`,
    ];
  }
  const argv = ['ssh'];
  if (options.keyFile !== undefined) argv.push('-i', options.keyFile);
  argv.push('-N', '-L', `${local}:localhost:${remote}`, `${connection.user}@${connection.host}`);
  return argv;
}

/** Quotes one argument for a POSIX shell, only when it needs it. */
export function shellQuote(arg: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(arg)) return arg;
  // Keep `-o ProxyCommand=...` readable: quote only the value after "=".
  const option = /^([A-Za-z]+=)(.*)$/s.exec(arg);
  const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  return option ? `${option[1]}${quote(option[2])}` : quote(arg);
}

/** argv as one shell command line. */
export function shellJoin(argv: readonly string[]): string {
  return argv.map(shellQuote).join(' ');
}
