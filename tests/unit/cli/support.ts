/** Shared pieces of the CLI unit tests: machines, captured output, a CLI run. */
import { CliIo } from '../../../lib/cli/io';
import { Machine } from '../../../lib/cli/machines';
import { runCli } from '../../../lib/cli/main';

/** A machine with sensible defaults. */
export function machine(overrides: Partial<Machine> & { instanceId: string }): Machine {
  return {
    label: overrides.instanceId,
    state: 'running',
    securityGroupIds: [],
    instanceType: 't3.medium',
    ...overrides,
  };
}

/** A writable stream that keeps what was written. */
export function captureStream(isTTY = false): { write: (t: string) => boolean; isTTY: boolean; text: () => string } {
  let text = '';
  return {
    isTTY,
    write: (t: string) => {
      text += t;
      return true;
    },
    text: () => text,
  };
}

/** Runs the CLI in-process; AWS calls go to whatever aws-sdk-client-mock set up. */
export async function runCaptured(argv: string[], options: { confirm?: boolean; now?: Date } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = captureStream();
  const stderr = captureStream();
  const io: CliIo = {
    stdout,
    stderr,
    env: { PATH: process.env.PATH },
    cwd: process.cwd(),
    now: () => options.now ?? new Date(),
    confirm: async () => options.confirm ?? false,
    run: async () => 0,
  };
  const code = await runCli(argv, io);
  return { code, stdout: stdout.text(), stderr: stderr.text() };
}
