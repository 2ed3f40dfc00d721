import * as fs from 'fs';
import * as path from 'path';
import { BenchResults, COMMITTED_RESULTS, RESULTS_DIR } from './results';
import { REPO_DIR } from './synth';
import { RATIO_GOALS, TwinMachineResult } from './twin-section';

/**
 * Prints a bench run's results as Markdown for the README's results section:
 *
 *   npx ts-node --transpile-only tests/bench/render-markdown.ts [results.json]
 *   npx ts-node --transpile-only tests/bench/render-markdown.ts --readme [results.json]
 *
 * Default: bench-results/latest.json; with --readme, the committed
 * tests/bench/latest-results.json, whose figures replace the README's generated block.
 */

type Row = (string | number | undefined)[];

function table(header: string[], rows: Row[], right: number[] = []): string {
  const cell = (v: string | number | undefined) => (v === undefined ? '–' : String(v).replace(/\|/g, '\\|'));
  return [
    `| ${header.join(' | ')} |`,
    `|${header.map((_, i) => (right.includes(i) ? '---:' : '---')).join('|')}|`,
    ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`),
  ].join('\n');
}

const s1 = (ms: number | undefined) => (ms === undefined ? undefined : (ms / 1000).toFixed(1));
const usd = (v: number) => `$${v.toFixed(v > 0 && v < 1 ? 4 : 2)}`;
const kib = (b: number) => `${(b / 1024).toFixed(0)} KiB`;
const containers = (n: number) => `${n} other container${n === 1 ? '' : 's'} running`;
const minutes = (s: number) => `${Math.floor(s / 60)} min ${String(Math.round(s % 60)).padStart(2, '0')} s`;

function synthSection(r: BenchResults): string {
  const s = r.synth;
  const rows = s.apps
    .filter((a) => a.timed)
    .map((a) => [a.label, a.machines, s1(a.medianMs), s1(a.minMs), a.peakRssMiB]);
  const lines = [
    `**Synth** — \`npx cdk synth --quiet\`, median of ${s.runs} run${s.runs > 1 ? 's' : ''}, peak memory of the largest process:`,
    '',
    table(['app', 'machines', 'synth, median (s)', 'fastest (s)', 'peak memory (MiB)'], rows, [1, 2, 3, 4]),
  ];
  if (s.perStudent) {
    lines.push(
      '',
      `Each student adds ${s.perStudent.slope.toFixed(0)} ms to the synth` +
        (s.memoryPerStudent ? ` and ${(s.memoryPerStudent.slope * 1024).toFixed(0)} KiB to its peak memory` : '') +
        ` (least-squares line over the medians of the labs of ${s.apps.filter((a) => a.timed && a.students).map((a) => a.students).join(', ')} students` +
        (s.perStudentFastest ? `; ${s.perStudentFastest.slope.toFixed(0)} ms through the fastest runs` : '') +
        ').',
    );
  }
  const busy = [s.contentionBefore, s.contentionAfter]
    .filter((c) => c.foreignContainers.length > 0 || c.loadAverage1m > r.host.cpus * 0.75)
    .sort((a, b) => b.loadAverage1m - a.loadAverage1m)[0];
  if (busy) {
    lines.push(
      '',
      `The host was shared while this ran (load average up to ${busy.loadAverage1m} on ${r.host.cpus} CPUs, ${containers(busy.foreignContainers.length)}): ` +
        'wall times include that contention, and the fastest run is the better estimate.',
    );
  }
  return lines.join('\n');
}

