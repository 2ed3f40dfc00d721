/**
 * The pip phase with python.lockFile (userdata/bootstrap.sh), run by bash on
 * this machine: it downloads the lock file with boto3 from the CDK's asset
 * bucket (here a loopback proxy playing S3, tests/unit/fake-s3.ts), refuses a
 * file whose sha256 is not the one synth checked, and has pip install exactly
 * it in hash-checking mode, without the version set's constraints.
 * Stand-ins: `as_user` runs a fake pip that records its argv; `log` writes to
 * stderr; `retry` is the bootstrap's without its delay; `imds_get` gives the region.
 */
import { spawn } from 'child_process';
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { USERDATA_DIR } from '../../lib/bootstrap/bootstrap-user-data';
import { fakeS3Proxy, S3_ENDPOINT } from './fake-s3';

const BOOTSTRAP = fs.readFileSync(path.join(USERDATA_DIR, 'bootstrap.sh'), 'utf8');
/** The lock file's part, which the renderer embeds after the pip phase's functions where python.lockFile is set. */
const PIP_LOCK_PART = fs.readFileSync(path.join(USERDATA_DIR, 'pip-lock.sh'), 'utf8');
const BUCKET = 'cdk-hnb659fds-assets-111122223333-eu-west-1';
const LOCK = `numpy==2.2.1 \\\n    --hash=sha256:${'a'.repeat(64)}\ndask==2024.12.1 \\\n    --hash=sha256:${'b'.repeat(64)}\n`;
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

function functionText(name: string): string {
  const match = new RegExp(`^${name}\\(\\) \\{\\n[\\s\\S]*?^\\}\\n`, 'm').exec(BOOTSTRAP);
  if (match === null) throw new Error(`userdata/bootstrap.sh has no function ${name}`);
  return match[0];
}

/** The bootstrap's line that says what pip installs. */
const PIP_PACKAGES_LINE = /^PIP_PACKAGES=.*$/m.exec(BOOTSTRAP)![0];

/**
 * Runs `commands` after the bootstrap's pip functions and, with lock parameters, its lock part;
 * returns status, output and fake pip's argv (or null if it did not run).
 */
function runBash(dir: string, proxy: string, parameters: string[], commands: string[]): Promise<{ status: number; log: string; pipArgv: string[] | null }> {
  const fakePip = path.join(dir, 'fake-pip');
  fs.writeFileSync(fakePip, `#!/bin/bash\nprintf '%s\\n' "$@" >'${dir}/argv'\n`, { mode: 0o755 });
  fs.rmSync(path.join(dir, 'argv'), { force: true });
  const script = [
    'set -Eeuo pipefail',
    `STATE_DIR='${dir}'`,
    `DASKLAB_VENV='${dir}/venv'`,
    `VERSION_PINS='${dir}/version-pins.txt'`,
    "DASKLAB_PIP_PACKAGES=('numpy' 'dask[complete]')",
    "DASKLAB_PIP_INDEX_URL=''",
    `DASKLAB_AWS_ENDPOINT_URL='${S3_ENDPOINT}'`,
    `export http_proxy='${proxy}' https_proxy='${proxy}'`,
    ...parameters,
    'log() { printf "%s\\n" "$*" >&2; }',
    'sleep() { :; }',
    'imds_get() { [[ "$1" == meta-data/placement/region ]] && echo eu-west-1; }',
    `as_user() { shift 3; '${fakePip}' "$@"; }`,
    'redact_urls() { cat; }',
    PIP_PACKAGES_LINE,
    ...['retry', 'pip_install'].map(functionText),
    parameters.length > 0 ? PIP_LOCK_PART : '',
    ...commands,
  ].join('\n');
  return new Promise((resolve) => {
    const child = spawn('bash', ['-c', script], {
      env: { PATH: process.env.PATH, HOME: dir, AWS_ACCESS_KEY_ID: 'AKIAEXAMPLE', AWS_SECRET_ACCESS_KEY: 'example', AWS_EC2_METADATA_DISABLED: 'true' },
    });
    let log = '';
    child.stdout.on('data', (d) => (log += d));
    child.stderr.on('data', (d) => (log += d));
    child.on('close', (status) => {
      const argv = path.join(dir, 'argv');
      resolve({ status: status ?? -1, log, pipArgv: fs.existsSync(argv) ? fs.readFileSync(argv, 'utf8').trimEnd().split('\n') : null });
    });
  });
}

