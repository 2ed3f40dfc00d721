import * as path from 'path';
import { Twin } from './launcher';
import { report, twinDescribe } from './support';

/**
 * The twin itself, independent of the product: a hand-written template whose
 * trivial user data reads IMDSv2, reaches the apt repo and the pip index, and
 * signals. If this fails, the twin is broken, not the bootstrap.
 */
twinDescribe('twin: self-test with a minimal template', () => {
  test('boots, rewrites the parameters, answers IMDSv2, receives the signal', async () => {
    const twin = await Twin.start({ templateDir: path.join(__dirname, 'fixtures', 'minimal'), timeoutSeconds: 120 });
    try {
      const [result] = await twin.waitForSignals();
      await report(twin, [result]);
      const m = twin.machines[0];
      expect(result.status).toBe('SUCCESS');
      expect(result.uniqueId).toBe(m.instanceId);
      expect(result.reason).toBe(`fixture ok ${m.ip} us-east-1 numpy dask[array,distributed]`);
      expect(m.userDataChanges.join('\n')).toMatch(/DASKLAB_PYTHON_VERSION: "3.12" -> "3.13"/);
      // A fresh machine: uptime counts from its own boot, not the host's.
      const uptime = await twin.exec(m, ['cut', '-d.', '-f1', '/proc/uptime']);
      expect(Number(uptime.stdout)).toBeLessThan(120);
      // The ubuntu user has passwordless sudo, as on Ubuntu's EC2 images.
      expect((await twin.exec(m, ['sudo', '-n', 'id', '-u'], { user: 'ubuntu' })).stdout.trim()).toBe('0');
    } finally {
      await twin.stop();
    }
  });
});
