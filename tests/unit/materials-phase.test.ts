/**
 * The materials phase (userdata/phases/materials.sh) run by bash on this
 * machine: it downloads the course's zip with boto3 through the proxy that the
 * network phase exported (the S3 endpoint's host name does not resolve, so only
 * the proxy reaches it), unpacks it into the course folder, and never
 * overwrites what a student changed: the same materials are unpacked once, new
 * materials only add what is missing, and a fresh disk (`dasklab reset`) gets
 * the originals. The zip is made as `cdk deploy` makes it (cdk-assets: files
 * only, their modes kept). Stand-ins: `log` (stderr), `retry` (the
 * bootstrap's, with no delay), `imds_get` (the region), `as_user` (this user),
 * `getent` (the login user's home), the state directory and the home (in a
 * scratch directory).
 */
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { execFileSync } from 'child_process';
import { USERDATA_DIR } from '../../lib/bootstrap/bootstrap-user-data';
import { COURSE_FOLDER } from '../../lib/machine/jupyter-lab';
import { fakeS3Proxy, S3_ENDPOINT } from './fake-s3';

const PHASE = fs.readFileSync(path.join(USERDATA_DIR, 'phases', 'materials.sh'), 'utf8').replace(/@ROOT@/g, COURSE_FOLDER);
const BOOTSTRAP = fs.readFileSync(path.join(USERDATA_DIR, 'bootstrap.sh'), 'utf8');
const BUCKET = 'cdk-hnb659fds-assets-111122223333-eu-west-1';

function functionText(script: string, name: string): string {
  const match = new RegExp(`^${name}\\(\\) \\{\\n[\\s\\S]*?^\\}\\n`, 'm').exec(script);
  if (match === null) throw new Error(`no function ${name}`);
  return match[0];
}

/** A zip of `files` (path → [content, mode]) as cdk-assets makes one: file entries only, with their modes. */
function zipOf(file: string, files: Record<string, [string, number]>): void {
  const script = [
    'import json, sys, zipfile',
    'out, files = sys.argv[1], json.loads(sys.argv[2])',
    'with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:',
    '    for name, (content, mode) in files.items():',
    '        info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))',
    '        info.external_attr = (0o100000 | mode) << 16',
    '        z.writestr(info, content)',
  ].join('\n');
  execFileSync('python3', ['-c', script, file, JSON.stringify(files)]);
}

interface PhaseRun {
  status: number;
  log: string;
}

/** Runs phase_materials for `key` on the "machine" in `machine` (its state directory and home). */
function runPhase(machine: string, key: string, proxy: string): Promise<PhaseRun> {
  const script = [
    'set -Eeuo pipefail',
    'log() { printf "%s\\n" "$*" >&2; }',
    functionText(BOOTSTRAP, 'retry'),
    'sleep() { :; }',
    'as_user() { "$@"; }',
    'imds_get() { [[ "$1" == meta-data/placement/region ]] && echo eu-west-1; }',
    `STATE_DIR='${machine}/var/lib/dasklab'`,
    `DASKLAB_MATERIALS_BUCKET='${BUCKET}'`,
    `DASKLAB_MATERIALS_KEY='${key}'`,
    `DASKLAB_AWS_ENDPOINT_URL='${S3_ENDPOINT}'`,
    // What the network phase exports for a machine behind network.proxy.
    `export http_proxy='${proxy}' https_proxy='${proxy}' no_proxy='169.254.169.254,localhost,127.0.0.1'`,
    PHASE,
    `getent() { [[ "$1 $2" == "passwd ubuntu" ]] && echo 'ubuntu:x:1000:1000::${machine}/home/ubuntu:/bin/bash'; }`,
    "DASKLAB_USER=ubuntu",
    `mkdir -p '${machine}/var/lib/dasklab' '${machine}/home/ubuntu'`,
    'phase_materials',
  ].join('\n');
  return new Promise((resolve) => {
    const child = spawn('bash', ['-c', script], {
      env: { PATH: process.env.PATH, HOME: machine, AWS_ACCESS_KEY_ID: 'AKIAEXAMPLE', AWS_SECRET_ACCESS_KEY: 'example', AWS_EC2_METADATA_DISABLED: 'true' },
    });
    let log = '';
    child.stdout.on('data', (d) => (log += d));
    child.stderr.on('data', (d) => (log += d));
    child.on('close', (status) => resolve({ status: status ?? -1, log }));
  });
}

