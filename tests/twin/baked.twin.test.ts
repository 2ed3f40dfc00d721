import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { SignalResult, Twin, TwinMachine } from './launcher';
import { mustRun } from './proc';
import { diagnostics, report, twinDescribe } from './support';

/**
 * Baked images (`machine.bake`): the template's EC2 Image Builder resources
 * make one image per architecture, which the twin builds (image.ts), and every
 * machine of the app boots from it. A baked TLS cluster forms and computes; a
 * baked lab student's machine is ready, and so is it after a reset (a fresh
 * root volume is the image again); no baked machine installs anything at boot.
 * A failing build fails the deploy with its log.
 */

const REPO = path.resolve(__dirname, '..', '..');
const FIXTURES = path.join(__dirname, 'fixtures');

/** The app's synthesis of a config, as `cdk synth -c config=...` makes it. */
async function synth(config: string, out: string): Promise<string> {
  await mustRun('npx', ['--no-install', 'cdk', 'synth', '--quiet', '--output', out, '-c', `config=${config}`], { cwd: REPO, timeoutMs: 5 * 60 * 1000 });
  return out;
}

function failures(results: SignalResult[]): string {
  return results.filter((r) => r.status !== 'SUCCESS').map((r) => `${r.machine.logicalId}: ${r.status}: ${r.reason}`).join('\n');
}

/**
 * The machine booted from its app's image and its bootstrap installed
 * nothing: apt's packages and pip's were there already (userdata/bootstrap.sh,
 * phase_apt and phase_pip), no apt or pip install ran, and the pip phase took
 * next to no time. A machine booted from the plain rootfs fails each of these.
 */
async function expectNothingInstalledAtBoot(twin: Twin, m: TwinMachine, app: string): Promise<void> {
  expect(m.image).toMatch(new RegExp(`^/dasklab/${app}/image/amd64-[0-9a-f]+$`));
  const log = (await twin.exec(m, ['cat', '/var/log/dasklab/bootstrap.log'])).stdout;
  expect(log).toMatch(/\[apt\] already installed: python3\.13 python3\.13-venv$/m);
  expect(log).toMatch(/\[pip\] packages already installed: /);
  expect(log).not.toMatch(/Unpacking |Setting up |Successfully installed |Collecting /);
  const ready = await twin.readyJson(m);
  expect(ready.status).toBe('ready');
  expect(ready.phases.pip.seconds).toBeLessThanOrEqual(2);
  expect(ready.phases.apt.seconds).toBeLessThanOrEqual(2);
}

twinDescribe('twin: a baked TLS cluster', () => {
  let twin: Twin;
  let results: SignalResult[];

  beforeAll(async () => {
    twin = await Twin.start({ stack: 'bakedcluster-Cluster', context: { config: path.join(FIXTURES, 'baked-cluster.config.json') }, timeoutSeconds: 480 });
    results = await twin.waitForSignals();
    await report(twin, results);
    process.stderr.write(`[measure] baked cluster: image build ${twin.buildSeconds.image.toFixed(0)} s (0: cached)\n`);
  });

  afterAll(async () => {
    await twin?.stop();
  });

  test('scheduler and workers boot from the image, signal SUCCESS, and installed nothing at boot', async () => {
    expect(twin.machines.map((m) => m.role).sort()).toEqual(['scheduler', 'worker', 'worker']);
    const failed = failures(results);
    if (failed) throw new Error(`${failed}\n${await diagnostics(twin)}`);
    // One image for the app's one architecture.
    expect(new Set(twin.machines.map((m) => m.image)).size).toBe(1);
    for (const m of twin.machines) await expectNothingInstalledAtBoot(twin, m, 'bakedcluster');
    // Copies of one image are machines of their own (the build's cleanup reset the machine id).
    const ids = await Promise.all(twin.machines.map(async (m) => (await twin.exec(m, ['cat', '/etc/machine-id'])).stdout.trim()));
    expect(new Set(ids).size).toBe(ids.length);
  });

  test('a client on the scheduler runs a task on each worker over TLS', async () => {
    const scheduler = twin.machines.find((m) => m.role === 'scheduler')!;
    const script = [
      'import socket',
      'import dask.array as da',
      'from distributed import Client',
      `with Client("tls://${scheduler.ip}:8786", timeout=30) as c:`,
      '    addrs = list(c.scheduler_info()["workers"])',
      '    print(" ".join(sorted(c.gather([c.submit(socket.gethostname, workers=[a], pure=False) for a in addrs]))))',
      '    print(int(da.ones((2000, 2000), chunks=500).sum().compute()))',
    ].join('\n');
    const r = await twin.exec(scheduler, ['/opt/dask/venv/bin/python', '-'], { user: 'ubuntu', input: script, timeoutMs: 240_000 });
    if (r.code !== 0) throw new Error(`python on the scheduler exited ${r.code}:\n${r.stderr.slice(-3000)}`);
    const workers = twin.machines.filter((m) => m.role === 'worker').map((w) => w.hostname).sort().join(' ');
    expect(r.stdout.trim().split('\n')).toEqual([workers, '4000000']);
  });
});

