import * as fs from 'fs';
import * as path from 'path';
import { Twin, TwinMachine } from './launcher';
import { mustRun, run, RunResult } from './proc';

/**
 * A real SSH client against a twin machine: the host's ssh, run inside the
 * twin's hub network namespace (the machines' service addresses are on its
 * bridge), as `ubuntu`, with exactly one key and no host-key bookkeeping.
 */
export const SSH_OPTIONS = [
  '-o', 'StrictHostKeyChecking=no',
  '-o', 'UserKnownHostsFile=/dev/null',
  '-o', 'BatchMode=yes',
  '-o', 'IdentitiesOnly=yes',
  '-o', 'ConnectTimeout=10',
  '-o', 'LogLevel=ERROR',
  '-F', '/dev/null',
];

export function sshArgs(twin: Twin, m: TwinMachine, keyPath: string, command: string): string[] {
  return ['netns', 'exec', twin.hubNetns, 'ssh', ...SSH_OPTIONS, '-i', keyPath, `ubuntu@${m.serviceIp}`, command];
}

/** Runs a command on the machine over SSH with the given private key. */
export function ssh(twin: Twin, m: TwinMachine, keyPath: string, command: string, timeoutMs = 30000): Promise<RunResult> {
  return run('ip', sshArgs(twin, m, keyPath, command), { timeoutMs });
}

/** Generates an ed25519 key pair in dir; returns the private key's path (public key: path + .pub). */
export async function newKey(dir: string, name: string): Promise<string> {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = path.join(dir, name);
  await mustRun('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', name, '-f', file]);
  return file;
}
