import * as fs from 'fs';
import * as path from 'path';
import { DEVIATIONS } from '../twin/deviations';
import { SignalResult, Twin } from '../twin/launcher';
import { addBaselineMachine, BASELINE_ROLE } from './baseline-machine';
import { readCloudAssembly } from './cloud-assembly';
import { Contention, contention } from './host';
import { ManualResult, runManual } from './manual-sequence';
import { round } from './stats';
import { heading, renderTable } from './table';

/**
 * Section 3: boot to ready in the twin (tests/twin). One machine and a 1 + 2
 * cluster, from container start to readiness signal, with the bootstrap's
 * phases from /var/lib/dasklab/ready.json; and, in the same twin run as the
 * single machine, a fresh machine on which the manual sequence is timed, after
 * the bootstrap has finished (so the two do not share the CPU). With a baked
 * image (`machine.bake`), the same machine booted from the image the twin
 * builds; the build is the deploy's, before the machine exists, and not in its figure.
 */

/**
 * What the bench holds the boot to ready to, as a share of the hand sequence
 * of the same run (container start to ready, both).
 */
export const RATIO_GOALS = {
  /** A machine that installs everything at boot (no baked image). */
  coldBootstrap: 0.75,
  /** A machine booted from the app's baked image (machine.bake), its build not counted. */
  bakedMachine: 0.4,
} as const;

export interface TwinMachineResult {
  logicalId: string;
  role: string;
  status: SignalResult['status'];
  /** Container start to readiness signal. */
  seconds: number;
  /** The bootstrap's own total (ready.json totalSeconds). */
  bootstrapSeconds?: number;
  /** Container start until the bootstrap began: boot and cloud-init. */
  bootSeconds?: number;
  phases: Record<string, number>;
  reason?: string;
}

export interface TwinSection {
  skipped?: string;
  machine?: TwinMachineResult;
  manual?: ManualResult;
  /**
   * bootstrap / manual: end to end (container start to ready), and the work
   * alone (bootstrap total vs typed commands); `baked`: the baked machine's
   * container start to ready against the same hand sequence.
   */
  ratio?: { endToEnd: number; work?: number; baked?: number };
  /** The default machine booted from its baked image, and how long the twin took to build that image (0: cached). */
  baked?: { machine: TwinMachineResult; imageBuildSeconds: number };
  cluster?: { machines: TwinMachineResult[]; readySeconds?: number };
  errors: string[];
  deviations: string[];
  buildSeconds: { rootfs: number; indexes: number; image?: number };
  contentionBefore?: Contention;
  logFile?: string;
}

export interface TwinOptions {
  machineOutDir?: string;
  clusterOutDir?: string;
  /** The default machine synthesized with `machine.bake: true` (baked-machine.ts). */
  bakedOutDir?: string;
  workDir: string;
  /** Overrides every wait condition's timeout in the twin. */
  timeoutSeconds: number;
  logFile: string;
  log: (msg: string) => void;
}

function onlyStack(outDir: string): string {
  const names = [...readCloudAssembly(outDir).stacks.keys()];
  if (names.length !== 1) throw new Error(`expected one stack in ${outDir}, found ${names.join(', ')}`);
  return names[0];
}

async function machineResult(twin: Twin, r: SignalResult): Promise<TwinMachineResult> {
  const ready = await twin.readyJson(r.machine).catch(() => undefined);
  const phases: Record<string, number> = {};
  for (const [name, p] of Object.entries<{ seconds: number }>(ready?.phases ?? {})) phases[name] = p.seconds;
  const total = typeof ready?.totalSeconds === 'number' ? ready.totalSeconds : undefined;
  return {
    logicalId: r.machine.logicalId,
    role: r.machine.role,
    status: r.status,
    seconds: round(r.seconds, 1),
    bootstrapSeconds: total,
    bootSeconds: total !== undefined ? round(r.seconds - total, 1) : undefined,
    phases,
    reason: r.status === 'SUCCESS' ? undefined : `${r.reason.split('\n').slice(-8).join('\n')}${await stuckDiagnostics(twin, r)}`,
  };
}

/** For a machine that did not signal: the tail of its bootstrap log and systemd's pending jobs. */
async function stuckDiagnostics(twin: Twin, r: SignalResult): Promise<string> {
  if (r.status !== 'TIMEOUT') return '';
  const d = await twin
    .exec(r.machine, ['bash', '-c', 'tail -n 4 /var/log/dasklab/bootstrap.log; systemctl list-jobs --no-pager --no-legend'], { timeoutMs: 30000 })
    .catch((err) => ({ stdout: String(err), stderr: '' }));
  return `\n  bootstrap.log tail and pending systemd jobs:\n    ${(d.stdout + d.stderr).trim().split('\n').join('\n    ')}`;
}

