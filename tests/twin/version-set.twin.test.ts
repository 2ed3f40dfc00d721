import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { SignalResult, Twin, TWIN_REGION, TwinMachine } from './launcher';
import { PIP_INDEX_URL } from './network';
import { diagnostics, report, twinDescribe } from './support';

/**
 * One version set per app (lib/machine/version-set.ts), in a lab of one
 * student with a worker: after the deploy, the package index gets a newer
 * dask and distributed; the student's worker is replaced and the student's
 * machine reset (each a fresh root volume, as `dasklab reset` has EC2 do),
 * and both come back with the versions the rest of their app runs, though an
 * unconstrained install would now take the newer release.
 */
twinDescribe('twin: one version set per app, kept through a newer release on the index', () => {
  let twin: Twin;
  let results: SignalResult[];
  let dir: string;
  const NEWER = '2025.1.0';

  const machine = (role: string): TwinMachine => twin.machines.find((m) => m.role === role)!;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const versionSetOf = async (m: TwinMachine): Promise<{ parameter: string; packages: Record<string, string> }> => (await twin.readyJson(m)).versionSet;

  /** Waits until the machine's bootstrap, run again from the start on a fresh root, is ready. */
  async function readyAgain(m: TwinMachine): Promise<void> {
    const deadline = Date.now() + 600_000;
    for (;;) {
      const ready = await twin.readyJson(m).catch(() => undefined);
      if (ready?.status === 'ready') return;
      if (ready?.status === 'failed') throw new Error(`${m.logicalId}: the bootstrap after the reset failed: ${JSON.stringify(ready)}\n${await diagnostics(twin)}`);
      if (Date.now() > deadline) throw new Error(`${m.logicalId}: not ready again within 600 s\n${await diagnostics(twin)}`);
      await new Promise((r) => setTimeout(r, 5000));
    }
  }

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dasklab-version-set-test-'));
    const config = path.join(dir, 'lab.config.json');
    fs.writeFileSync(config, JSON.stringify({ name: 'dasklab', lab: { roster: ['alice'], workersPerStudent: 1, idleStopMinutes: 0 } }));
    // A persistent root: a reset replaces it.
    twin = await Twin.start({ stacks: /^dasklab-Lab-\d+$/, context: { config }, timeoutSeconds: 900, persistentRoot: true });
    results = await twin.waitForSignals();
    await report(twin, results);
  });

  afterAll(async () => {
    await twin?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  test('GIVEN the app\'s version set WHEN a newer dask is published, a worker replaced and a student reset THEN both come back with the versions of the rest of their app', async () => {
    const failed = results.filter((r) => r.status !== 'SUCCESS');
    if (failed.length) throw new Error(`${failed.map((r) => `${r.machine.logicalId}: ${r.status}: ${r.reason}`).join('\n')}\n${await diagnostics(twin)}`);
    // GIVEN the student's machine and worker, deployed together, on one version set
    const [student, worker] = [machine('scheduler'), machine('worker')];
    const before = await versionSetOf(student);
    expect(await versionSetOf(worker)).toEqual(before);
    expect(before.packages.dask).toMatch(/^2024\./);
    expect(before.packages.distributed).toMatch(/^2024\./);

    // WHEN the index gets a newer dask and distributed
    expect(await twin.publishRelease(NEWER, ['dask', 'distributed'])).toEqual([`dask-${NEWER}-py3-none-any.whl`, `distributed-${NEWER}-py3-none-any.whl`]);
    // (which an install without the version set would take)
    const unpinned = await twin.exec(worker, ['/opt/dask/venv/bin/python', '-m', 'pip', 'install', '--dry-run', '--upgrade', '--quiet', '--report', '-',
      '--index-url', PIP_INDEX_URL, 'dask[array,distributed]'], { user: 'ubuntu', timeoutMs: 120_000 });
    const upgrades = JSON.parse(unpinned.stdout || '{"install": []}').install.map((i: { metadata: { name: string; version: string } }) => `${i.metadata.name} ${i.metadata.version}`);
    expect({ upgrades, stderr: unpinned.stderr }).toEqual({ upgrades: expect.arrayContaining([`dask ${NEWER}`, `distributed ${NEWER}`]), stderr: '' });

    // AND the worker is replaced and the student's machine reset: fresh root volumes, the bootstrap from the start
    const started = Date.now();
    await Promise.all([worker, student].map((m) => twin.replaceRootVolume(m)));
    await Promise.all([worker, student].map((m) => readyAgain(m)));
    process.stderr.write(`\n[measure] worker and student machine ready again ${((Date.now() - started) / 1000).toFixed(0)} s after their root volumes were replaced\n`);

    // THEN each came back with the app's versions, not the newer release
    for (const m of [worker, student]) {
      expect({ m: m.logicalId, set: await versionSetOf(m) }).toEqual({ m: m.logicalId, set: before });
      const installed = await twin.exec(m, ['/opt/dask/venv/bin/python', '-c', 'import importlib.metadata as md; print(md.version("dask"), md.version("distributed"))'], { user: 'ubuntu' });
      expect(installed.stdout.trim()).toBe(`${before.packages.dask} ${before.packages.distributed}`);
      const log = await twin.exec(m, ['grep', '-E', 'the version set .* pins [0-9]+ packages', '/var/log/dasklab/bootstrap.log']);
      expect(log.stdout.trim().split('\n').pop()).toMatch(new RegExp(`pins ${Object.keys(before.packages).length} packages`));
    }
    // AND the set in Parameter Store is still the one the deploy shared
    const [stored] = await twin.moto.getParameters(TWIN_REGION, [before.parameter]);
    expect(Object.fromEntries(stored.value.trim().split('\n').map((line) => line.split('==')))).toEqual(before.packages);
  });
});
