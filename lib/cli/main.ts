/**
 * Running the CLI: parse, run the command, and turn every outcome into an exit
 * code. Expected failures print one line; only bugs print a stack trace.
 */
import { CommanderError } from 'commander';
import { expectedErrorOf } from './errors';
import { CliIo, processIo, writeLine } from './io';
import { buildProgram } from './program';

/** Environment variable: print stack traces of unexpected errors. */
export const DEBUG_ENV = 'DASKLAB_DEBUG';

/**
 * Runs `dasklab` with `argv` (without "node" and the script).
 *
 * @returns the exit code: 0 success, 1 failure, 2 AWS credentials or region missing
 */
export async function runCli(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  let exitCode = 0;
  const program = buildProgram({ io, setExitCode: (code) => (exitCode = code) });
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode; // commander has printed it
    const expected = expectedErrorOf(error);
    if (expected !== undefined) {
      writeLine(io.stderr, `dasklab: ${expected.message}`);
      return expected.exitCode;
    }
    const err = error as Error & { $metadata?: unknown };
    if (err?.$metadata !== undefined) {
      // An AWS API refused the request: its message says why.
      writeLine(io.stderr, `dasklab: AWS error ${err.name}: ${err.message}`);
      return 1;
    }
    if (io.env[DEBUG_ENV]) {
      writeLine(io.stderr, `dasklab: unexpected error: ${err?.stack ?? String(error)}`);
    } else {
      writeLine(io.stderr, `dasklab: unexpected error: ${err?.message ?? String(error)} (set ${DEBUG_ENV}=1 for the stack trace)`);
    }
    return 1;
  }
}
