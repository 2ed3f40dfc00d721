import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { benchApps } from './apps';
import { parseArgs } from './args';
import { formatCostSection, runCostSection } from './cost-section';
import { contentionWarning, hostInfo } from './host';
import { BenchResults, COMMITTED_RESULTS, fileStamp, readCommittedResults, RESULTS_DIR, writeResults } from './results';
import { formatShapeSection, runShapeSection } from './shape-section';
import { formatSynthSection, runSynthSection } from './synth-section';
import { formatTwinSection, measuredBootstrapSeconds, runTwinSection, TwinSection } from './twin-section';
import { BAKED_MACHINE_APP, synthBakedMachine } from './baked-machine';

/**
 * npm run bench -- [--runs N] [--no-twin] [--twin-timeout S] [--keep]
 *
 * How fast dasklab gets from `cdk deploy` to ready machines, and what they
 * cost: 1. synth time, 2. template shape and creation estimate, 3. boot to
 * ready in the twin against the manual sequence, 4. cost. It measures and
 * prints; it asserts no time. Results: bench-results/bench-<timestamp>.json and
 * bench-results/latest.json; `npx ts-node --transpile-only
 * tests/bench/render-markdown.ts` turns the latest into the README's table.
 *
 * Sections run in the order 1, 3, 2, 4: the creation estimate uses the
 * bootstrap times the twin measured in the same run.
 */

const log = (msg: string) => process.stderr.write(`[bench] ${msg}\n`);
const print = (text: string) => process.stdout.write(`${text}\n`);

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  const started = new Date();
  const host = hostInfo();
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'dasklab-bench-'));
  const apps = benchApps();
  try {
    print(`dasklab bench ${started.toISOString()}: ${host.cpus} x ${host.cpuModel}, ${host.memoryGiB} GiB, node ${host.node}, ` +
      `aws-cdk ${host.awsCdkCli}, aws-cdk-lib ${host.awsCdkLib}, commit ${host.commit ?? 'unknown'}`);

    const synth = await runSynthSection(apps, { runs: args.runs, workDir, log });
    print(formatSynthSection(synth));
    const warning = contentionWarning(synth.contentionBefore.loadAverage1m > synth.contentionAfter.loadAverage1m ? synth.contentionBefore : synth.contentionAfter, host.cpus);
    if (warning) print(`warning: ${warning}`);
    const outDirOf = (id: string) => synth.apps.find((a) => a.app === id)?.outDir;
    const built = apps.map((a) => ({ ...a, outDir: outDirOf(a.id) }));

    // The default machine with machine.bake: its deploy estimate (section 2) and its boot (section 3).
    const baked = await synthBakedMachine(workDir);
    if (baked.error) log(`the default machine with machine.bake did not synthesize: ${baked.error}`);
    built.push({ ...BAKED_MACHINE_APP, outDir: baked.outDir });

    let twin: TwinSection | undefined;
    if (args.twin) {
      fs.mkdirSync(RESULTS_DIR, { recursive: true });
      twin = await runTwinSection({
        machineOutDir: outDirOf('machine'),
        clusterOutDir: outDirOf('cluster-1+2'),
        bakedOutDir: baked.outDir,
        workDir,
        timeoutSeconds: args.twinTimeoutSeconds,
        logFile: path.join(RESULTS_DIR, `twin-${fileStamp(started)}.log`),
        log,
      });
      print(formatTwinSection(twin));
      const busy = twin.contentionBefore && contentionWarning(twin.contentionBefore, host.cpus);
      if (busy) print(`warning: ${busy}`);
    } else {
      print('\n== 3. Boot to ready in the twin: skipped (--no-twin)');
    }
    // Without the twin, the last committed twin figures stay, marked with their run.
    const previous = args.twin ? undefined : readCommittedResults();
    const carried = previous?.twin && !previous.twin.skipped ? previous : undefined;
    if (carried) {
      twin = carried.twin;
      print(`   keeping the twin figures of ${carried.twinCarriedFrom?.startedAt ?? carried.startedAt} (${COMMITTED_RESULTS})`);
    }

    const shape = runShapeSection(built, measuredBootstrapSeconds(twin), twin?.baked?.machine.status === 'SUCCESS' ? twin.baked.machine.seconds : undefined);
    print(formatShapeSection(shape));
    const cost = runCostSection(built.filter((a) => a.timed));
    print(formatCostSection(cost));

    const finished = new Date();
    const results: BenchResults = {
      schema: 'dasklab-bench/1',
      startedAt: started.toISOString(),
      finishedAt: finished.toISOString(),
      totalSeconds: Math.round((finished.getTime() - started.getTime()) / 1000),
      host,
      options: { runs: args.runs, twin: args.twin, twinTimeoutSeconds: args.twinTimeoutSeconds },
      synth,
      shape,
      twin,
      twinCarriedFrom: carried ? carried.twinCarriedFrom ?? { startedAt: carried.startedAt, commit: carried.host.commit } : undefined,
      cost,
    };
    const files = writeResults(results);
    print(`\nbench took ${results.totalSeconds} s; results: ${files.map((f) => path.relative(process.cwd(), f)).join(', ')}`);
    print('README: npx ts-node --transpile-only tests/bench/render-markdown.ts --readme');
    const failed = synth.apps.some((a) => a.runs.every((r) => !r.ok));
    return failed ? 1 : 0;
  } finally {
    if (args.keep) log(`kept ${workDir}`);
    else fs.rmSync(workDir, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`[bench] ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(2);
  },
);