describe('the materials phase', () => {
  let dir: string;
  let machine: string;
  let s3: Awaited<ReturnType<typeof fakeS3Proxy>>;
  const objects = new Map<string, string>();
  const course = () => path.join(machine, 'home', 'ubuntu', COURSE_FOLDER);
  const read = (file: string) => fs.readFileSync(path.join(course(), file), 'utf8');

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dasklab-materials-phase-'));
    zipOf(path.join(dir, 'v1.zip'), { 'welcome.ipynb': ['{"cells": []}', 0o644], 'data/numbers.txt': ['1\n2\n3\n', 0o644], 'bin/fetch.sh': ['#!/bin/sh\n', 0o755] });
    zipOf(path.join(dir, 'v2.zip'), { 'welcome.ipynb': ['{"cells": ["v2"]}', 0o644], 'data/numbers.txt': ['1\n2\n3\n', 0o644], 'bin/fetch.sh': ['#!/bin/sh\n', 0o755], 'exercises.ipynb': ['{}', 0o644] });
    zipOf(path.join(dir, 'evil.zip'), { '../outside.txt': ['x', 0o644] });
    objects.set(`${BUCKET}/v1.zip`, path.join(dir, 'v1.zip'));
    objects.set(`${BUCKET}/v2.zip`, path.join(dir, 'v2.zip'));
    objects.set(`${BUCKET}/evil.zip`, path.join(dir, 'evil.zip'));
    s3 = await fakeS3Proxy(objects);
    machine = path.join(dir, 'machine');
  });

  afterAll(async () => {
    await s3?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('first boot: the zip comes through the proxy and is unpacked into the course folder, modes kept', async () => {
    // WHEN the phase runs on a fresh machine
    const run = await runPhase(machine, 'v1.zip', s3.url);
    // THEN it succeeds, having fetched the object through the proxy (its host does not resolve)
    expect(run).toMatchObject({ status: 0 });
    expect(s3.requests.filter((r) => r.startsWith('GET '))).toEqual([`GET ${S3_ENDPOINT}/${BUCKET}/v1.zip`]);
    // AND the files are in the course folder, an executable one executable
    expect(read('welcome.ipynb')).toBe('{"cells": []}');
    expect(read('data/numbers.txt')).toBe('1\n2\n3\n');
    expect(fs.statSync(path.join(course(), 'bin', 'fetch.sh')).mode & 0o111).not.toBe(0);
    expect(run.log).toContain('3 files added, 0 left as they are');
    // AND no download is left behind
    expect(fs.readdirSync(path.join(machine, 'var/lib/dasklab'))).toEqual(['materials-v1.zip']);
  });

  test('a bootstrap run again (every boot) changes nothing, and downloads nothing', async () => {
    // GIVEN a student's edit
    fs.writeFileSync(path.join(course(), 'welcome.ipynb'), 'my answers');
    const asked = s3.requests.length;
    // WHEN the phase runs again with the same materials
    const run = await runPhase(machine, 'v1.zip', s3.url);
    // THEN the edit stays and S3 is not asked
    expect(run.status).toBe(0);
    expect(read('welcome.ipynb')).toBe('my answers');
    expect(s3.requests.length).toBe(asked);
    expect(run.log).toContain('materials v1.zip: unpacked already');
  });

  test('new materials add what the student lacks and overwrite nothing', async () => {
    // GIVEN the student's edit, a deleted file, and a file where the materials have a folder
    fs.rmSync(path.join(course(), 'data', 'numbers.txt'));
    fs.rmSync(path.join(course(), 'bin'), { recursive: true });
    fs.writeFileSync(path.join(course(), 'bin'), 'my notes');
    // WHEN a deploy brings new materials
    const run = await runPhase(machine, 'v2.zip', s3.url);
    // THEN the new and the missing files are added; the edit and the student's own file stay
    expect(run.status).toBe(0);
    expect(read('exercises.ipynb')).toBe('{}');
    expect(read('data/numbers.txt')).toBe('1\n2\n3\n');
    expect(read('welcome.ipynb')).toBe('my answers');
    expect(read('bin')).toBe('my notes');
    expect(run.log).toContain('2 files added, 2 left as they are');
  });

  test('a fresh root volume (dasklab reset) gets the originals', async () => {
    // GIVEN the machine's disk replaced: no state, no home
    fs.rmSync(machine, { recursive: true, force: true });
    // WHEN the bootstrap runs on it
    const run = await runPhase(machine, 'v2.zip', s3.url);
    // THEN the materials are as shipped
    expect(run.status).toBe(0);
    expect(read('welcome.ipynb')).toBe('{"cells": ["v2"]}');
    expect(read('bin/fetch.sh')).toBe('#!/bin/sh\n');
  });

  test('an object the role may not read fails the phase with S3\'s reason, after retries', async () => {
    const run = await runPhase(path.join(dir, 'other-machine'), 'not-there.zip', s3.url);
    expect(run.status).not.toBe(0);
    expect(run.log).toMatch(/giving up after 5 attempts/);
    expect(run.log).toMatch(/403|Forbidden|AccessDenied/);
    expect(fs.readdirSync(path.join(dir, 'other-machine/var/lib/dasklab'))).toEqual([]);
  });

  test('a zip entry that points outside the course folder is written inside it', async () => {
    const other = path.join(dir, 'third-machine');
    const run = await runPhase(other, 'evil.zip', s3.url);
    expect(run.status).toBe(0);
    expect(fs.existsSync(path.join(other, 'home/ubuntu/outside.txt'))).toBe(false);
    expect(fs.readFileSync(path.join(other, 'home/ubuntu', COURSE_FOLDER, 'outside.txt'), 'utf8')).toBe('x');
  });
});
