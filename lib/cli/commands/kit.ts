/**
 * What every command file uses to plug into the program: running an action
 * with its context, and the help text's example.
 */
import * as path from 'path';
import { Command } from 'commander';
import { checkWritableDir } from '../atomic-dir';
import { CommandContext, GlobalOptions } from '../context';
import { CliIo } from '../io';

/** What the program gives each command. */
export interface CommandKit {
  readonly io: CliIo;
  /** Records the process exit code of the command that ran. */
  setExitCode(code: number): void;
}

/**
 * A commander action handler that runs `fn` with a fresh context (global
 * options included), records its exit code and closes the AWS clients.
 *
 * @param fn gets the context, the command's own options, then the positional arguments
 */
export function actionOf<O, P extends unknown[]>(kit: CommandKit, fn: (ctx: CommandContext, options: O, ...positional: P) => Promise<number>) {
  return async (...params: unknown[]): Promise<void> => {
    const command = params[params.length - 1] as Command;
    const ctx = new CommandContext(kit.io, command.optsWithGlobals() as GlobalOptions);
    try {
      kit.setExitCode(await fn(ctx, command.opts() as O, ...(params.slice(0, -2) as P)));
    } finally {
      ctx.close();
    }
  };
}

/** The "Example:" block at the end of a command's --help. */
export function examples(...lines: string[]): string {
  return `\nExample${lines.length > 1 ? 's' : ''}:\n${lines.map((l) => `  $ ${l}`).join('\n')}\n`;
}

/** Parses a positive number option (minutes, ports). */
export function positiveNumber(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number, not "${value}"`);
    return n;
  };
}

/** The options of a command that writes a directory. */
export interface OutDirOptions {
  readonly out: string;
  readonly force?: boolean;
}

/** Adds `--out DIR` and `--force` to a command that writes a directory. */
export function withOutDir(command: Command): Command {
  return command
    .requiredOption('--out <dir>', 'directory to create (must not exist or be empty; not the current directory, an ancestor or home)')
    .option('--force', 'replace the directory if dasklab wrote it before');
}

/** The absolute output directory, checked before any AWS call so that a bad --out fails at once. */
export function outDirOf(ctx: CommandContext, options: OutDirOptions): string {
  const dir = path.resolve(ctx.io.cwd, options.out);
  checkWritableDir(dir, options.force === true, { cwd: ctx.io.cwd });
  return dir;
}
