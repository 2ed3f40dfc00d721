/** `dasklab stop` and `dasklab start`: change machines' state and wait with a progress display. */
import { Command } from 'commander';
import { CommandContext } from '../context';
import { changePower, PowerAction } from '../power';
import { selectMachines } from '../select';
import { formatTable } from '../table';
import { actionOf, CommandKit, examples, positiveNumber } from './kit';

interface PowerCommandOptions {
  readonly all?: boolean;
  readonly timeout: number;
}

async function power(ctx: CommandContext, action: PowerAction, ids: string[], options: PowerCommandOptions): Promise<number> {
  const scope = await ctx.scope();
  const machines = selectMachines(await ctx.machines(), ids, options.all === true, scope);
  ctx.note(`${action === 'stop' ? 'Stopping' : 'Starting'} ${machines.length} machine${machines.length === 1 ? '' : 's'} of app "${scope.app}" (${scope.region}):`);
  const results = await changePower(ctx.clients().ec2, machines, action, {
    timeoutSeconds: options.timeout * 60,
    progress: ctx.io.stderr,
    now: () => ctx.io.now(),
  });
  const failed = results.filter((r) => r.outcome === 'failed').length;
  if (ctx.json) {
    ctx.printJson(results);
  } else {
    const rows = results.map((r) => [r.label, r.instanceId, r.outcome === 'failed' ? `failed: ${r.reason}` : r.outcome]);
    for (const line of formatTable(['MACHINE', 'INSTANCE', 'RESULT'], rows)) ctx.print(line);
  }
  if (action === 'start' && results.some((r) => r.outcome === 'started')) {
    ctx.note('Public IPs change when a machine starts: run `npx dasklab handouts` again for direct-SSH hand-outs.');
  }
  return failed > 0 ? 1 : 0;
}

/** Adds `stop` and `start` to the program. */
export function registerPower(program: Command, kit: CommandKit): void {
  for (const action of ['stop', 'start'] as const) {
    program
      .command(action)
      .argument('[ids...]', 'machines: student ids, Name tags, labels or instance ids')
      .description(
        action === 'stop'
          ? 'stop machines and wait until they are stopped (disks are kept; instance billing stops)'
          : 'start stopped machines and wait until they are running',
      )
      .option('--all', 'every machine of the app')
      .option('--timeout <minutes>', 'how long to wait for each machine', positiveNumber('--timeout'), 15)
      .addHelpText('after', examples(`npx dasklab ${action} alice bob`, `npx dasklab ${action} --all`))
      .action(actionOf(kit, (ctx, options: PowerCommandOptions, ids: string[]) => power(ctx, action, ids ?? [], options)));
  }
}
