/**
 * `status` and the error paths against moto: rows from the tags, readiness from
 * the dasklab:bootstrap tag, the app's Python version set from SSM, an app
 * without machines, an unknown student, and the bin/dasklab shim as a real process.
 */
import { spawnSync } from 'child_process';
import { EC2Client, StopInstancesCommand } from '@aws-sdk/client-ec2';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import * as path from 'path';
import { MotoServer, motoSkipReason, startMoto } from './moto-server';
import { cli, CreatedMachine, fakeDeploy, REGION, shareVersionSet, useMotoEnvironment } from './support';

/** Lets moto's clock move on, so that parameters put before and after have different LastModifiedDates. */
const tick = () => new Promise((resolve) => setTimeout(resolve, 1100));

const skip = motoSkipReason();
if (skip) console.warn(skip);
const suite = skip ? describe.skip : describe;

suite('status against moto', () => {
  let moto: MotoServer;
  let restoreEnv: () => void;
  let lab: CreatedMachine[];

  beforeAll(async () => {
    moto = await startMoto((line) => console.log(line));
    restoreEnv = useMotoEnvironment(moto.endpoint);
    // GIVEN a lab of four students whose bootstraps are at different points
    lab = await fakeDeploy({
      app: 'lab1',
      machines: [
        { role: 'student', name: 'lab1-alice', student: 'alice', bootstrap: 'ready' },
        { role: 'student', name: 'lab1-bob', student: 'bob', bootstrap: 'bootstrapping' },
        { role: 'student', name: 'lab1-carol', student: 'carol', bootstrap: 'failed:pip' },
        { role: 'student', name: 'lab1-dave', student: 'dave' },
      ],
    });
    // AND another app in the same region, which must not show up
    await fakeDeploy({ app: 'other', machines: [{ role: 'standalone', name: 'other-machine', bootstrap: 'ready' }] });
  });

  afterAll(async () => {
    restoreEnv?.();
    await moto?.stop();
  });

  test('one row per machine of the app, with readiness from the bootstrap tag', async () => {
    // WHEN
    const run = await cli(['status', '--app', 'lab1', '--region', REGION]);
    // THEN
    expect(run.code).toBe(0);
    const lines = run.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^MACHINE\s+ROLE\s+STUDENT\s+INSTANCE\s+TYPE\s+STATE\s+ADDRESS\s+READINESS$/);
    const rows = lines.slice(1).map((l) => l.split(/\s{2,}/));
    expect(rows.map((r) => [r[0], r[1], r[2], r[4], r[5], r[7]])).toEqual([
      ['alice', 'student', 'alice', 't3.medium', 'running', 'ready'],
      ['bob', 'student', 'bob', 't3.medium', 'running', 'bootstrapping'],
      ['carol', 'student', 'carol', 't3.medium', 'running', 'failed (pip)'],
      ['dave', 'student', 'dave', 't3.medium', 'running', 'booting'],
    ]);
    expect(rows.map((r) => r[3])).toEqual(lab.map((m) => m.instanceId));
    expect(run.stdout).not.toContain('other-machine');
    expect(run.stderr).toContain('1 of 4 machines ready (app "lab1", us-east-1)');
  });

  test('--json gives the same rows as objects', async () => {
    const run = await cli(['status', '--app', 'lab1', '--json']);
    expect(run.code).toBe(0);
    const rows = JSON.parse(run.stdout);
    expect(rows).toHaveLength(4);
    expect(rows[2]).toMatchObject({ machine: 'carol', student: 'carol', state: 'running', readiness: 'failed (pip)', instanceId: lab[2].instanceId });
    expect(rows[0].publicIp).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
  });

  test('a machine without a public IP shows its private address, marked as such', async () => {
    // GIVEN a machine in a private subnet, next to one with a public IP
    await fakeDeploy({
      app: 'private1',
      machines: [
        { role: 'standalone', name: 'private1-machine', bootstrap: 'ready', privateOnly: true },
        { role: 'standalone', name: 'private1-public', bootstrap: 'ready' },
      ],
    });
    // WHEN
    const table = await cli(['status', '--app', 'private1', '--region', REGION]);
    const rows = JSON.parse((await cli(['status', '--app', 'private1', '--region', REGION, '--json'])).stdout);
    // THEN the table's address column holds the private address for the one and the public for the other
    const addresses = table.stdout.trim().split('\n').slice(1).map((l) => l.split(/\s{2,}/).at(-2));
    expect(rows[0].publicIp).toBeUndefined();
    expect(rows[0].privateIp).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    expect(addresses).toEqual([`${rows[0].privateIp} (private)`, rows[1].publicIp]);
  });

  test('a lab with JupyterLab: a column says whether each student\'s JupyterLab answers, as the machine last found', async () => {
    // GIVEN students whose machines tagged themselves, one that has not yet, one stopped
    const machines = await fakeDeploy({
      app: 'jlab',
      machines: [
        { role: 'student', name: 'jlab-alice', student: 'alice', bootstrap: 'ready', jupyter: 'answers' },
        { role: 'student', name: 'jlab-bob', student: 'bob', bootstrap: 'ready', jupyter: 'not answering' },
        { role: 'student', name: 'jlab-carol', student: 'carol', bootstrap: 'bootstrapping' },
        { role: 'student', name: 'jlab-dave', student: 'dave', bootstrap: 'ready', jupyter: 'answers' },
      ],
    });
    const ec2 = new EC2Client({ region: REGION, endpoint: moto.endpoint });
    await ec2.send(new StopInstancesCommand({ InstanceIds: [machines[3].instanceId] }));
    ec2.destroy();
    // WHEN
    const table = await cli(['status', '--app', 'jlab', '--region', REGION]);
    const rows = JSON.parse((await cli(['status', '--app', 'jlab', '--region', REGION, '--json'])).stdout);
    // THEN
    const lines = table.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/\sREADINESS\s+JUPYTERLAB$/);
    expect(lines.slice(1).map((l) => l.split(/\s{2,}/).at(-1))).toEqual(['answers', 'not answering', '-', '-']);
    expect(rows.map((r: any) => r.jupyter)).toEqual(['answers', 'not answering', undefined, '-']);
  });

  test('without JupyterLab there is no JupyterLab column', async () => {
    const run = await cli(['status', '--app', 'lab1', '--region', REGION]);
    expect(run.stdout).not.toContain('JUPYTERLAB');
  });

  test('spot workers show what capacity they got: spot, or on demand when spot had none', async () => {
    // GIVEN a cluster whose second worker fell back to on-demand capacity
    await fakeDeploy({
      app: 'spotty',
      machines: [
        { role: 'scheduler', name: 'spotty-scheduler', bootstrap: 'ready' },
        { role: 'worker', name: 'spotty-worker-1', bootstrap: 'ready', market: 'spot' },
        { role: 'worker', name: 'spotty-worker-2', bootstrap: 'ready', market: 'on-demand' },
      ],
    });
    // WHEN
    const table = await cli(['status', '--app', 'spotty', '--region', REGION]);
    const json = await cli(['status', '--app', 'spotty', '--region', REGION, '--json']);
    // THEN
    const roles = table.stdout.trim().split('\n').slice(1).map((l) => l.split(/\s{2,}/).slice(0, 2));
    expect(roles).toEqual([
      ['spotty-scheduler', 'scheduler'],
      ['spotty-worker-1', 'worker (spot)'],
      ['spotty-worker-2', 'worker (on-demand)'],
    ]);
    expect(JSON.parse(json.stdout).map((r: any) => [r.role, r.market])).toEqual([['scheduler', undefined], ['worker', 'spot'], ['worker', 'on-demand']]);
  });

  describe('the app\'s Python version set', () => {
    const OLD_SET = 'ffffffffffff';
    const CURRENT_SET = '0123456789ab';

    beforeAll(async () => {
      // GIVEN a cluster whose package config changed once: an older set (whose name sorts last) ...
      await fakeDeploy({
        app: 'pinned',
        machines: [
          { role: 'scheduler', name: 'pinned-scheduler', bootstrap: 'ready' },
          { role: 'worker', name: 'pinned-worker-1', bootstrap: 'ready' },
        ],
      });
      await shareVersionSet('pinned', OLD_SET, 'base', { dask: '2024.8.0', numpy: '1.26.4' });
      await shareVersionSet('pinned', OLD_SET, 'jupyter', { dask: '2024.8.0', numpy: '1.26.4', jupyterlab: '4.2.0' });
      await tick();
      // ... and the current set, both kinds, which disagree on tornado
      await shareVersionSet('pinned', CURRENT_SET, 'base', { dask: '2024.12.1', numpy: '2.2.4', tornado: '6.4.1' });
      await shareVersionSet('pinned', CURRENT_SET, 'jupyter', { dask: '2024.12.1', numpy: '2.2.4', tornado: '6.4.2', jupyterlab: '4.3.4' });
    });

    test('--json: every row carries the newest set, its kinds merged, base kept where they disagree', async () => {
      // WHEN
      const run = await cli(['status', '--app', 'pinned', '--region', REGION, '--json']);
      // THEN the rows are the machines' as before
      expect(run.code).toBe(0);
      const rows = JSON.parse(run.stdout);
      expect(rows.map((r: any) => [r.machine, r.role, r.readiness])).toEqual([
        ['pinned-scheduler', 'scheduler', 'ready'],
        ['pinned-worker-1', 'worker', 'ready'],
      ]);
      // AND each holds the current set: base's pins, jupyterlab from jupyter, tornado at base's version
      const expected = {
        path: `/dasklab/pinned/python/${CURRENT_SET}`,
        kinds: ['base', 'jupyter'],
        versions: { dask: '2024.12.1', jupyterlab: '4.3.4', numpy: '2.2.4', tornado: '6.4.1' },
        conflicts: [{ name: 'tornado', base: '6.4.1', jupyter: '6.4.2' }],
      };
      for (const row of rows) expect(row.versionSet).toMatchObject(expected);
      expect(Object.keys(rows[0].versionSet.versions)).toEqual(['dask', 'jupyterlab', 'numpy', 'tornado']);
      expect(Date.parse(rows[0].versionSet.lastModified)).toBeGreaterThan(Date.now() - 10 * 60_000);
      expect(rows[0].versionSetError).toBeUndefined();
    });

    test('text: one line naming the set after the table; the disagreement as a note', async () => {
      // WHEN
      const run = await cli(['status', '--app', 'pinned', '--region', REGION]);
      // THEN
      expect(run.code).toBe(0);
      const lines = run.stdout.trim().split('\n');
      expect(lines).toHaveLength(4);
      expect(lines[3]).toBe(`Python versions: /dasklab/pinned/python/${CURRENT_SET} (dask 2024.12.1, numpy 2.2.4, 4 packages)`);
      expect(run.stderr).toContain(`The kinds of /dasklab/pinned/python/${CURRENT_SET} disagree on tornado: base 6.4.1, jupyter 6.4.2 (base's kept)`);
      expect(run.stderr).toContain('2 of 2 machines ready (app "pinned", us-east-1)');
    });

    test('over several pages of parameters, the set written to last is current, though its first kind is older', async () => {
      // GIVEN more sets than SSM lists on one page (10), the old set's base among the first ...
      await fakeDeploy({ app: 'pinned-again', machines: [{ role: 'standalone', name: 'pinned-again-machine', bootstrap: 'ready' }] });
      await shareVersionSet('pinned-again', OLD_SET, 'base', { dask: '2024.8.0' });
      for (let n = 0; n < 11; n++) await shareVersionSet('pinned-again', `00000000000${n.toString(16)}`, 'base', { dask: `2024.1.${n}` });
      await tick();
      // ... another set written after it ...
      await shareVersionSet('pinned-again', CURRENT_SET, 'base', { dask: '2024.12.1' });
      await tick();
      // ... and then the old set's jupyter kind, the newest parameter of all
      await shareVersionSet('pinned-again', OLD_SET, 'jupyter', { dask: '2024.8.0', jupyterlab: '4.2.0' });
      // WHEN
      const rows = JSON.parse((await cli(['status', '--app', 'pinned-again', '--region', REGION, '--json'])).stdout);
      // THEN
      expect(rows[0].versionSet).toMatchObject({
        path: `/dasklab/pinned-again/python/${OLD_SET}`,
        kinds: ['base', 'jupyter'],
        versions: { dask: '2024.8.0', jupyterlab: '4.2.0' },
        conflicts: [],
      });
    });

    test('an app without a set: null in --json, no line and no complaint in text', async () => {
      // WHEN
      const json = await cli(['status', '--app', 'lab1', '--region', REGION, '--json']);
      const text = await cli(['status', '--app', 'lab1', '--region', REGION]);
      // THEN
      expect(JSON.parse(json.stdout).map((r: any) => r.versionSet)).toEqual([null, null, null, null]);
      expect(json.stderr).toBe('');
      expect(text.code).toBe(0);
      expect(text.stdout).not.toContain('Python versions');
      expect(text.stdout.trim().split('\n')).toHaveLength(5);
      expect(text.stderr.trim()).toBe('1 of 4 machines ready (app "lab1", us-east-1)');
    });

    test('a set whose content is not pins: the machines still show, and the reason', async () => {
      // GIVEN a parameter of the current set that holds no `name==version` line
      await fakeDeploy({ app: 'garbled', machines: [{ role: 'standalone', name: 'garbled-machine', bootstrap: 'ready' }] });
      const ssm = new SSMClient({ region: REGION, endpoint: moto.endpoint });
      await ssm.send(new PutParameterCommand({ Name: `/dasklab/garbled/python/${CURRENT_SET}/base`, Type: 'String', Value: 'not a freeze' }));
      ssm.destroy();
      // WHEN
      const run = await cli(['status', '--app', 'garbled', '--region', REGION]);
      // THEN
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(/\ngarbled-machine\s+standalone\s/);
      expect(run.stderr).toContain(`Python versions not shown: the version set parameter /dasklab/garbled/python/${CURRENT_SET}/base holds no \`name==version\` line`);
    });
  });

  test('an app without machines: says so, naming the app and the region, exit 1', async () => {
    const run = await cli(['status', '--app', 'nosuchapp', '--region', REGION]);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr.trim()).toBe(
      'dasklab: No machines of app "nosuchapp" in region us-east-1 (no instance tagged dasklab:app=nosuchapp). Deploy with `npx cdk deploy`, or pass the right --app or --region.',
    );
  });

  test('the same app in another region has no machines', async () => {
    const run = await cli(['status', '--app', 'lab1', '--region', 'eu-west-1']);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('No machines of app "lab1" in region eu-west-1');
  });

  test('an unknown student: named, with the valid ones listed', async () => {
    const run = await cli(['stop', 'zed', '--app', 'lab1']);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('No machine "zed" in app "lab1" (region us-east-1).');
    expect(run.stderr).toContain(`Valid: alice (${lab[0].instanceId}, lab1-alice), bob (${lab[1].instanceId}, lab1-bob)`);
    expect(run.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });

  test('bin/dasklab runs the CLI as a process (ts-node shim)', () => {
    // WHEN the shim is run as `npx dasklab` would run it
    const result = spawnSync(process.execPath, [path.join(__dirname, '..', '..', 'bin', 'dasklab'), 'status', '--app', 'lab1', '--json'], {
      encoding: 'utf8',
      env: process.env,
      timeout: 60_000,
    });
    // THEN it prints the rows and exits 0, without the SDK's Node version warning
    expect(result.stderr).not.toContain('NodeVersionSupportWarning');
    expect(result.status).toBe(0);
    expect(JSON.parse(result.stdout).map((r: { machine: string }) => r.machine)).toEqual(['alice', 'bob', 'carol', 'dave']);
  });
});
