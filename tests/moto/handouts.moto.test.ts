/**
 * `handouts` against moto: key files from SSM (mode 0600, never printed),
 * ssh_config, roster.csv and pages; direct SSH vs Session Manager from the
 * security group; imported keys; refusing to overwrite.
 */
import * as fs from 'fs';
import * as http from 'http';
import * as path from 'path';
import { ENDPOINT_ENV } from '../../lib/cli/clients';
import { answerEc2Error, Ec2Proxy } from './ec2-proxy';
import { MotoServer, motoSkipReason, startMoto } from './moto-server';
import { cli, CreatedMachine, fakeDeploy, REGION, tempDir, useMotoEnvironment } from './support';

/**
 * Forwards to moto, but answers an EC2 request with more than 200 values in
 * one filter as EC2 does (moto takes any number): FilterLimitExceeded.
 * Records the largest filter of every request it sees.
 */
class FilterLimitProxy extends Ec2Proxy {
  static readonly MAX_VALUES = 200;
  readonly largestFilters: number[] = [];

  protected answer(params: URLSearchParams, res: http.ServerResponse): boolean {
    const perFilter = new Map<string, number>();
    for (const key of params.keys()) {
      const filter = /^Filter\.(\d+)\.Value\.\d+$/.exec(key);
      if (filter) perFilter.set(filter[1], (perFilter.get(filter[1]) ?? 0) + 1);
    }
    const largest = Math.max(0, ...perFilter.values());
    this.largestFilters.push(largest);
    if (largest <= FilterLimitProxy.MAX_VALUES) return false;
    answerEc2Error(res, 400, 'FilterLimitExceeded', `The maximum number of filter values specified on a single call is ${FilterLimitProxy.MAX_VALUES}`);
    return true;
  }
}

const skip = motoSkipReason();
if (skip) console.warn(skip);
const suite = skip ? describe.skip : describe;

