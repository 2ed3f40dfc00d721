/** `dasklab status`: one row per machine, with its readiness, and the app's Python version set. */
import { Command } from 'commander';
import { formatReadiness, readinessOf } from '../bootstrap-tag';
import { CommandContext } from '../context';
import { Machine } from '../machines';
import { formatTable } from '../table';
import { AppVersionSet, describeConflict, readVersionSetOutcome, summarizeVersionSet, VersionSetOutcome } from '../version-set';
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

/**
 * A row as `--json` prints it: the machine's, plus the app's version set.
 * The JSON stays an array of machine rows (as before version sets), so the
 * app's set is repeated in every row rather than wrapping the rows in an object.
 */
export interface StatusJsonRow extends StatusRow {
  /**
   * The app's current Python version set (the same in every row: the app's,
   * not read from the machine); null when the app has none yet.
   * @default - absent when it could not be read: see versionSetError
   */
  readonly versionSet?: AppVersionSet | null;
  /**
   * Why the version set could not be read.
   * @default - absent when it was read
   */
  readonly versionSetError?: string;
}

/** The rows with the app's version set, or why it could not be read, added to each. */
export function statusJsonRows(rows: readonly StatusRow[], outcome: VersionSetOutcome): StatusJsonRow[] {
  const field = 'error' in outcome ? { versionSetError: outcome.error } : { versionSet: outcome.set ?? null };
  return rows.map((row) => ({ ...row, ...field }));
}

/** The text status line naming the app's version set: `Python versions: <path> (dask …, numpy …, N packages)`. */
export function formatVersionSetLine(set: AppVersionSet): string {
  return `Python versions: ${set.path} (${summarizeVersionSet(set)})`;
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

/** Prints the version set line, or says (on stderr) why the set could not be read; nothing for an app without one. */
function printVersionSet(ctx: CommandContext, outcome: VersionSetOutcome): void {
  if ('error' in outcome) {
    ctx.note(`Python versions not shown: ${outcome.error}`);
    return;
  }
  if (outcome.set === undefined) return;
  ctx.print(formatVersionSetLine(outcome.set));
  if (outcome.set.conflicts.length > 0) {
    ctx.note(`The kinds of ${outcome.set.path} disagree on ${outcome.set.conflicts.map(describeConflict).join('; ')}`);
  }
}

async function status(ctx: CommandContext): Promise<number> {
  const machines = await ctx.machines();
  // Read after the machines: an app without machines fails first, and a failure here only costs its line.
  const { app, region } = await ctx.scope();
  const versionSet = await readVersionSetOutcome(ctx.clients().ssm, app);
  const rows = statusRows(machines, ctx.io.now());
  if (ctx.json) {
    ctx.printJson(statusJsonRows(rows, versionSet));
    if ('error' in versionSet) ctx.note(`Python versions not shown: ${versionSet.error}`);
    return 0;
  }
  for (const line of formatStatus(rows)) ctx.print(line);
  printVersionSet(ctx, versionSet);
  const ready = rows.filter((r) => r.readiness === 'ready').length;
  ctx.note(`${ready} of ${rows.length} machines ready (app "${app}", ${region})`);
  return 0;
}

/** Adds `status` to the program. */
export function registerStatus(program: Command, kit: CommandKit): void {
  program
    .command('status')
    .description(
      "one row per machine: role, student, instance, type, state, address (public, or private), bootstrap readiness and whether JupyterLab answers; then the app's Python version set",
    )
    .addHelpText('after', examples('npx dasklab status', 'npx dasklab status --app course-b --region eu-west-1 --json'))
    .action(actionOf(kit, (ctx) => status(ctx)));
}