describe('the pip phase with a lock file', () => {
  let dir: string;
  let s3: Awaited<ReturnType<typeof fakeS3Proxy>>;
  const lockParameters = (key: string, digest: string) => [`DASKLAB_PIP_LOCK_BUCKET='${BUCKET}'`, `DASKLAB_PIP_LOCK_KEY='${key}'`, `DASKLAB_PIP_LOCK_SHA256='${digest}'`];

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dasklab-lock-phase-'));
    fs.writeFileSync(path.join(dir, 'good.lock'), LOCK);
    fs.writeFileSync(path.join(dir, 'altered.lock'), LOCK.replace('2.2.1', '2.2.2'));
    s3 = await fakeS3Proxy(
      new Map([
        [`${BUCKET}/good.lock`, path.join(dir, 'good.lock')],
        [`${BUCKET}/altered.lock`, path.join(dir, 'altered.lock')],
      ]),
    );
  });

  afterAll(async () => {
    await s3?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('the file synth checked is downloaded, readable by the login user, and pip installs exactly it with --require-hashes', async () => {
    // GIVEN the lock file in the asset bucket, and an earlier version set's pins on the machine
    fs.writeFileSync(path.join(dir, 'version-pins.txt'), 'numpy==1.26.4\n');
    // WHEN the lock takes the version sets' place and pip runs
    const run = await runBash(dir, s3.url, lockParameters('good.lock', sha256(LOCK)), ['version_pins', 'pip_install', 'pip_align']);
    // THEN
    expect(run.log).toContain('the lock file pins 2 packages; pip installs it with --require-hashes');
    expect(run.status).toBe(0);
    expect(fs.readFileSync(path.join(dir, 'pip-lock.txt'), 'utf8')).toBe(LOCK);
    expect(fs.statSync(path.join(dir, 'pip-lock.txt')).mode & 0o777).toBe(0o644);
    expect(s3.requests).toContain(`GET ${S3_ENDPOINT}/${BUCKET}/good.lock`);
    // The lock alone: no package names beside it, no constraints of the version set (whose old pins are gone),
    // and no version set read after it (pip_align does nothing).
    expect(fs.existsSync(path.join(dir, 'version-pins.txt'))).toBe(false);
    expect(run.pipArgv).toEqual(['install', '--prefer-binary', '--progress-bar', 'off', '--require-hashes', '--requirement', path.join(dir, 'pip-lock.txt')]);
  });

  test('a file whose sha256 is not the one synth checked is refused, naming both, and nothing is left for pip', async () => {
    // GIVEN an object whose content differs from the file synth read
    fs.rmSync(path.join(dir, 'pip-lock.txt'), { force: true });
    // WHEN it is fetched
    const run = await runBash(dir, s3.url, lockParameters('altered.lock', sha256(LOCK)), ['fetch_pip_lock']);
    // THEN
    expect(run.status).not.toBe(0);
    expect(run.log).toContain(
      `the lock file s3://${BUCKET}/altered.lock has sha256 ${sha256(LOCK.replace('2.2.1', '2.2.2'))}, not that of the file synth checked (${sha256(LOCK)})`,
    );
    expect(fs.existsSync(path.join(dir, 'pip-lock.txt'))).toBe(false);
    expect(fs.existsSync(path.join(dir, 'pip-lock.txt.new'))).toBe(false);
  });

  test('an object the role may not read fails with S3\'s reason, after retries', async () => {
    const run = await runBash(dir, s3.url, lockParameters('not-there.lock', sha256(LOCK)), ['retry 3 5 fetch_pip_lock']);
    expect(run.status).not.toBe(0);
    expect(run.log).toMatch(/the lock file s3:\/\/cdk-hnb659fds-assets-111122223333-eu-west-1\/not-there.lock: .*(403|Forbidden|AccessDenied)/);
    // S3 answers 403 for a missing object too (no s3:ListBucket): the message names the likely causes
    expect(run.log).toContain("(the role's grant, the asset not published: deploy the stack that owns it, or a KMS key policy)");
    expect(s3.requests.filter((r) => r.includes('not-there.lock')).length).toBeGreaterThanOrEqual(3);
  });

  test('without a lock file pip installs the packages under the version set\'s pins, as before', async () => {
    fs.writeFileSync(path.join(dir, 'version-pins.txt'), 'numpy==1.26.4\n');
    const run = await runBash(dir, s3.url, [], ['pip_install']);
    expect(run.status).toBe(0);
    expect(run.pipArgv).toEqual(['install', '--prefer-binary', '--progress-bar', 'off', '--constraint', path.join(dir, 'version-pins.txt'), 'numpy', 'dask[complete]']);
  });
});