suite('handouts against moto', () => {
  let moto: MotoServer;
  let restoreEnv: () => void;
  let tmp: { dir: string; remove: () => void };
  let lab: CreatedMachine[];

  beforeAll(async () => {
    moto = await startMoto((line) => console.log(line));
    restoreEnv = useMotoEnvironment(moto.endpoint);
    tmp = tempDir();
    // GIVEN a lab with port 22 closed (Session Manager only), one generated key pair per machine
    lab = await fakeDeploy({
      app: 'lab1',
      machines: [
        { role: 'student', name: 'lab1-alice', student: 'alice', bootstrap: 'ready' },
        { role: 'student', name: 'lab1-bob', student: 'bob', bootstrap: 'ready' },
      ],
    });
  });

  afterAll(async () => {
    tmp?.remove();
    restoreEnv?.();
    await moto?.stop();
  });

  test('writes a 0600 key per machine, ssh_config, roster.csv and a page per student; prints no key', async () => {
    // WHEN
    const out = path.join(tmp.dir, 'handouts');
    const run = await cli(['handouts', '--out', out, '--app', 'lab1', '--region', REGION]);
    // THEN
    expect(run.code).toBe(0);
    expect(fs.readdirSync(out).sort()).toEqual(['.dasklab-out', 'alice.md', 'alice.pem', 'bob.md', 'bob.pem', 'roster.csv', 'ssh_config']);
    expect(fs.statSync(out).mode & 0o777).toBe(0o700);
    for (const [i, student] of ['alice', 'bob'].entries()) {
      const keyFile = path.join(out, `${student}.pem`);
      expect(fs.statSync(keyFile).mode & 0o777).toBe(0o600);
      expect(fs.readFileSync(keyFile, 'utf8')).toBe(lab[i].privateKey!.endsWith('\n') ? lab[i].privateKey : `${lab[i].privateKey}\n`);
      expect(fs.statSync(path.join(out, `${student}.md`)).mode & 0o777).toBe(0o644);
    }
    // No key material on the terminal
    for (const text of [run.stdout, run.stderr]) {
      expect(text).not.toContain('PRIVATE KEY');
      expect(text).not.toContain(lab[0].privateKey!.split('\n')[1]);
    }
    expect(run.stdout).toContain(`Wrote ${out}: 2 private keys (mode 0600), ssh_config, roster.csv, 2 pages.`);

    // ssh_config: Session Manager hosts, keys by absolute path
    const sshConfig = fs.readFileSync(path.join(out, 'ssh_config'), 'utf8');
    expect(sshConfig).toContain(
      [
        'Host alice',
        `  # student, student alice, lab1-alice, ${lab[0].instanceId}`,
        `  HostName ${lab[0].instanceId}`,
        '  User ubuntu',
        `  IdentityFile ${path.join(out, 'alice.pem')}`,
        '  IdentitiesOnly yes',
        '  ProxyCommand aws ssm start-session --region us-east-1 --target %h --document-name AWS-StartSSHSession --parameters portNumber=%p',
      ].join('\n'),
    );

    // roster.csv: one row per machine
    const roster = fs.readFileSync(path.join(out, 'roster.csv'), 'utf8').split('\r\n');
    expect(roster[0]).toBe('student,host,user,key_file,ssh_command,machine,role,instance_id');
    expect(roster[1]).toBe(
      `alice,${lab[0].instanceId},ubuntu,alice.pem,ssh -i alice.pem -o ProxyCommand='aws ssm start-session --region us-east-1 --target %h --document-name AWS-StartSSHSession --parameters portNumber=%p' ubuntu@${lab[0].instanceId},alice,student,${lab[0].instanceId}`,
    );
    expect(roster).toHaveLength(4); // header, 2 rows, the empty string after the last CRLF

    // the page: connection and first steps
    const page = fs.readFileSync(path.join(out, 'alice.md'), 'utf8');
    expect(page).toContain('# alice: your dasklab machine');
    expect(page).toContain('    chmod 600 alice.pem');
    expect(page).toContain(`ubuntu@${lab[0].instanceId}`);
    for (const step of ['python3 -V', 'python3 -m venv my-env', 'source my-env/bin/activate', 'import numpy', 'import dask']) {
      expect(page).toContain(step);
    }
    expect(page).toContain('Python 3.12'); // from the repo's dasklab.config.json
    expect(page).toContain('AWS-StartPortForwardingSession');
  });

  test('refuses a non-empty directory without --force, a directory it did not write even with --force, and replaces its own', async () => {
    // GIVEN a directory with a file in it
    const out = path.join(tmp.dir, 'taken');
    fs.mkdirSync(out);
    fs.writeFileSync(path.join(out, 'notes.txt'), 'mine');
    // WHEN handouts are written there without --force
    const refused = await cli(['handouts', '--out', out, '--app', 'lab1']);
    // THEN nothing changes
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`${out} exists and is not empty; pass --force to replace it`);
    expect(fs.readdirSync(out)).toEqual(['notes.txt']);
    // WHEN with --force THEN it is still refused: dasklab did not write that directory
    const notOurs = await cli(['handouts', '--out', out, '--app', 'lab1', '--force']);
    expect(notOurs.code).toBe(1);
    expect(notOurs.stderr).toContain('was not written by dasklab');
    expect(fs.readdirSync(out)).toEqual(['notes.txt']);
    // GIVEN handouts dasklab wrote there, with a stray file added since
    fs.rmSync(out, { recursive: true });
    expect((await cli(['handouts', '--out', out, '--app', 'lab1'])).code).toBe(0);
    fs.writeFileSync(path.join(out, 'notes.txt'), 'mine');
    // WHEN written again with --force
    const forced = await cli(['handouts', '--out', out, '--app', 'lab1', '--force']);
    // THEN the directory holds the handouts only, and no temp directory is left
    expect(forced.code).toBe(0);
    expect(fs.readdirSync(out)).toContain('alice.pem');
    expect(fs.readdirSync(out)).not.toContain('notes.txt');
    expect(fs.readdirSync(tmp.dir).filter((n) => n.startsWith('.'))).toEqual([]);
  });

  test('a lab of more than 200 machines: every key, though one EC2 filter takes at most 200 values', async () => {
    // GIVEN 230 machines, each with its own generated key pair, and EC2's limit of 200 values per filter
    const students = Array.from({ length: 230 }, (_, i) => `s${String(i + 1).padStart(3, '0')}`);
    const big = await fakeDeploy({
      app: 'big',
      machines: students.map((student) => ({ role: 'student' as const, name: `big-${student}`, student, bootstrap: 'ready' })),
    });
    const proxy = new FilterLimitProxy(moto.endpoint);
    await proxy.start();
    try {
      // WHEN the handouts are written
      const out = path.join(tmp.dir, 'big');
      const run = await cli(['handouts', '--out', out, '--app', 'big'], { env: { ...process.env, [ENDPOINT_ENV]: proxy.url } });
      // THEN every student's key is there, and no request named more than 200 values in a filter
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      expect(Math.max(...proxy.largestFilters)).toBeLessThanOrEqual(FilterLimitProxy.MAX_VALUES);
      expect(Math.max(...proxy.largestFilters)).toBeGreaterThan(1);
      for (const [i, student] of students.entries()) {
        expect(fs.readFileSync(path.join(out, `${student}.pem`), 'utf8').trim()).toBe(big[i].privateKey!.trim());
      }
    } finally {
      await proxy.stop();
    }
  }, 240_000);

  test('direct SSH when the security group opens port 22; an imported key gives no .pem', async () => {
    // GIVEN a standalone machine with SSH open and the user's own key
    const [machine] = await fakeDeploy({ app: 'solo', sshOpen: true, importedKey: true, machines: [{ role: 'standalone', name: 'solo-machine', bootstrap: 'ready' }] });
    const out = path.join(tmp.dir, 'solo');
    // WHEN
    const run = await cli(['handouts', '--out', out, '--app', 'solo', '--json']);
    // THEN
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout).files.map((f: { name: string }) => f.name)).toEqual(['ssh_config', 'roster.csv', 'solo-machine.md']);
    expect(run.stderr).toContain('the machines use your own key pair (access.publicKey): there are no .pem files');
    const status = JSON.parse((await cli(['status', '--app', 'solo', '--json'])).stdout);
    const ip = status[0].publicIp;
    const sshConfig = fs.readFileSync(path.join(out, 'ssh_config'), 'utf8');
    expect(sshConfig).toContain(`Host solo-machine\n  # standalone, solo-machine, ${machine.instanceId}\n  HostName ${ip}\n  User ubuntu\n`);
    expect(sshConfig).not.toContain('ProxyCommand');
    expect(sshConfig).not.toContain('IdentityFile');
    const roster = fs.readFileSync(path.join(out, 'roster.csv'), 'utf8').split('\r\n');
    expect(roster[1]).toBe(`,${ip},ubuntu,(your own key),ssh ubuntu@${ip},solo-machine,standalone,${machine.instanceId}`);
    const page = fs.readFileSync(path.join(out, 'solo-machine.md'), 'utf8');
    expect(page).toContain(`    ssh ubuntu@${ip}`);
    expect(page).toContain('ssh uses your default key');
    expect(page).toContain(`    ssh -N -L 8787:localhost:8787 ubuntu@${ip}`);
  });
});
