import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { DEFAULT_STACK, SignalResult, Twin, TwinOptions } from './launcher';
import { mustRun, sleep } from './proc';
import { newKey, ssh } from './ssh';
import { diagnostics, report, twinDescribe } from './support';

/**
 * Faults the bootstrap survives: the apt lock held at
 * first boot, the apt repository down for 30 s, the pip index answering errors
 * to its first requests, a reboot in the middle of the bootstrap. In each case
 * the machine must end ready within the timeout, and it must never signal
 * SUCCESS while broken (nor FAILURE first): when it does signal SUCCESS, the
 * venv really imports numpy and dask.
 */
const VENV = '/opt/dask/venv';
// Each case ends within ~100 s here; a bootstrap that never finishes fails in 400 s, not CloudFormation's 30 min.
const TIMEOUT_SECONDS = 400;

twinDescribe('twin: faults the bootstrap survives', () => {
  let templateDir: string;

  // DASKLAB_TWIN_FAULTS_TEMPLATE_DIR: test an existing synthesis (a candidate fix, say) instead of synthesizing.
  const given = process.env.DASKLAB_TWIN_FAULTS_TEMPLATE_DIR;

  beforeAll(async () => {
    if (given) {
      templateDir = given;
      return;
    }
    templateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'dasklab-twin-synth-'));
    await mustRun('npx', ['--no-install', 'cdk', 'synth', '--quiet', '--output', templateDir], {
      cwd: path.resolve(__dirname, '..', '..'),
    });
  });

  afterAll(() => {
    if (templateDir && !given) fs.rmSync(templateDir, { recursive: true, force: true });
  });

  /** Boots the default machine with opts, runs `during` while it boots, and checks it ends ready and working. */
  async function survives(
    opts: Partial<TwinOptions>,
    check: (twin: Twin, result: SignalResult, log: string) => Promise<void> | void,
    during?: (twin: Twin) => Promise<void>,
  ): Promise<void> {
    const twin = await Twin.start({ templateDir, stack: DEFAULT_STACK, timeoutSeconds: TIMEOUT_SECONDS, ...opts });
    try {
      if (during) await during(twin);
      const [result] = await twin.waitForSignals();
      await report(twin, [result]);
      const m = twin.machines[0];
      if (result.status !== 'SUCCESS') throw new Error(`${result.status}: ${result.reason}\n${await diagnostics(twin)}`);
      expect(result.seconds).toBeLessThan(TIMEOUT_SECONDS);
      // Every signal for the handle is a SUCCESS: no FAILURE came first.
      expect(twin.services.signals.filter((s) => s.handle === m.handle).map((s) => s.body.Status)).toEqual(['SUCCESS']);
      expect((await twin.readyJson(m)).status).toBe('ready');
      // Not ready while broken: the venv imports numpy and dask.
      const imports = await twin.exec(m, [`${VENV}/bin/python`, '-c', 'import numpy, dask; print(numpy.__version__, dask.__version__)'], { user: 'ubuntu' });
      expect(imports.stderr).toBe('');
      expect(imports.code).toBe(0);
      const log = (await twin.exec(m, ['cat', '/var/log/dasklab/bootstrap.log'])).stdout;
      await check(twin, result, log);
    } finally {
      await twin.stop();
    }
  }

  test('apt and dpkg locks held for 60 s from early boot (as unattended-upgrades): the apt phase waits, then SUCCESS', async () => {
    await survives({ faults: { aptLockSeconds: 60 } }, async (twin, result, log) => {
      const ready = await twin.readyJson(twin.machines[0]);
      process.stderr.write(`apt lock: apt phase ${ready.phases.apt.seconds} s, signal after ${result.seconds.toFixed(0)} s\n`);
      expect(result.seconds).toBeGreaterThan(60);
      expect(ready.phases.apt.seconds).toBeGreaterThanOrEqual(30);
      // `dpkg --configure -a` ran while the lock was held and waited for it as apt does: it never
      // failed on the lock. Retrying a failed dpkg is no wait: unattended-upgrades can hold the lock
      // for longer than any fixed number of attempts.
      expect(log).toMatch(/waited \d+ s for the dpkg frontend lock: dpkg --configure -a/);
      expect(Number(/waited (\d+) s for the dpkg frontend lock/.exec(log)?.[1])).toBeGreaterThanOrEqual(10);
      expect(log).not.toMatch(/dpkg: error: .*lock|failed .*dpkg --configure -a/);
    });
  });

  test('apt repository answering 503 for 30 s from its first request: retries carry the apt phase to SUCCESS', async () => {
    await survives({ faults: { aptRepo: { mode: '503', downForSeconds: 30 } } }, async (twin, result, log) => {
      const ready = await twin.readyJson(twin.machines[0]);
      process.stderr.write(`apt down 30 s: apt phase ${ready.phases.apt.seconds} s, signal after ${result.seconds.toFixed(0)} s\n`);
      expect(fs.readFileSync(twin.services.accessLog, 'utf8')).toMatch(/apt .*" 503 /);
      expect(log).toMatch(/attempt 1 of \d+ failed .*apt/);
      expect(ready.phases.apt.seconds).toBeGreaterThanOrEqual(25);
    });
  });

  test('pip index answering 500 to its first 5 requests: SUCCESS', async () => {
    await survives({ faults: { pipIndex: { mode: '500', failFirstRequests: 5 } } }, async (twin, result) => {
      const ready = await twin.readyJson(twin.machines[0]);
      process.stderr.write(`pip 500 x5: pip phase ${ready.phases.pip.seconds} s, signal after ${result.seconds.toFixed(0)} s\n`);
      const errors = fs.readFileSync(twin.services.accessLog, 'utf8').split('\n').filter((l) => / pip .*" 500 /.test(l));
      expect(errors).toHaveLength(5);
    });
  });

  test('rebooted in the middle of the pip phase: the bootstrap finishes on the next boot, SUCCESS', async () => {
    let rebootedAt = 0;
    await survives(
      { persistentRoot: true },
      async (twin, result, log) => {
        process.stderr.write(`reboot in pip: rebooted after ${rebootedAt.toFixed(0)} s, signal after ${result.seconds.toFixed(0)} s\n`);
        expect(twin.reboots(twin.machines[0])).toBe(1);
        // The first boot's bootstrap was cut short in pip; the second ran again (apt already done) and finished.
        expect(log.match(/\[pip\] phase started/g)?.length).toBe(2);
        expect(log).toMatch(/\[apt\] already installed/);
        expect(log.match(/dasklab bootstrap \(/g)?.length).toBe(2);
        // cloud-init did not run the user data again on the second boot (same instance-id).
        expect(log.match(/installed dasklab-bootstrap.service/g)?.length).toBe(1);
      },
      async (twin) => {
        const m = twin.machines[0];
        const started = Date.now();
        for (;;) {
          const r = await twin.exec(m, ['grep', '-q', '\\[pip\\] phase started', '/var/log/dasklab/bootstrap.log']).catch(() => ({ code: 1 }));
          if (r.code === 0) break;
          if (Date.now() - started > 600000) throw new Error('the pip phase never started');
          await sleep(250);
        }
        await sleep(1000); // pip is downloading/installing
        rebootedAt = (Date.now() - started) / 1000;
        await twin.reboot(m);
      },
    );
  });

  test('a deploy that changes the user data (packages, trainer key): the machine restarts, applies and verifies the new settings, and signals the new wait condition', async () => {
    // GIVEN a lab machine booted from one config
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dasklab-twin-update-'));
    const [oldKey, newKeyPath] = [await newKey(dir, 'trainer-old'), await newKey(dir, 'trainer-new')];
    const configOf = (packages: string[], key: string) => ({
      name: 'dasklab',
      // The trainer connects from the twin's hub (10.213.0.1).
      access: { sshCidrs: ['10.213.0.1/32'] },
      python: { packages },
      lab: { roster: ['alice'], idleStopMinutes: 0, trainerPublicKey: fs.readFileSync(`${key}.pub`, 'utf8').trim() },
    });
    const synthOf = async (name: string, config: object): Promise<string> => {
      fs.writeFileSync(path.join(dir, `${name}.json`), JSON.stringify(config));
      const out = path.join(dir, name);
      await mustRun('npx', ['--no-install', 'cdk', 'synth', '--quiet', '--output', out, '-c', `config=${path.join(dir, `${name}.json`)}`], {
        cwd: path.resolve(__dirname, '..', '..'),
      });
      return out;
    };
    // setuptools: in the twin's index, and not pulled in by numpy or dask.
    const before = await synthOf('before', configOf(['numpy', 'dask[complete]'], oldKey));
    const after = await synthOf('after', configOf(['numpy', 'dask[complete]', 'setuptools'], newKeyPath));
    const twin = await Twin.start({ templateDir: before, stacks: /^dasklab-Lab-\d+$/, persistentRoot: true, timeoutSeconds: 600 });
    try {
      const m = twin.machines[0];
      const first = await twin.waitForSignal(m);
      await report(twin, [first]);
      if (first.status !== 'SUCCESS') throw new Error(`${first.status}: ${first.reason}\n${await diagnostics(twin)}`);
      const oldHandle = m.handle;
      const importSetuptools = [`${VENV}/bin/python`, '-c', 'import setuptools'];
      expect((await twin.exec(m, importSetuptools, { user: 'ubuntu' })).code).not.toBe(0);
      expect((await ssh(twin, m, oldKey, 'true')).code).toBe(0);
      expect((await ssh(twin, m, newKeyPath, 'true')).code).not.toBe(0);

      // WHEN a deploy changes its user data: CloudFormation stops it, sets the user data, starts it
      await twin.replaceUserData(m, after);
      const second = await twin.waitForSignal(m);
      await report(twin, [second]);

      // THEN the new wait condition's handle got SUCCESS, and the old one nothing more
      expect(m.handle).not.toBe(oldHandle);
      if (second.status !== 'SUCCESS') throw new Error(`${second.status}: ${second.reason}\n${await diagnostics(twin)}`);
      expect(twin.services.signals.filter((sig) => sig.handle === m.handle).map((sig) => sig.body.Status)).toEqual(['SUCCESS']);
      expect(twin.services.signals.filter((sig) => sig.handle === oldHandle).map((sig) => sig.body.Status)).toEqual(['SUCCESS']);
      // AND the machine runs what the new config says: the new package, verified, ...
      const imports = await twin.exec(m, importSetuptools, { user: 'ubuntu' });
      expect(imports.stderr).toBe('');
      expect(imports.code).toBe(0);
      const log = (await twin.exec(m, ['cat', '/var/log/dasklab/bootstrap.log'])).stdout;
      expect(log).toMatch(/user data changed since the bootstrap was installed: running the new one/);
      expect(log).toMatch(/installed as configured: numpy dask\[array,distributed\] setuptools/);
      // ... the old trainer key gone from authorized_keys, the new one working
      const authorized = (await twin.exec(m, ['cat', '/home/ubuntu/.ssh/authorized_keys'])).stdout;
      expect(authorized).not.toContain(fs.readFileSync(`${oldKey}.pub`, 'utf8').trim());
      expect(authorized).toContain(fs.readFileSync(`${newKeyPath}.pub`, 'utf8').trim());
      expect((await ssh(twin, m, oldKey, 'true')).code).not.toBe(0);
      const inAs = await ssh(twin, m, newKeyPath, 'id -un');
      expect(inAs.stdout.trim()).toBe('ubuntu');
      // ... and the student's own key still works (only the trainer's managed key was replaced)
      expect((await ssh(twin, m, m.keyPair!.privateKeyPath!, 'true')).code).toBe(0);
      process.stderr.write(`user data update: first signal after ${first.seconds.toFixed(0)} s, second after ${second.seconds.toFixed(0)} s (from first boot)\n`);
    } finally {
      await twin.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
