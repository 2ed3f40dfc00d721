/** `dasklab tunnel [NAME]`: the port forward for the Dask dashboard; prints it, or runs it with --open. */
import { Command } from 'commander';
import { shellJoin } from '../connection';
import { CommandContext } from '../context';
import { CliError } from '../errors';
import { reachabilityOfAll } from '../network-access';
import { tunnelTarget, tunnelTo } from '../tunnel';
import { which } from '../which';
import { actionOf, CommandKit, examples, positiveNumber } from './kit';

interface TunnelOptions {
  readonly open?: boolean;
  readonly key?: string;
  readonly localPort?: number;
}

/** What to install when a program the tunnel runs is missing. */
const INSTALL_HINTS: Record<string, string> = {
  aws: 'install the AWS CLI v2 and its Session Manager plugin (see "Install the Session Manager plugin" in the AWS Systems Manager documentation)',
  ssh: 'install an OpenSSH client',
};

async function tunnel(ctx: CommandContext, name: string | undefined, options: TunnelOptions): Promise<number> {
  const scope = await ctx.scope();
  const machines = await ctx.machines();
  const machine = tunnelTarget(machines, name, scope);
  const reach = (await reachabilityOfAll(ctx.clients().ec2, [machine])).get(machine.instanceId)!;
  const t = tunnelTo(machine, reach, scope.region, { keyFile: options.key, localPort: options.localPort });
  const command = shellJoin(t.argv);
  if (ctx.json && !options.open) {
    ctx.printJson({ machine: machine.label, instanceId: machine.instanceId, via: t.via, command, argv: t.argv, url: t.url, directUrl: t.directUrl });
    return 0;
  }
  if (machine.state !== 'running') ctx.note(`warning: ${machine.label} is ${machine.state}; start it first: npx dasklab start ${machine.label}`);
  if (t.directUrl) ctx.note(`The dashboard port is open to your network: ${t.directUrl} works without a tunnel.`);
  if (!options.open) {
    ctx.print(command);
    ctx.note(`Run it (or add --open), leave it running, and open ${t.url}`);
    return 0;
  }
  const program = t.argv[0];
  if (which(program, ctx.io.env.PATH) === undefined) {
    throw new CliError(`"${program}" is not installed (not on PATH): ${INSTALL_HINTS[program] ?? `install ${program}`}. Or run this elsewhere: ${command}`);
  }
  if (t.via === 'ssm' && which('session-manager-plugin', ctx.io.env.PATH) === undefined) {
    ctx.note('warning: session-manager-plugin is not on PATH; the AWS CLI needs it for port forwarding.');
  }
  ctx.note(`Forwarding the dashboard of ${machine.label}: open ${t.url} (Ctrl-C ends the tunnel)`);
  ctx.note(`$ ${command}`);
  try {
    return await ctx.io.run(program, t.argv.slice(1));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new CliError(`"${program}" is not installed: ${INSTALL_HINTS[program] ?? `install ${program}`}.`);
    }
    throw error;
  }
}

/** Adds `tunnel` to the program. */
export function registerTunnel(program: Command, kit: CommandKit): void {
  program
    .command('tunnel')
    .argument('[name]', "the machine (student id, Name, label or instance id); default: the app's scheduler")
    .description('the Session Manager (or SSH) port forward that brings the Dask dashboard to http://localhost:8787; prints it, or runs it with --open')
    .option('--open', 'run the command (needs the AWS CLI and its Session Manager plugin, or ssh)')
    .option('--key <file>', 'private key for an SSH tunnel (default: <machine>.pem, as written by handouts)')
    .option('--local-port <port>', 'the port on this computer', positiveNumber('--local-port'))
    .addHelpText('after', examples('npx dasklab tunnel', 'npx dasklab tunnel alice --open'))
    .action(actionOf(kit, (ctx, options: TunnelOptions, name: string | undefined) => tunnel(ctx, name, options)));
}
