/** The `dasklab` command line: global options and the commands. */
import { Command } from 'commander';
import { version } from '../../package.json';
import { registerHandouts } from './commands/handouts';
import { CommandKit, examples } from './commands/kit';
import { registerPower } from './commands/power';
import { registerPreflight } from './commands/preflight';
import { registerReset } from './commands/reset';
import { registerStatus } from './commands/status';
import { registerTlsClient } from './commands/tls-client';
import { registerTunnel } from './commands/tunnel';
import { registerOpen } from './commands/open';

/**
 * The commander program. It never exits the process itself: errors and
 * --help end in a CommanderError that {@link runCli} turns into an exit code.
 */
export function buildProgram(kit: CommandKit): Command {
  const program = new Command('dasklab');
  // Set before the commands are added: subcommands copy these settings.
  program
    .exitOverride()
    .configureOutput({
      writeOut: (text) => kit.io.stdout.write(text),
      writeErr: (text) => kit.io.stderr.write(text),
    })
    .showHelpAfterError('(add --help for usage)')
    .description('See and steer what dasklab deployed: status, hand-outs, stop/start, reset, preflight, the dashboard tunnel and TLS client certificates.\nEverything is found through the dasklab:app tag of the machines; no local state.')
    .version(version)
    .option('--app <name>', "the app: the dasklab:app tag (default: the config's name)")
    .option('--region <region>', 'AWS region (default: AWS_REGION or your profile\'s region)')
    .option('--json', 'print results as JSON')
    .option('--config <file>', 'the dasklab config (default: dasklab.config.json)')
    .addHelpText(
      'after',
      examples('npx dasklab preflight', 'npx dasklab status', 'npx dasklab handouts --out handouts/', 'npx dasklab stop --all'),
    );
  registerStatus(program, kit);
  registerHandouts(program, kit);
  registerPower(program, kit);
  registerReset(program, kit);
  registerPreflight(program, kit);
  registerTunnel(program, kit);
  registerOpen(program, kit);
  registerTlsClient(program, kit);
  return program;
}
