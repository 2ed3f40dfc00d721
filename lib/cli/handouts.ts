/**
 * `dasklab handouts`: everything a trainer hands out, in one directory:
 * a private key per machine (0600), an ssh_config, roster.csv, and a page per
 * student (or per machine outside a lab).
 */
import { AwsClients } from './clients';
import { connectionOf } from './connection';
import { HandoutContext, HandoutEntry, HandoutFile } from './handout-entry';
import { pageGroups, renderHandoutPage } from './handout-page';
import { Machine } from './machines';
import { reachabilityOfAll } from './network-access';
import { privateKeysOf } from './private-keys';
import { renderRosterCsv, ROSTER_FILE } from './roster-csv';
import { renderSshConfig, SSH_CONFIG_FILE } from './ssh-config';

/** Reads from AWS what the handouts need: reachability and private keys. */
export async function collectHandoutEntries(clients: AwsClients, machines: readonly Machine[], region: string): Promise<HandoutEntry[]> {
  const [reach, keys] = await Promise.all([reachabilityOfAll(clients.ec2, machines), privateKeysOf(clients.ec2, clients.ssm, machines)]);
  return machines.map((machine) => {
    const key = keys.get(machine.instanceId)!;
    const machineReach = reach.get(machine.instanceId)!;
    return {
      machine,
      reach: machineReach,
      key,
      connection: connectionOf(machine, machineReach, region),
      keyFile: key.kind === 'generated' ? `${machine.label}.pem` : undefined,
    };
  });
}

/** Every file of the handouts directory. Key files are mode 0600, the rest 0644. */
export function renderHandouts(entries: readonly HandoutEntry[], context: HandoutContext): HandoutFile[] {
  const files: HandoutFile[] = [];
  for (const entry of entries) {
    if (entry.key.kind === 'generated' && entry.keyFile !== undefined) {
      files.push({ name: entry.keyFile, content: entry.key.material, mode: 0o600 });
    }
  }
  files.push({ name: SSH_CONFIG_FILE, content: renderSshConfig(entries, context), mode: 0o644 });
  files.push({ name: ROSTER_FILE, content: renderRosterCsv(entries), mode: 0o644 });
  for (const group of pageGroups(entries)) {
    files.push({ name: `${group.id}.md`, content: renderHandoutPage(group, context), mode: 0o644 });
  }
  return files;
}