twinDescribe('twin: a baked lab', () => {
  let dir: string;
  let templateDir: string;
  let twin: Twin;
  let results: SignalResult[];
  const student = (): TwinMachine => twin.machines.find((m) => m.role === 'student')!;

  /** Waits until the machine's bootstrap, run again on a fresh root, says ready. */
  async function readyAgain(m: TwinMachine): Promise<any> { // eslint-disable-line @typescript-eslint/no-explicit-any
    const deadline = Date.now() + 600_000;
    for (;;) {
      const ready = await twin.readyJson(m).catch(() => undefined);
      if (ready?.status === 'ready') return ready;
      if (ready?.status === 'failed') throw new Error(`the bootstrap after the reset failed: ${JSON.stringify(ready)}\n${await diagnostics(twin)}`);
      if (Date.now() > deadline) throw new Error(`not ready again within 600 s\n${await diagnostics(twin)}`);
      await new Promise((r) => setTimeout(r, 3000));
    }
  }

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dasklab-baked-test-'));
    templateDir = await synth(path.join(FIXTURES, 'baked-lab.config.json'), path.join(dir, 'baked.out'));
    // A persistent root: a reset replaces it with the launch state, here the image.
    twin = await Twin.start({ templateDir, stacks: /^bakedlab-Lab-\d+$/, timeoutSeconds: 600, persistentRoot: true });
    results = await twin.waitForSignals();
    await report(twin, results);
    process.stderr.write(`[measure] baked lab: image build ${twin.buildSeconds.image.toFixed(0)} s (0: cached)\n`);
  });

  afterAll(async () => {
    await twin?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  test("the student's machine boots from the image in the shared stack, is ready and installed nothing at boot", async () => {
    const failed = failures(results);
    if (failed) throw new Error(`${failed}\n${await diagnostics(twin)}`);
    const shared = JSON.parse(fs.readFileSync(path.join(templateDir, 'bakedlab-Lab-Shared.template.json'), 'utf8'));
    const parameters = Object.values<any>(shared.Resources).filter((r) => r.Type === 'AWS::SSM::Parameter').map((r) => r.Properties.Name); // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(parameters).toContain(student().image);
    await expectNothingInstalledAtBoot(twin, student(), 'bakedlab');
  });

  test('a reset (a fresh root volume) comes back ready from the image, with the same versions', async () => {
    const m = student();
    const before = await twin.readyJson(m);
    const started = Date.now();
    await twin.replaceRootVolume(m);
    const after = await readyAgain(m);
    process.stderr.write(`[measure] baked student: ready ${((Date.now() - started) / 1000).toFixed(0)} s after its root volume was replaced (bootstrap ${after.totalSeconds} s)\n`);
    expect(after.startedAt).not.toBe(before.startedAt);
    expect(after.versions).toEqual(before.versions);
    expect(after.versionSet).toEqual(before.versionSet);
    await expectNothingInstalledAtBoot(twin, m, 'bakedlab');
  });

  test('container start to readiness: baked against unbaked, same config', async () => {
    const config = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'baked-lab.config.json'), 'utf8'));
    const file = path.join(dir, 'unbaked.config.json');
    fs.writeFileSync(file, JSON.stringify({ ...config, machine: { ...config.machine, bake: false } }));
    const cold = await Twin.start({ stacks: /^bakedlab-Lab-\d+$/, context: { config: file }, timeoutSeconds: 600 });
    try {
      const coldResults = await cold.waitForSignals();
      expect(failures(coldResults)).toBe('');
      expect(cold.machines.every((m) => m.image === undefined)).toBe(true);
      const baked = results.find((r) => r.machine.role === 'student')!.seconds;
      const unbaked = coldResults.find((r) => r.machine.role === 'student')!.seconds;
      // eslint-disable-next-line no-console
      console.log(`student machine, container start to readiness signal: baked ${baked.toFixed(1)} s, unbaked ${unbaked.toFixed(1)} s (${(baked / unbaked).toFixed(2)}x)`);
    } finally {
      await cold.stop();
    }
  });

  test("a failing build fails the twin's start with the tail of the build's log", async () => {
    // The same app, whose component's build step fails.
    const broken = path.join(dir, 'broken.out');
    fs.cpSync(templateDir, broken, { recursive: true });
    const file = path.join(broken, 'bakedlab-Lab-Shared.template.json');
    const shared = JSON.parse(fs.readFileSync(file, 'utf8'));
    const failing = [
      'name: failing', 'schemaVersion: 1.0', 'phases:', '  - name: build', '    steps:', '      - name: Fails', '        action: ExecuteBash',
      '        inputs:', '          commands:', '            - |', '              echo "the index is down" >&2', '              exit 7', '',
    ].join('\n');
    for (const r of Object.values<any>(shared.Resources)) if (r.Type === 'AWS::ImageBuilder::Component') r.Properties.Data = failing; // eslint-disable-line @typescript-eslint/no-explicit-any
    fs.writeFileSync(file, JSON.stringify(shared));
    const start: Promise<Twin> = Twin.start({ templateDir: broken, stacks: /^bakedlab-Lab-\d+$/, timeoutSeconds: 300 });
    await expect(start.then((t) => t.stop())).rejects.toThrow(/step Fails of .* failed \(exit 7\)[^]*the index is down/);
  });
});
