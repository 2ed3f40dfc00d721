import { spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

/**
 * One real `npx cdk synth --quiet -o OUT [-c config=FILE]`, as a user runs it,
 * timed from spawn to exit. When GNU time is installed (/usr/bin/time), it also
 * reports the peak resident memory: the largest maximum RSS of any single
 * process of the tree (the CDK CLI or the app it runs), from getrusage of the
 * waited-for children.
 */

export const REPO_DIR = path.resolve(__dirname, '..', '..');
const GNU_TIME = '/usr/bin/time';

export interface SynthRun {
  ok: boolean;
  wallMs: number;
  /** Peak RSS of the largest process, in KiB; undefined without GNU time. */
  peakRssKiB?: number;
  /** The tail of stderr when the synth failed. */
  error?: string;
}

/** Whether peak memory can be measured here. */
export function canMeasureMemory(): boolean {
  return fs.existsSync(GNU_TIME);
}

/** Runs one synth of the repo's app into `outDir` (emptied first). */
export function synthOnce(outDir: string, configFile: string | undefined, timeoutMs = 10 * 60 * 1000): Promise<SynthRun> {
  fs.rmSync(outDir, { recursive: true, force: true });
  const cdk = ['--no-install', 'cdk', 'synth', '--quiet', '-o', outDir, ...(configFile ? ['-c', `config=${configFile}`] : [])];
  const rssFile = `${outDir}.rss`;
  const [cmd, args] = canMeasureMemory() ? [GNU_TIME, ['-f', '%M', '-o', rssFile, 'npx', ...cdk]] : ['npx', cdk];
  return new Promise((resolve) => {
    const started = process.hrtime.bigint();
    const child = spawn(cmd, args, { cwd: REPO_DIR, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-8000);
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
      let peakRssKiB: number | undefined;
      try {
        // GNU time writes "Command exited with non-zero status N" before the figure on failure.
        const lines = fs.readFileSync(rssFile, 'utf8').trim().split('\n');
        const value = Number(lines[lines.length - 1]);
        peakRssKiB = Number.isFinite(value) && value > 0 ? value : undefined;
        fs.rmSync(rssFile, { force: true });
      } catch {
        /* no GNU time */
      }
      const ok = code === 0;
      resolve({
        ok,
        wallMs,
        peakRssKiB,
        error: ok ? undefined : stderr.split('\n').filter((l) => l.trim()).slice(-12).join('\n') || `exit ${code}`,
      });
    });
  });
}
