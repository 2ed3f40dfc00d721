import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { DEFAULT_STACK, Twin } from './launcher';
import { mustRun } from './proc';
import { diagnostics, report, twinDescribe } from './support';

/**
 * The bootstrap's behaviour when the pip index fails: a short outage is
 * carried by its retries, a lasting one fails the wait condition with pip's
 * error as the reason, within the timeout.
 */
twinDescribe('twin: pip index faults', () => {
  let templateDir: string;

  beforeAll(async () => {
    // One synth for both cases.
    templateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'dasklab-twin-synth-'));
    await mustRun('npx', ['--no-install', 'cdk', 'synth', '--quiet', '--output', templateDir], {
      cwd: path.resolve(__dirname, '..', '..'),
    });
  });

  afterAll(() => {
    if (templateDir) fs.rmSync(templateDir, { recursive: true, force: true });
  });

  test('index always down (connection refused): FAILURE in the pip phase with pip\'s error', async () => {
    const timeoutSeconds = 900;
    const twin = await Twin.start({ templateDir, stack: DEFAULT_STACK, timeoutSeconds, faults: { pipIndex: { mode: 'refused' } } });
    try {
      const [result] = await twin.waitForSignals();
      await report(twin, [result]);
      expect(result.status).toBe('FAILURE');
      expect(result.seconds).toBeLessThan(timeoutSeconds);
      expect(result.reason).toMatch(/phase pip failed/);
      expect(result.reason).toMatch(/Connection refused|No matching distribution found/);
      expect((await twin.readyJson(twin.machines[0])).failedPhase).toBe('pip');
      expect(twin.bootstrapTags(twin.machines[0]).pop()).toBe('failed:pip');
    } finally {
      await twin.stop();
    }
  });

  test('index down (503) for the first 20 s after its first request: retries carry it to SUCCESS', async () => {
    const twin = await Twin.start({
      templateDir,
      stack: DEFAULT_STACK,
      timeoutSeconds: 900,
      faults: { pipIndex: { mode: '503', downForSeconds: 20 } },
    });
    try {
      const [result] = await twin.waitForSignals();
      await report(twin, [result]);
      if (result.status !== 'SUCCESS') throw new Error(`${result.status}: ${result.reason}\n${await diagnostics(twin)}`);
      // The outage was really hit: the index answered 503 (pip retries those
      // silently) and the bootstrap's own retry carried a failed pip attempt.
      expect(fs.readFileSync(twin.services.accessLog, 'utf8')).toMatch(/pip .*" 503 /);
      const log = await twin.exec(twin.machines[0], ['cat', '/var/log/dasklab/bootstrap.log']);
      expect(log.stdout).toMatch(/attempt 1 of \d+ failed .*pip_install/);
    } finally {
      await twin.stop();
    }
  });
});
