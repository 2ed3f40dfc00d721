/** `dasklab reset ID`: a machine back to its first-boot state, then ready again. */
import { Command } from 'commander';
import { CommandContext } from '../context';
import { CliError } from '../errors';
import { formatDuration } from '../power';
import { resetMachine } from '../reset';
import { selectOne } from '../select';
import { actionOf, CommandKit, examples, positiveNumber } from './kit';

interface ResetOptions {
  readonly yes?: boolean;
  readonly timeout: number;
}

async function reset(ctx: CommandContext, id: string, options: ResetOptions): Promise<number> {
  const scope = await ctx.scope();
  const machine = selectOne(await ctx.machines(), id, scope);
  const name = `${machine.label} (${machine.instanceId}${machine.student ? `, student ${machine.student}` : ''})`;
  if (options.yes !== true) {
    const question = `Reset ${name}? Everything on its disk is erased: files, venvs, shell history.`;
    if (!(await ctx.io.confirm(question))) {
      throw new CliError('Not reset. To reset without being asked (for example with no terminal), pass --yes.');
    }
  }
  const result = await resetMachine(ctx.clients().ec2, machine, {
    timeoutSeconds: options.timeout * 60,
    pollSeconds: 10,
    onProgress: (line) => ctx.note(line),
    now: () => ctx.io.now(),
  });
  if (ctx.json) {
    ctx.printJson(result);
    return 0;
  }
  ctx.print(`${name} is ready again, ${formatDuration(result.seconds)} after the reset.`);
  ctx.print(`It has new SSH host keys: before connecting, run  ssh-keygen -R ${machine.publicIp ?? machine.instanceId}`);
  return 0;
}

/** Adds `reset` to the program. */
export function registerReset(program: Command, kit: CommandKit): void {
  program
    .command('reset')
    .argument('<id>', 'the machine: student id, Name tag, label or instance id')
    .description(
      'give a machine back its first-boot state (EC2 replaces its root volume in place: same instance, IP and key) and wait until its bootstrap is ready',
    )
    .option('--yes', 'do not ask for confirmation')
    .option('--timeout <minutes>', 'how long to wait for the machine to be ready', positiveNumber('--timeout'), 30)
    .addHelpText('after', examples('npx dasklab reset alice', 'npx dasklab reset i-0123456789abcdef0 --yes'))
    .action(actionOf(kit, (ctx, options: ResetOptions, id: string) => reset(ctx, id, options)));
}
