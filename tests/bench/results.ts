import * as fs from 'fs';
import * as path from 'path';
import { CostSection } from './cost-section';
import { HostInfo } from './host';
import { ShapeSection } from './shape-section';
import { SynthSection } from './synth-section';
import { REPO_DIR } from './synth';
import { TwinSection } from './twin-section';

/**
 * The JSON a bench run writes: bench-results/bench-<timestamp>.json and
 * bench-results/latest.json (git-ignored), and tests/bench/latest-results.json, the
 * committed file the README's benchmark and cost figures are generated from.
 */

export const RESULTS_DIR = path.join(REPO_DIR, 'bench-results');

/** The committed results: the README's figures come from this file only. */
export const COMMITTED_RESULTS = path.join(REPO_DIR, 'tests', 'bench', 'latest-results.json');

/** The committed results, if there are any. */
export function readCommittedResults(): BenchResults | undefined {
  return fs.existsSync(COMMITTED_RESULTS) ? JSON.parse(fs.readFileSync(COMMITTED_RESULTS, 'utf8')) : undefined;
}

export interface BenchResults {
  schema: 'dasklab-bench/1';
  startedAt: string;
  finishedAt: string;
  totalSeconds: number;
  host: HostInfo;
  options: { runs: number; twin: boolean; twinTimeoutSeconds: number };
  synth: SynthSection;
  shape: ShapeSection;
  twin?: TwinSection;
  /**
   * When this run skipped the twin (`--no-twin`) and kept the twin section of
   * the previous committed results: when and at which commit that was measured.
   */
  twinCarriedFrom?: { startedAt: string; commit?: string };
  cost: CostSection;
}

/** A timestamp usable in file names: 2026-11-25T14-30-00Z. */
export function fileStamp(date: Date): string {
  return date.toISOString().replace(/\.\d+Z$/, 'Z').replace(/:/g, '-');
}

/** Drops what is not meant for the JSON (local cdk.out paths). */
function replacer(key: string, value: unknown): unknown {
  return key === 'outDir' ? undefined : value;
}

/** Writes the results; returns the paths written. */
export function writeResults(results: BenchResults): string[] {
  fs.mkdirSync(RESULTS_DIR, { recursive: true });
  const text = JSON.stringify(results, replacer, 2) + '\n';
  const files = [path.join(RESULTS_DIR, `bench-${fileStamp(new Date(results.startedAt))}.json`), path.join(RESULTS_DIR, 'latest.json'), COMMITTED_RESULTS];
  for (const f of files) fs.writeFileSync(f, text);
  return files;
}
