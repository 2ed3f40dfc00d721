import * as path from 'path';
import { BenchApp, writeConfig } from './apps';
import { Contention, contention } from './host';
import { leastSquares, LineFit, median, round } from './stats';
import { canMeasureMemory, synthOnce, SynthRun } from './synth';
import { heading, renderTable } from './table';

/**
 * Section 1: wall time of the real `cdk synth` per app (median of the runs),
 * its peak memory, and the marginal cost of a student from the labs.
 *
 * Runs are interleaved (run 1 of every app, then run 2, ...) so that a change
 * in background load spreads over all apps instead of skewing one.
 */

export interface SynthAppResult {
  app: string;
  label: string;
  students?: number;
  machines: number;
  timed: boolean;
  runs: SynthRun[];
  /** Median wall time of the successful runs, ms. */
  medianMs?: number;
  /** Fastest successful run, ms: the better estimate when other work shared the CPUs. */
  minMs?: number;
  /** Largest peak RSS over the runs, MiB. */
  peakRssMiB?: number;
  /** The cdk.out of the last successful run (not written to JSON). */
  outDir?: string;
}

export interface SynthSection {
  runs: number;
  command: string;
  memory: string;
  apps: SynthAppResult[];
  /** Least-squares line of median synth time over students (ms per student), from the timed labs. */
  perStudent?: LineFit & { unit: 'ms per student' };
  /** The same line through the fastest runs. */
  perStudentFastest?: LineFit & { unit: 'ms per student' };
  /** The same for peak memory, MiB per student. */
  memoryPerStudent?: LineFit & { unit: 'MiB per student' };
  contentionBefore: Contention;
  contentionAfter: Contention;
}

export interface SynthOptions {
  runs: number;
  workDir: string;
  log: (msg: string) => void;
}

export async function runSynthSection(apps: readonly BenchApp[], opts: SynthOptions): Promise<SynthSection> {
  const contentionBefore = contention();
  const results: SynthAppResult[] = apps.map((a) => ({
    app: a.id,
    label: a.label,
    students: a.students,
    machines: a.machines,
    timed: a.timed,
    runs: [],
  }));
  const configs = apps.map((a) => writeConfig(a, opts.workDir).file);
  const rounds = Math.max(...apps.map((a) => (a.timed ? opts.runs : 1)));
  for (let pass = 0; pass < rounds; pass++) {
    for (const [i, app] of apps.entries()) {
      if (pass >= (app.timed ? opts.runs : 1)) continue;
      const outDir = path.join(opts.workDir, `cdk.out-${app.id}-${pass + 1}`);
      opts.log(`synth ${app.id} run ${pass + 1}/${app.timed ? opts.runs : 1} ...`);
      const run = await synthOnce(outDir, configs[i]);
      opts.log(`  ${run.ok ? `${(run.wallMs / 1000).toFixed(1)} s` : `FAILED: ${run.error}`}`);
      results[i].runs.push(run);
      if (run.ok) results[i].outDir = outDir;
    }
  }
  for (const r of results) {
    const ok = r.runs.filter((run) => run.ok);
    if (ok.length) {
      r.medianMs = Math.round(median(ok.map((run) => run.wallMs)));
      r.minMs = Math.round(Math.min(...ok.map((run) => run.wallMs)));
    }
    const rss = ok.map((run) => run.peakRssKiB).filter((v): v is number => v !== undefined);
    if (rss.length) r.peakRssMiB = round(Math.max(...rss) / 1024, 0);
  }
  const labs = results.filter((r) => r.timed && r.students !== undefined && r.medianMs !== undefined);
  const section: SynthSection = {
    runs: opts.runs,
    command: 'npx cdk synth --quiet -o <tmpdir> [-c config=<file>]',
    memory: canMeasureMemory()
      ? 'GNU time %M: the largest peak RSS of one process of the synth (the CDK CLI or the app)'
      : 'not measured (/usr/bin/time is not installed)',
    apps: results,
    contentionBefore,
    contentionAfter: contention(),
  };
  if (new Set(labs.map((l) => l.students)).size >= 2) {
    section.perStudent = { ...leastSquares(labs.map((l) => ({ x: l.students!, y: l.medianMs! }))), unit: 'ms per student' };
    section.perStudentFastest = { ...leastSquares(labs.map((l) => ({ x: l.students!, y: l.minMs! }))), unit: 'ms per student' };
    const withRss = labs.filter((l) => l.peakRssMiB !== undefined);
    if (new Set(withRss.map((l) => l.students)).size >= 2) {
      section.memoryPerStudent = {
        ...leastSquares(withRss.map((l) => ({ x: l.students!, y: l.peakRssMiB! }))),
        unit: 'MiB per student',
      };
    }
  }
  return section;
}

export function formatSynthSection(s: SynthSection): string {
  const rows = s.apps.map((a) => [
    a.app,
    a.machines,
    a.medianMs !== undefined ? (a.medianMs / 1000).toFixed(1) : undefined,
    a.minMs !== undefined ? (a.minMs / 1000).toFixed(1) : undefined,
    a.runs.length ? a.runs.map((r) => (r.ok ? (r.wallMs / 1000).toFixed(1) : 'fail')).join(' ') : undefined,
    a.peakRssMiB,
    a.timed ? '' : 'once, for another section',
  ]);
  const lines = [
    heading('1. Synth: npx cdk synth --quiet'),
    renderTable(['app', 'machines', 'median s', 'min s', 'runs s', 'peak MiB', 'note'], rows),
  ];
  if (s.perStudent) {
    lines.push(
      `marginal cost per student: ${s.perStudent.slope.toFixed(1)} ms (least squares over ${s.perStudent.points} labs, ` +
        `intercept ${(s.perStudent.intercept / 1000).toFixed(1)} s${s.perStudent.r2 !== undefined ? `, R² ${s.perStudent.r2.toFixed(3)}` : ''})`,
    );
  }
  if (s.perStudentFastest) {
    lines.push(`the same through the fastest runs: ${s.perStudentFastest.slope.toFixed(1)} ms per student, intercept ${(s.perStudentFastest.intercept / 1000).toFixed(1)} s`);
  }
  if (s.memoryPerStudent) lines.push(`peak memory per student: ${(s.memoryPerStudent.slope * 1024).toFixed(0)} KiB`);
  lines.push(`memory: ${s.memory}`);
  for (const a of s.apps) {
    const failed = a.runs.find((r) => !r.ok);
    if (failed) lines.push(`${a.app}: synth failed: ${failed.error}`);
  }
  return lines.join('\n');
}