export async function runTwinSection(opts: TwinOptions): Promise<TwinSection> {
  const section: TwinSection = {
    errors: [],
    deviations: DEVIATIONS.map((d) => d.what),
    buildSeconds: { rootfs: 0, indexes: 0, image: 0 },
  };
  if (process.getuid?.() !== 0) {
    section.skipped = 'skipped: the twin needs root (debootstrap, network namespaces, systemd-nspawn); run `sudo npm run bench`';
    return section;
  }
  // Relative to the repository, so the committed results name no machine's paths.
  section.logFile = path.relative(path.join(__dirname, '..', '..'), opts.logFile);
  section.contentionBefore = contention();
  const twinLog = (msg: string) => fs.appendFileSync(opts.logFile, `${new Date().toISOString()} ${msg}\n`);
  const addBuild = (twin: Twin) => {
    section.buildSeconds.rootfs += twin.buildSeconds.rootfs;
    section.buildSeconds.indexes += twin.buildSeconds.indexes;
    section.buildSeconds.image = (section.buildSeconds.image ?? 0) + twin.buildSeconds.image;
  };

  if (opts.machineOutDir) {
    let twin: Twin | undefined;
    try {
      const stack = onlyStack(opts.machineOutDir);
      const dir = addBaselineMachine(opts.machineOutDir, stack, path.join(opts.workDir, 'twin-machine'));
      opts.log(`twin: booting ${stack}'s machine and a fresh baseline machine (first use builds the rootfs: minutes) ...`);
      twin = await Twin.start({ templateDir: dir, stack, timeoutSeconds: opts.timeoutSeconds, log: twinLog });
      addBuild(twin);
      const results = await twin.waitForSignals();
      const main = results.find((r) => r.machine.role !== BASELINE_ROLE)!;
      const base = results.find((r) => r.machine.role === BASELINE_ROLE)!;
      section.machine = await machineResult(twin, main);
      opts.log(`twin: ${main.machine.logicalId} ${main.status} after ${main.seconds.toFixed(1)} s; baseline up after ${base.seconds.toFixed(1)} s`);
      if (base.status === 'SUCCESS') {
        section.manual = await runManual(twin, base.machine, base.seconds, opts.log);
        if (section.manual.steps.every((s) => s.ok) && main.status === 'SUCCESS') {
          section.ratio = {
            endToEnd: round(section.machine.seconds / section.manual.totalSeconds, 2),
            work: section.machine.bootstrapSeconds !== undefined ? round(section.machine.bootstrapSeconds / section.manual.commandsSeconds, 2) : undefined,
          };
        }
      } else {
        section.errors.push(`the baseline machine did not come up: ${base.status} ${base.reason}`);
      }
    } catch (err) {
      section.errors.push(`single machine: ${err instanceof Error ? err.message : String(err)}`);
    } finally {
      await twin?.stop();
    }
  }

  if (opts.bakedOutDir) {
    let twin: Twin | undefined;
    try {
      const stack = onlyStack(opts.bakedOutDir);
      opts.log(`twin: booting ${stack}'s machine from its baked image (first use builds the image: a minute or two) ...`);
      twin = await Twin.start({ templateDir: opts.bakedOutDir, stack, timeoutSeconds: opts.timeoutSeconds, log: twinLog });
      addBuild(twin);
      const [result] = await twin.waitForSignals();
      if (!result.machine.image) throw new Error(`${result.machine.logicalId} names no baked image in its launch template`);
      section.baked = { machine: await machineResult(twin, result), imageBuildSeconds: round(twin.buildSeconds.image, 0) };
      opts.log(`twin: baked ${result.machine.logicalId} ${result.status} after ${result.seconds.toFixed(1)} s`);
      if (section.ratio && section.manual && result.status === 'SUCCESS') section.ratio.baked = round(section.baked.machine.seconds / section.manual.totalSeconds, 2);
    } catch (err) {
      section.errors.push(`baked machine: ${err instanceof Error ? err.message : String(err)}`);
    } finally {
      await twin?.stop();
    }
  }

  if (opts.clusterOutDir) {
    let twin: Twin | undefined;
    try {
      const stack = onlyStack(opts.clusterOutDir);
      opts.log(`twin: booting ${stack} (scheduler and workers at once) ...`);
      twin = await Twin.start({ templateDir: opts.clusterOutDir, stack, timeoutSeconds: opts.timeoutSeconds, log: twinLog });
      addBuild(twin);
      const results = await twin.waitForSignals();
      const machines = await Promise.all(results.map((r) => machineResult(twin!, r)));
      section.cluster = {
        machines,
        readySeconds: machines.every((m) => m.status === 'SUCCESS') ? Math.max(...machines.map((m) => m.seconds)) : undefined,
      };
      opts.log(`twin: cluster ${section.cluster.readySeconds !== undefined ? `ready after ${section.cluster.readySeconds} s` : 'NOT ready'}`);
    } catch (err) {
      section.errors.push(`cluster: ${err instanceof Error ? err.message : String(err)}`);
    } finally {
      await twin?.stop();
    }
  }
  return section;
}

