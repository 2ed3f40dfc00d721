/** `dasklab status`: one row per machine, with its readiness. */
import { Command } from 'commander';
import { formatReadiness, readinessOf } from '../bootstrap-tag';
import { CommandContext } from '../context';
import { Machine } from '../machines';
import { formatTable } from '../table';
import { actionOf, CommandKit, examples } from './kit';

/** One machine's row, as `--json` prints it. */
export interface StatusRow {
  readonly machine: string;
  readonly role?: string;
  /** A spot worker's capacity: `spot`, or `on-demand` when spot had none. */
  readonly market?: string;
  readonly student?: string;
  readonly instanceId: string;
  readonly instanceType?: string;
  readonly state: string;
  readonly publicIp?: string;
  readonly privateIp?: string;
  /** ready, bootstrapping, failed (phase), booting or unknown; "-" when not running. */
  readonly readiness: string;
  /**
   * Whether the machine's JupyterLab answers, as the machine last found (it
   * checks every minute): `answers` or `not answering`; "-" when not running.
   * @default - the machine runs no JupyterLab
   */
  readonly jupyter?: string;
  readonly name?: string;
}

// A stopped machine's tags tell about its last boot, not about now.
const running = (m: Machine) => m.state === 'running' || m.state === 'pending';

/** The machine's own words, or `unknown` for any value it never sets (its user could set one). */
function jupyterAnswer(tag: string): string {
  return tag === 'answers' || tag === 'not answering' ? tag : 'unknown';
}

/** The rows of the status table. */
export function statusRows(machines: readonly Machine[], now: Date): StatusRow[] {
  return machines.map((m) => ({
    machine: m.label,
    role: m.role,
    market: m.market,
    student: m.student,
    instanceId: m.instanceId,
    instanceType: m.instanceType,
    state: m.state,
    publicIp: m.publicIp,
    privateIp: m.privateIp,
    readiness: running(m) ? formatReadiness(readinessOf(m.bootstrapTag, m.launchTime, now)) : '-',
    jupyter: m.jupyterTag === undefined ? undefined : running(m) ? jupyterAnswer(m.jupyterTag) : '-',
    name: m.name,
  }));
}

/** Where to reach the machine: its public IP, or its private address in a private subnet (through Session Manager). */
function addressOf(row: StatusRow): string | undefined {
  return row.publicIp ?? (row.privateIp && `${row.privateIp} (private)`);
}

/** The status table as text lines. */
export function formatStatus(rows: readonly StatusRow[]): string[] {
  // The JupyterLab column only for apps with JupyterLab.
  const jupyter = rows.some((r) => r.jupyter !== undefined);
  return formatTable(
    ['MACHINE', 'ROLE', 'STUDENT', 'INSTANCE', 'TYPE', 'STATE', 'ADDRESS', 'READINESS', ...(jupyter ? ['JUPYTERLAB'] : [])],
    rows.map((r) => [
      r.machine,
      r.market ? `${r.role} (${r.market})` : r.role,
      r.student,
      r.instanceId,
      r.instanceType,
      r.state,
      addressOf(r),
      r.readiness,
      ...(jupyter ? [r.jupyter] : []),
    ]),
  );
}

async function status(ctx: CommandContext): Promise<number> {
  const machines = await ctx.machines();
  const rows = statusRows(machines, ctx.io.now());
  if (ctx.json) {
    ctx.printJson(rows);
    return 0;
  }
  for (const line of formatStatus(rows)) ctx.print(line);
  const ready = rows.filter((r) => r.readiness === 'ready').length;
  const { app, region } = await ctx.scope();
  ctx.note(`${ready} of ${rows.length} machines ready (app "${app}", ${region})`);
  return 0;
}

/** Adds `status` to the program. */
export function registerStatus(program: Command, kit: CommandKit): void {
  program
    .command('status')
    .description('one row per machine: role, student, instance, type, state, address (public, or private), bootstrap readiness and whether JupyterLab answers')
    .addHelpText('after', examples('npx dasklab status', 'npx dasklab status --app course-b --region eu-west-1 --json'))
    .action(actionOf(kit, (ctx) => status(ctx)));
}
