import { DEFAULT_STACK, formatResults, Twin } from './launcher';
import { sleep } from './proc';
import { WayOut } from './way-out';

/**
 * npm run twin -- [--template-dir cdk.out | --synth] [--stack NAME] [-c key=value ...]
 *                 [--timeout SECONDS] [--pip-down refused|503[:SECONDS]] [--way-out direct|none|proxy] [--keep]
 *
 * Boots the template's machines, waits for their readiness signals, prints each
 * machine's result and phase timings. Exits 0 only if every machine signalled
 * SUCCESS. With --keep the machines stay up until Ctrl-C.
 */

function usage(msg?: string): never {
  if (msg) process.stderr.write(`${msg}\n`);
  process.stderr.write(
    'usage: npm run twin -- [--template-dir DIR | --synth] [--stack NAME | --stacks REGEX] [-c key=value ...]\n' +
      '                       [--timeout SECONDS] [--pip-down refused|503[:SECONDS]] [--way-out direct|none|proxy] [--keep]\n',
  );
  process.exit(2);
}

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  let templateDir: string | undefined;
  let stack = DEFAULT_STACK;
  let stacks: RegExp | undefined;
  let keep = false;
  let timeoutSeconds: number | undefined;
  const context: Record<string, string> = {};
  let pipDown: { mode: 'refused' | '503'; downForSeconds?: number } | undefined;
  let wayOut: WayOut = 'direct';
  for (let i = 0; i < argv.length; i++) {
    const next = () => argv[++i] ?? usage(`${argv[i - 1]} needs a value`);
    switch (argv[i]) {
      case '--template-dir': templateDir = next(); break;
      case '--synth': templateDir = undefined; break;
      case '--stack': stack = next(); break;
      // A pattern of stack names: boots every matching stack that has machines (a lab: '^dasklab-Lab-\\d+$').
      case '--stacks': stacks = new RegExp(next()); break;
      case '--keep': keep = true; break;
      case '--timeout': timeoutSeconds = Number(next()); break;
      case '-c': case '--context': {
        const [k, ...v] = next().split('=');
        context[k] = v.join('=');
        break;
      }
      case '--pip-down': {
        const [mode, secs] = next().split(':');
        if (mode !== 'refused' && mode !== '503') usage(`--pip-down: refused or 503, not ${mode}`);
        pipDown = { mode, downForSeconds: secs ? Number(secs) : undefined };
        break;
      }
      // 'proxy': the config's network.proxy names http://10.213.0.1:3128 (way-out.ts, proxy.ts).
      case '--way-out': {
        const value = next();
        if (value !== 'direct' && value !== 'none' && value !== 'proxy') usage(`--way-out: direct, none or proxy, not ${value}`);
        wayOut = value;
        break;
      }
      case '-h': case '--help': usage(); break;
      default: usage(`unknown argument ${argv[i]}`);
    }
  }
  if (templateDir && Object.keys(context).length) usage('-c only applies when synthesizing (no --template-dir)');

  const twin = await Twin.start({ templateDir, stack, stacks, timeoutSeconds, context, wayOut, faults: pipDown ? { pipIndex: pipDown } : undefined });
  try {
    twin.log(`waiting for ${twin.machines.length} readiness signal(s) ...`);
    const results = await twin.waitForSignals();
    process.stdout.write(`\n${await formatResults(twin, results)}\n`);
    const ok = results.every((r) => r.status === 'SUCCESS');
    if (keep) {
      twin.log(`--keep: machines stay up (run dir ${twin.runDir}); enter one with: nsenter -t <leader pid> -a; Ctrl-C to tear down`);
      for (;;) await sleep(60000);
    }
    return ok ? 0 : 1;
  } finally {
    await twin.stop();
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`[twin] ${err instanceof Error ? err.stack ?? err.message : err}\n`);
    process.exit(1);
  },
);