function shapeSection(r: BenchResults): string {
  const sh = r.shape;
  const timedIds = new Set(r.synth.apps.filter((a) => a.timed).map((a) => a.app));
  const apps = sh.apps.filter((a) => timedIds.has(a.app) || a.waves > 1 || a.baked);
  const rows = apps.map((a) => {
    const largest = a.stacks.reduce((x, y) => (y.bytes > x.bytes ? y : x));
    return [
      a.label,
      a.totals.stacks,
      a.totals.resources,
      `${kib(largest.bytes)} (${largest.percentOfLimit.bytes}%)`,
      `${Math.max(...a.stacks.map((st) => st.resources))} (${Math.max(...a.stacks.map((st) => st.percentOfLimit.resources))}%)`,
      a.chainResources,
      minutes(a.estimatedSeconds),
      a.estimatedSecondsStatedBootstrap !== undefined ? minutes(a.estimatedSecondsStatedBootstrap) : undefined,
      a.waves,
    ];
  });
  const wc = sh.creationTimes.bootstrap;
  const measured = Object.entries(wc.measured)
    .map(([role, v]) => `${role} ${v} s${role === 'scheduler' || role === 'worker' ? ' (1 + 2 cluster)' : ''}`)
    .join(', ');
  const baked = sh.bakedBootstrap && apps.some((a) => a.baked) ? sh.bakedBootstrap : undefined;
  const bakedMeasured = baked?.measured.standalone;
  const bakedText = baked
    ? `; a baked machine's as ${bakedMeasured !== undefined ? `measured in the twin (${bakedMeasured} s)` : `${baked.fallback} s`}, ` +
      `after its image's build (${(sh.creationTimes.types['AWS::ImageBuilder::Image']?.seconds ?? 0) / 60} minutes, an estimate: AWS publishes none)`
    : '';
  const lines = [
    `**Template shape and creation estimate** — the goal: ${sh.goal}. The estimate is the longest chain of creation dependencies ` +
      '(DependsOn, Ref, Fn::GetAtt, Fn::Sub; a stack waits for the stacks it imports from) weighted by typical CloudFormation creation times ' +
      `(\`tests/bench/cfn-creation-seconds.json\`, sources there), the bootstrap counted as ${measured ? `measured in the twin (${measured})` : `${wc.fallback} s`}${bakedText}:`,
    '',
    table(
      ['app', 'stacks', 'resources', 'largest template (of 1 MB)', 'most resources in a stack (of 500)', 'longest chain', 'estimated deploy (twin bootstrap)', `on EC2, estimated (${wc.fallback} s bootstrap${baked ? `, baked ${baked.fallback} s` : ''})`, 'waves'],
      rows,
      [1, 2, 3, 4, 5, 6, 7, 8],
    ),
  ];
  lines.push(
    '',
    `On EC2 the bootstrap also waits for EC2's own boot and downloads its packages from Ubuntu's archive and PyPI, which the twin serves locally: ` +
      `the "on EC2" column counts every bootstrap as ${wc.fallback} s${baked ? ` (a baked machine's as ${baked.fallback} s: it downloads nothing)` : ''}, an estimate whose parts and sources are in \`tests/bench/cfn-creation-seconds.json\`.`,
  );
  const path0 = sh.apps.find((a) => a.app === 'machine')?.criticalPath;
  if (path0) lines.push('', `Critical path of the default machine: ${path0.map((p) => p.replace(/ [^ ]+\/[^ ]+ /, ' ')).join(' → ')}.`);
  if (sh.capacity) {
    lines.push(
      '',
      `Largest lab that fits CloudFormation's per-stack quotas (its fullest of ${sh.capacity.shards} stacks at ${sh.limits.templateBytes.toLocaleString('en-US')} bytes and ${sh.limits.resources} resources), by workers per student; the config accepts up to ${sh.capacity.rows[0]?.configAccepts} students for any of them:`,
      '',
      table(
        ['workers per student', 'template bytes per student', 'largest class within quotas', 'fullest stack at 500 students'],
        sh.capacity.rows.map((c) => [`${c.workersPerStudent}${c.basis === 'projected' ? ' (projected)' : ''}`, c.bytes, c.maxStudents, `${c.fullestShardAtConfigMaxPercent}%`]),
        [1, 2, 3],
      ),
    );
  }
  return lines.join('\n');
}

function phaseRow(label: string, m: TwinMachineResult, phases: string[]): Row {
  return [label, m.status === 'SUCCESS' ? m.seconds : m.status, m.bootSeconds, ...phases.map((p) => m.phases[p])];
}

function twinSection(r: BenchResults): string {
  const t = r.twin;
  if (!t) return '**Boot to ready in the twin** — not run (`--no-twin`).';
  if (t.skipped) return `**Boot to ready in the twin** — ${t.skipped}.`;
  const all = [t.machine, t.baked?.machine, ...(t.cluster?.machines ?? [])].filter((m): m is TwinMachineResult => !!m);
  const order = ['apt', 'apt-tools', 'venv', 'pip', 'profile', 'verify', 'dask', 'cluster'];
  const phases = order.filter((p) => all.some((m) => m.phases[p] !== undefined));
  const rows: Row[] = [];
  if (t.machine) rows.push(phaseRow('one machine: bootstrap', t.machine, phases));
  if (t.baked) rows.push(phaseRow('one machine: from its baked image', t.baked.machine, phases));
  for (const m of t.cluster?.machines ?? []) rows.push(phaseRow(`1 + 2 cluster: ${m.logicalId.replace(/Instance[0-9A-F]*$/, '').toLowerCase()}`, m, phases));
  const lines = [
    '**Boot to ready in the twin** — seconds from container start to the readiness signal, with the bootstrap\'s phases ' +
      "(`/var/lib/dasklab/ready.json`); the twin's containers share this host's CPUs and fetch packages from local mirrors, so absolute times are lower than on EC2 and the ratio is the figure to watch:",
    '',
    table(['machine', 'ready (s)', 'boot (s)', ...phases.map((p) => `${p} (s)`)], rows, [1, 2, ...phases.map((_, i) => i + 3)]),
  ];
  if (t.manual) {
    lines.push(
      '',
      `The manual sequence, typed on a fresh machine of the same twin run (up after ${t.manual.bootSeconds} s)${t.manual.substitution ? ` (${t.manual.substitution})` : ''}:`,
      '',
      table(['command', 'seconds'], [...t.manual.steps.map((s) => [`\`${s.typed}\``, s.ok ? s.seconds : `failed (exit ${s.exitCode})`]), ['**total, with boot**', t.manual.totalSeconds]], [1]),
    );
  }
  if (t.ratio) {
    lines.push(
      '',
      `Cold bootstrap / hand sequence: **${t.ratio.endToEnd}** end to end (goal ≤ ${RATIO_GOALS.coldBootstrap})` +
        (t.ratio.work !== undefined ? `, ${t.ratio.work} for the work alone (the bootstrap also verifies that numpy and dask import and compute, which the manual sequence does not)` : '') +
        '.',
    );
    if (t.ratio.baked !== undefined) {
      lines.push(
        '',
        `Baked image / hand sequence: **${t.ratio.baked}** end to end (goal ≤ ${RATIO_GOALS.bakedMachine}); the image's build (the twin's: ` +
          `${t.baked?.imageBuildSeconds ?? 0} s, 0 when cached) is the deploy's, once per package config, not each machine's.`,
      );
    }
  }
  const busy = t.contentionBefore;
  if (busy && (busy.foreignContainers.length > 0 || busy.loadAverage1m > r.host.cpus * 0.75)) {
    lines.push('', `Measured while the host was shared (${containers(busy.foreignContainers.length)}, load average ${busy.loadAverage1m} on ${r.host.cpus} CPUs).`);
  }
  const failed = all.filter((m) => m.status !== 'SUCCESS');
  if (failed.length) lines.push('', `Not ready: ${failed.map((m) => `${m.logicalId} (${m.status})`).join(', ')}.`);
  return lines.join('\n');
}

function costSection(r: BenchResults): string {
  const c = r.cost;
  const lines = [
    `**Cost** — on demand, ${c.prices.region}, list prices of ${c.prices.date} (\`tests/bench/prices.json\`): instances, public IPv4 and gp3 disks prorated per hour:`,
    '',
    table(
      ['app', 'machines', 'per hour', 'per month (730 h)'],
      c.fleets.map((f) => [r.shape.apps.find((a) => a.app === f.app)?.label ?? f.app, `${Object.entries(f.types).map(([t, n]) => `${n} × ${t}`).join(', ')}`, usd(f.hourly.total), usd(f.monthly)]),
      [2, 3],
    ),
  ];
  if (c.classDay) {
    const a = c.classDay.assumptions;
    lines.push(
      '',
      `A class day: ${a.students} students on ${a.instanceType}, class ${a.class.start}–${a.class.end} with breaks of ${a.breaks.map((b) => `${b.minutes}`).join(', ')} min, ` +
        `a ${a.courseDays}-day course (\`tests/bench/class-day-assumptions.json\`):`,
      '',
      table(
        ['policy', 'hours on per day', 'trainer restarts per machine per day', 'cost per day', 'saved per day', `saved per ${a.courseDays}-day course`],
        c.classDay.days.map((d) => [d.policy, d.hoursOn, d.restartsForClass, usd(d.costPerDay), `${usd(d.savingPerDay)} (${d.savingPercent}%)`, usd(d.savingPerCourse)]),
        [1, 2, 3, 4, 5],
      ),
    );
  }
  return lines.join('\n');
}

/** Markers around the README's generated benchmark and cost figures. */
export const README_BEGIN = '<!-- generated by `npx ts-node --transpile-only tests/bench/render-markdown.ts --readme` from tests/bench/latest-results.json: do not edit -->';
export const README_END = '<!-- end of generated figures -->';

/** The README's figures, from one results file. */
export function renderBenchmarks(r: BenchResults): string {
  const h = r.host;
  const header =
    `Measured ${r.startedAt.slice(0, 10)} by \`npm run bench\` on ${h.cpus} × ${h.cpuModel}, Node ${h.node}, aws-cdk ${h.awsCdkCli}, ` +
    `aws-cdk-lib ${h.awsCdkLib}, commit ${h.commit ?? 'unknown'} (\`tests/bench/latest-results.json\`).`;
  const twin = r.twinCarriedFrom
    ? `${twinSection(r)}\n\n(The twin figures are from the run of ${r.twinCarriedFrom.startedAt.slice(0, 10)}, commit ${r.twinCarriedFrom.commit ?? 'unknown'}; this run skipped the twin.)`
    : twinSection(r);
  return [header, synthSection(r), shapeSection(r), twin, costSection(r)].join('\n\n');
}

/** The README with its generated block replaced by `figures`. */
export function withFigures(readme: string, figures: string): string {
  const begin = readme.indexOf(README_BEGIN);
  const end = readme.indexOf(README_END);
  if (begin < 0 || end < begin) throw new Error(`README.md has no block between ${README_BEGIN} and ${README_END}`);
  return `${readme.slice(0, begin + README_BEGIN.length)}\n\n${figures}\n\n${readme.slice(end)}`;
}

function main(): void {
  const args = process.argv.slice(2);
  const readme = args.includes('--readme');
  const file = args.find((a) => !a.startsWith('--')) ?? (readme ? COMMITTED_RESULTS : path.join(RESULTS_DIR, 'latest.json'));
  if (!fs.existsSync(file)) {
    process.stderr.write(`no ${file}: run \`npm run bench\` first\n`);
    process.exit(1);
  }
  const r: BenchResults = JSON.parse(fs.readFileSync(file, 'utf8'));
  if (readme) {
    const readmeFile = path.join(REPO_DIR, 'README.md');
    fs.writeFileSync(readmeFile, withFigures(fs.readFileSync(readmeFile, 'utf8'), renderBenchmarks(r)));
    process.stdout.write(`README.md: figures from ${path.relative(REPO_DIR, file)}\n`);
    return;
  }
  process.stdout.write(renderBenchmarks(r) + '\n');
}

if (require.main === module) main();
