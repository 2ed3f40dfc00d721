/**
 * The handouts' `ssh_config`: one Host per machine, so the trainer (or anyone
 * with the directory) connects with `ssh -F DIR/ssh_config alice`.
 */
import * as path from 'path';
import { ssmProxyCommand } from './connection';
import { HandoutContext, HandoutEntry } from './handout-entry';

/** The file's name in the handouts directory. */
export const SSH_CONFIG_FILE = 'ssh_config';

/** Renders the ssh_config for the entries. */
export function renderSshConfig(entries: readonly HandoutEntry[], context: HandoutContext): string {
  const configPath = path.join(context.dir, SSH_CONFIG_FILE);
  const lines = [
    `# dasklab: the machines of app "${context.app}" in ${context.region}, ${context.generatedAt.toISOString()}`,
    `# Connect with: ssh -F ${quoted(configPath)} HOST   (HOST = one of the Host names below)`,
  ];
  if (entries.some((e) => e.connection.viaSsm)) {
    lines.push('# Hosts with a ProxyCommand go through AWS Session Manager: they need the AWS CLI,');
    lines.push('# its Session Manager plugin, and AWS credentials that may start sessions.');
  }
  for (const entry of entries) {
    const { machine, connection } = entry;
    lines.push('', `Host ${machine.label}`);
    lines.push(`  # ${[machine.role, machine.student && `student ${machine.student}`, machine.name, machine.instanceId].filter(Boolean).join(', ')}`);
    lines.push(`  HostName ${connection.host}`);
    lines.push(`  User ${connection.user}`);
    if (entry.keyFile !== undefined) {
      lines.push(`  IdentityFile ${quoted(path.join(context.dir, entry.keyFile))}`);
      lines.push('  IdentitiesOnly yes');
    }
    if (connection.viaSsm) lines.push(`  ProxyCommand ${ssmProxyCommand(connection.region)}`);
  }
  return `${lines.join('\n')}\n`;
}

/** ssh_config takes double quotes around an argument with spaces. */
function quoted(value: string): string {
  return /\s/.test(value) ? `"${value}"` : value;
}
