/**
 * AWS's cfn-lint (the Python tool, https://github.com/aws-cloudformation/cfn-lint)
 * over templates, where it is installed. Debian has no package of it and the
 * npm package `cfn-lint` is an unrelated tool, so a machine may lack it: the
 * tests that use it say so and skip.
 *
 * Errors always fail. Warnings fail unless their code is in
 * {@link ACCEPTED_CFN_LINT_WARNINGS}, each with the reason it is accepted.
 */
import { spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Finding } from './findings';

/** One match cfn-lint reports. */
export interface CfnLintMatch {
  readonly file: string;
  /** Rule id, e.g. `E3002`, `W3005`. */
  readonly rule: string;
  readonly level: 'Error' | 'Warning' | 'Informational';
  readonly message: string;
  /** Path in the template, e.g. `Resources/Machine/Properties/UserData`. */
  readonly path: string;
}

/**
 * Warning codes accepted over dasklab's templates, with why. Anything not
 * listed fails the check.
 */
export const ACCEPTED_CFN_LINT_WARNINGS: Readonly<Record<string, string>> = {
  W3005:
    'Obsolete DependsOn: the CDK\'s Lambda Function construct depends on its role and the role\'s default policy explicitly, ' +
    'so that the function is not created (and invoked by a custom resource) before its policy exists; the DependsOn on the role ' +
    'is redundant with the GetAtt of its ARN, and harmless.',
};

/** `cfn-lint --version`'s answer, or undefined when cfn-lint cannot be run here. */
export function cfnLintVersion(): string | undefined {
  const result = spawnSync('cfn-lint', ['--version'], { encoding: 'utf8', timeout: 60_000 });
  return result.status === 0 ? result.stdout.trim() : undefined;
}

/** The file name a template gets in {@link runCfnLint} (and in its matches). */
export function cfnLintFileName(name: string): string {
  return `${name.replace(/[^A-Za-z0-9._-]+/g, '_')}.json`;
}

/**
 * Runs cfn-lint once over some templates (written to a scratch directory) and
 * resolves to its matches. It runs as a child process, so the caller may do
 * other work meanwhile.
 */
export async function runCfnLint(templates: ReadonlyArray<{ readonly name: string; readonly template: unknown }>): Promise<CfnLintMatch[]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dasklab-cfn-lint-'));
  try {
    const files = templates.map(({ name, template }) => {
      const file = path.join(dir, cfnLintFileName(name));
      fs.writeFileSync(file, JSON.stringify(template, null, 1));
      return file;
    });
    const child = spawn('cfn-lint', ['--format', 'json', '--', ...files], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const status = await new Promise<number | null>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', resolve);
    });
    // Exit status: a bit field of the levels found (2 error, 4 warning, 8 informational); 1 is cfn-lint failing.
    if (status === null || status === 1) {
      throw new Error(`cfn-lint failed (status ${status}): ${stderr}`);
    }
    return parseCfnLintJson(stdout, dir);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** cfn-lint's `--format json` output as matches, file names relative to `dir`. */
export function parseCfnLintJson(output: string, dir = ''): CfnLintMatch[] {
  const raw: any[] = output.trim() === '' ? [] : JSON.parse(output);
  return raw.map((m) => ({
    file: dir ? path.relative(dir, m.Filename) : m.Filename,
    rule: m.Rule.Id,
    level: m.Level,
    message: m.Message,
    path: (m.Location?.Path ?? []).join('/'),
  }));
}

/** The matches that fail: every error, every warning whose code is not accepted. Informational matches pass. */
export function failingCfnLintMatches(matches: readonly CfnLintMatch[], accepted: Readonly<Record<string, string>> = ACCEPTED_CFN_LINT_WARNINGS): Finding[] {
  return matches
    .filter((m) => m.level === 'Error' || (m.level === 'Warning' && !Object.hasOwn(accepted, m.rule)))
    .map((m) => ({ rule: `cfn-lint-${m.rule}`, path: `${m.file}: ${m.path}`, message: m.message }));
}
