/** `dasklab handouts --out DIR`: keys, ssh_config, roster.csv and a page per student. */
import * as path from 'path';
import { Command } from 'commander';
import { writeDirAtomically } from '../atomic-dir';
import { CommandContext } from '../context';
import { collectHandoutEntries, renderHandouts } from '../handouts';
import { SSH_CONFIG_FILE } from '../ssh-config';
import { actionOf, CommandKit, examples, OutDirOptions, outDirOf, withOutDir } from './kit';

async function handouts(ctx: CommandContext, options: OutDirOptions): Promise<number> {
  const dir = outDirOf(ctx, options);
  const machines = await ctx.machines();
  const region = await ctx.region();
  const entries = await collectHandoutEntries(ctx.clients(), machines, region);
  const config = ctx.optionalConfig();
  const files = renderHandouts(entries, {
    app: ctx.app(),
    region,
    dir,
    generatedAt: ctx.io.now(),
    pythonVersion: config?.python.version,
    venv: config?.python.venv,
    jupyter: config?.lab?.jupyter ?? config?.cluster?.jupyter,
  });
  writeDirAtomically(dir, files, options.force === true, { cwd: ctx.io.cwd });

  for (const entry of entries) {
    if (entry.machine.state !== 'running') {
      ctx.note(`warning: ${entry.machine.label} is ${entry.machine.state}; its public IP changes when it starts: run handouts again after \`npx dasklab start\`.`);
    }
  }
  if (entries.some((e) => e.key.kind === 'imported')) {
    ctx.note('note: the machines use your own key pair (access.publicKey): there are no .pem files for them.');
  }
  const summary = files.map((f) => ({ name: f.name, mode: `0${f.mode.toString(8)}` }));
  if (ctx.json) {
    ctx.printJson({ dir, files: summary });
    return 0;
  }
  const keys = files.filter((f) => f.mode === 0o600).length;
  const pages = files.filter((f) => f.name.endsWith('.md')).length;
  ctx.print(`Wrote ${dir}: ${keys} private key${keys === 1 ? '' : 's'} (mode 0600), ${SSH_CONFIG_FILE}, roster.csv, ${pages} page${pages === 1 ? '' : 's'}.`);
  ctx.print(`Connect: ssh -F ${path.join(dir, SSH_CONFIG_FILE)} ${entries[0].machine.label}`);
  return 0;
}

/** Adds `handouts` to the program. */
export function registerHandouts(program: Command, kit: CommandKit): void {
  withOutDir(
    program
      .command('handouts')
      .description('write what to hand out: a private key per machine (0600), ssh_config, roster.csv and a Markdown page per student or machine'),
  )
    .addHelpText(
      'after',
      examples('npx dasklab handouts --out handouts/', 'npx dasklab handouts --out handouts/ --force && ssh -F handouts/ssh_config alice'),
    )
    .action(actionOf(kit, (ctx, options: OutDirOptions) => handouts(ctx, options)));
}
