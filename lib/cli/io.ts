/**
 * Everything the CLI touches outside AWS: output streams, terminal, environment,
 * clock, the confirmation prompt and child processes. Commands get it as a
 * parameter so tests run them in-process and read what they printed.
 */
import { spawn } from 'child_process';
import * as readline from 'readline';

/** A stream the CLI writes to. */
export interface OutputStream {
  write(text: string): unknown;
  /** True when the stream is a terminal (progress lines may then be redrawn). */
  readonly isTTY?: boolean;
}

/** The CLI's view of the world outside AWS. */
export interface CliIo {
  /** Results: tables, JSON, file lists. Nothing else goes here, so `--json` output stays parseable. */
  readonly stdout: OutputStream;
  /** Progress, warnings and errors. */
  readonly stderr: OutputStream;
  /** The environment (PATH, AWS_REGION, DASKLAB_AWS_ENDPOINT, ...). */
  readonly env: NodeJS.ProcessEnv;
  /** The directory relative paths are resolved against. */
  readonly cwd: string;
  /** The current time. */
  now(): Date;
  /**
   * Asks a yes/no question on the terminal.
   * @returns false when there is no terminal to ask on
   */
  confirm(question: string): Promise<boolean>;
  /**
   * Runs a program with the terminal attached and waits for it.
   * @returns its exit code
   * @throws an error with code ENOENT when the program does not exist
   */
  run(command: string, args: readonly string[]): Promise<number>;
}

/** The real process: its streams, environment and terminal. */
export function processIo(): CliIo {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    cwd: process.cwd(),
    now: () => new Date(),
    confirm: async (question) => {
      if (!process.stdin.isTTY) return false;
      const rl = readline.createInterface({ input: process.stdin, output: process.stderr });
      try {
        const answer = await new Promise<string>((resolve) => rl.question(`${question} [y/N] `, resolve));
        return /^y(es)?$/i.test(answer.trim());
      } finally {
        rl.close();
      }
    },
    run: (command, args) =>
      new Promise<number>((resolve, reject) => {
        const child = spawn(command, [...args], { stdio: 'inherit' });
        child.once('error', reject);
        child.once('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
      }),
  };
}

/** Writes one line to a stream. */
export function writeLine(stream: OutputStream, line = ''): void {
  stream.write(`${line}\n`);
}