/** Bootstrap seconds per role for the creation estimate: what the twin measured. */
export function measuredBootstrapSeconds(t: TwinSection | undefined): Partial<Record<string, number>> {
  const out: Partial<Record<string, number>> = {};
  if (t?.machine?.status === 'SUCCESS') {
    out.standalone = t.machine.seconds;
    // A student machine runs the same bootstrap (plus the idle-stop timer).
    out.student = t.machine.seconds;
  }
  const ok = t?.cluster?.machines.filter((m) => m.status === 'SUCCESS') ?? [];
  const scheduler = ok.filter((m) => m.role === 'scheduler').map((m) => m.seconds);
  const workers = ok.filter((m) => m.role === 'worker').map((m) => m.seconds);
  if (scheduler.length) out.scheduler = Math.max(...scheduler);
  if (workers.length) out.worker = Math.max(...workers);
  return out;
}

const PHASE_ORDER = ['apt', 'apt-tools', 'venv', 'pip', 'profile', 'verify', 'dask', 'cluster'];

function phaseNames(machines: TwinMachineResult[]): string[] {
  const all = new Set(machines.flatMap((m) => Object.keys(m.phases)));
  return [...PHASE_ORDER.filter((p) => all.has(p)), ...[...all].filter((p) => !PHASE_ORDER.includes(p))];
}

export function machineTable(machines: TwinMachineResult[]): string {
  const phases = phaseNames(machines);
  return renderTable(
    ['machine', 'role', 'status', 'ready s', 'boot s', ...phases.map((p) => `${p} s`)],
    machines.map((m) => [m.logicalId, m.role, m.status, m.seconds, m.bootSeconds, ...phases.map((p) => m.phases[p])]),
  );
}

export function formatTwinSection(t: TwinSection): string {
  const lines = [heading('3. Boot to ready in the twin (container start to readiness signal)')];
  if (t.skipped) return [...lines, t.skipped].join('\n');
  if (t.machine) lines.push(machineTable([t.machine]));
  if (t.manual) {
    lines.push('', `manual sequence on a fresh machine of the same twin run (up after ${t.manual.bootSeconds} s):`);
    lines.push(renderTable(['typed', 's', 'ok'], t.manual.steps.map((s) => [s.typed, s.seconds, s.ok ? 'yes' : `exit ${s.exitCode}`])));
    lines.push(`manual total: ${t.manual.totalSeconds} s (boot ${t.manual.bootSeconds} s + commands ${t.manual.commandsSeconds} s); import check: ${t.manual.check.ok ? 'ok' : 'FAILED'} ${t.manual.check.output}`);
    if (t.manual.substitution) lines.push(`note: ${t.manual.substitution}`);
    for (const s of t.manual.steps.filter((x) => !x.ok)) lines.push(`failed: ${s.typed}\n${s.tail}`);
  }
  if (t.ratio) {
    const met = t.ratio.endToEnd <= RATIO_GOALS.coldBootstrap ? 'met' : 'NOT met';
    lines.push(
      `cold bootstrap / hand sequence: ${t.ratio.endToEnd} end to end (goal ≤ ${RATIO_GOALS.coldBootstrap}: ${met}), container start to ready` +
        (t.ratio.work !== undefined ? `, ${t.ratio.work} for the work alone (bootstrap total / typed commands)` : ''),
    );
    if (t.ratio.baked !== undefined) {
      const bakedMet = t.ratio.baked <= RATIO_GOALS.bakedMachine ? 'met' : 'NOT met';
      lines.push(
        `baked image / hand sequence: ${t.ratio.baked} end to end (goal ≤ ${RATIO_GOALS.bakedMachine}: ${bakedMet}), container start to ready (the image's build is the deploy's, not in the figure)`,
      );
    }
  }
  if (t.baked) {
    lines.push('', `the default machine from its baked image (machine.bake; the twin built the image in ${t.baked.imageBuildSeconds} s, 0: cached):`);
    lines.push(machineTable([t.baked.machine]));
  }
  if (t.cluster) {
    lines.push('', `1 + 2 cluster${t.cluster.readySeconds !== undefined ? `: ready after ${t.cluster.readySeconds} s (the scheduler signals once every worker ran a task)` : ': NOT ready'}`);
    lines.push(machineTable(t.cluster.machines));
  }
  for (const m of [t.machine, t.baked?.machine, ...(t.cluster?.machines ?? [])]) {
    if (m && m.status !== 'SUCCESS') lines.push(`${m.logicalId}: ${m.status}: ${m.reason}`);
  }
  for (const e of t.errors) lines.push(`error: ${e}`);
  if (t.buildSeconds.rootfs || t.buildSeconds.indexes || t.buildSeconds.image) {
    lines.push(`twin build (not in the figures): rootfs ${round(t.buildSeconds.rootfs, 0)} s, indexes ${round(t.buildSeconds.indexes, 0)} s, baked image ${round(t.buildSeconds.image ?? 0, 0)} s`);
  }
  lines.push(`twin log: ${t.logFile}; differences from EC2: ${t.deviations.length} (listed in the JSON), e.g. Debian trixie containers sharing this host's CPUs`);
  return lines.join('\n');
}
