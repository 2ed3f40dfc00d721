/** `dasklab open NAME`: a student's JupyterLab for the trainer, through the tunnel of the student's handout. */
import { Command } from 'commander';
import { connectionOf, shellJoin } from '../connection';
import { CommandContext } from '../context';
import { CliError } from '../errors';
import { jupyterTunnelArgv } from '../jupyter-handout';
import { reachabilityOfAll } from '../network-access';
import { selectOne } from '../select';
import { which } from '../which';
import { JUPYTER_PORT, JUPYTER_URL_COMMAND } from '../../machine/jupyter-lab';
import { actionOf, CommandKit, examples } from './kit';

interface OpenOptions {
  readonly key?: string;
  readonly print?: boolean;
}

async function open(ctx: CommandContext, name: string, options: OpenOptions): Promise<number> {
  const scope = await ctx.scope();
  const machines = await ctx.machines();
  const machine = selectOne(machines, name, scope, ['scheduler', 'student', 'standalone']);
  if (machine.role !== 'scheduler' && machine.role !== 'student') {
    throw new CliError(`${machine.label} is a ${machine.role ?? 'machine'}; JupyterLab runs on a student's machine or a scheduler: name the student or the scheduler.`);
  }
  const reach = (await reachabilityOfAll(ctx.clients().ec2, [machine])).get(machine.instanceId)!;
  const argv = jupyterTunnelArgv(connectionOf(machine, reach, scope.region), options.key ?? `${machine.label}.pem`);
  const command = shellJoin(argv);
  if (ctx.json) {
    ctx.printJson({ machine: machine.label, instanceId: machine.instanceId, command, argv });
    return 0;
  }
  if (options.print) {
    ctx.print(command);
    return 0;
  }
  if (machine.state !== 'running') ctx.note(`warning: ${machine.label} is ${machine.state}; start it first: npx dasklab start ${machine.label}`);
  if (which('ssh', ctx.io.env.PATH) === undefined) {
    throw new CliError(`"ssh" is not installed (not on PATH): install an OpenSSH client. Or run this elsewhere: ${command}`);
  }
  ctx.note(
    `Logging in to ${machine.label} with JupyterLab forwarded: open the http://127.0.0.1:${JUPYTER_PORT}/lab?token=... address it shows ` +
      `(\`${JUPYTER_URL_COMMAND}\` shows it again). Leaving the shell closes the tunnel.`,
  );
  ctx.note(`$ ${command}`);
  return ctx.io.run('ssh', argv.slice(1));
}

/** Adds `open` to the program. */
export function registerOpen(program: Command, kit: CommandKit): void {
  program
    .command('open')
    .argument('<name>', 'the student (or their scheduler, a Name or an instance id)')
    .description("a student's JupyterLab: logs in over ssh with JupyterLab (8888) and the Dask dashboard (8787) forwarded to this computer, as the student's handout does")
    .option('--key <file>', 'the private key (default: <machine>.pem, as written by handouts)')
    .option('--print', 'print the command instead of running it')
    .addHelpText('after', examples('npx dasklab open alice --key handouts/alice.pem', 'npx dasklab open alice --print'))
    .action(actionOf(kit, (ctx, options: OpenOptions, name: string) => open(ctx, name, options)));
}
