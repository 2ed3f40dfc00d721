/**
 * The handouts' `roster.csv`: one row per machine, for the trainer's records
 * or a mail merge. Columns: student, host, user, key_file, ssh_command, then
 * machine, role and instance_id.
 */
import { sshCommand } from './connection';
import { HandoutEntry } from './handout-entry';

/** The file's name in the handouts directory. */
export const ROSTER_FILE = 'roster.csv';

/** The header row. */
export const ROSTER_COLUMNS = ['student', 'host', 'user', 'key_file', 'ssh_command', 'machine', 'role', 'instance_id'] as const;

/** Renders the CSV (RFC 4180: CRLF line ends, fields quoted when they need it). */
export function renderRosterCsv(entries: readonly HandoutEntry[]): string {
  const rows: string[][] = [[...ROSTER_COLUMNS]];
  for (const entry of entries) {
    const { machine, connection } = entry;
    rows.push([
      machine.student ?? '',
      connection.host,
      connection.user,
      keyFileColumn(entry),
      sshCommand(connection, entry.keyFile),
      machine.label,
      machine.role ?? '',
      machine.instanceId,
    ]);
  }
  return rows.map((row) => row.map(csvField).join(',')).join('\r\n') + '\r\n';
}

/** The key file, or what stands in for it. */
function keyFileColumn(entry: HandoutEntry): string {
  if (entry.keyFile !== undefined) return entry.keyFile;
  return entry.key.kind === 'imported' ? '(your own key)' : '(none: Session Manager only)';
}

/** One CSV field, quoted if it holds a comma, quote or line break. */
export function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}
