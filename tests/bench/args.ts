/**
 * Command line of the bench:
 *
 *   npm run bench -- [--runs N] [--no-twin] [--twin-timeout S] [--keep]
 *
 *   --runs N           synth runs per timed app, median reported (default 3)
 *   --no-twin          skip section 3 (boot to ready in the twin); skipped anyway when not root
 *   --twin-timeout S   how long the twin waits for each machine's readiness signal (default 300;
 *                      a machine boots to ready in well under a minute there)
 *   --keep             keep the temp dir (configs, cdk.out of every app) and print its path
 */

export interface BenchArgs {
  runs: number;
  twin: boolean;
  twinTimeoutSeconds: number;
  keep: boolean;
}

export const USAGE = 'usage: npm run bench -- [--runs N] [--no-twin] [--twin-timeout S] [--keep]';

/** The value of `--name V` or `--name=V` at argv[i]; advances past it. */
function intOption(argv: readonly string[], i: number, min: number, max: number): { value: number; next: number } {
  const a = argv[i];
  const raw = a.includes('=') ? a.slice(a.indexOf('=') + 1) : argv[i + 1];
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`${a.split('=')[0]}: expected an integer from ${min} to ${max}, got ${JSON.stringify(raw)}\n${USAGE}`);
  }
  return { value, next: a.includes('=') ? i : i + 1 };
}

export function parseArgs(argv: readonly string[]): BenchArgs {
  const args: BenchArgs = { runs: 3, twin: true, twinTimeoutSeconds: 300, keep: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--runs' || a.startsWith('--runs=')) {
      const o = intOption(argv, i, 1, 20);
      args.runs = o.value;
      i = o.next;
    } else if (a === '--twin-timeout' || a.startsWith('--twin-timeout=')) {
      const o = intOption(argv, i, 60, 43200);
      args.twinTimeoutSeconds = o.value;
      i = o.next;
    } else if (a === '--no-twin') {
      args.twin = false;
    } else if (a === '--keep') {
      args.keep = true;
    } else if (a === '-h' || a === '--help') {
      throw new Error(USAGE);
    } else {
      throw new Error(`unknown argument ${JSON.stringify(a)}\n${USAGE}`);
    }
  }
  return args;
}
