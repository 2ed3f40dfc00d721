import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App } from 'aws-cdk-lib';
import { addDasklabStacks } from '../../lib/app';
import { ConfigSchema } from '../../lib/config/schema';
import { loadTemplate } from './template';

/**
 * The twin reads the machines of a synthesized template (pure: no root, no
 * containers): spot workers, which a custom resource launches on AWS, boot
 * like instances, each paired with the wait condition that waits for it.
 */
describe('twin: reading a template', () => {
  let dir: string;

  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dasklab-twin-template-'));
    const app = new App({ outdir: dir });
    addDasklabStacks(app, ConfigSchema.parse({ name: 'demo', cluster: { workers: 2, spot: true } }));
    app.synth();
  });

  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('spot workers are machines, with their wait conditions, names and user data', () => {
    const template = loadTemplate(dir, 'demo-Cluster');
    const machines = template.instances.map((m) => ({ role: m.role, name: m.name, type: template.resources![m.logicalId].Type }));
    expect(machines).toEqual([
      { role: 'scheduler', name: 'demo-scheduler', type: 'AWS::EC2::Instance' },
      { role: 'worker', name: 'demo-worker-1', type: 'Custom::DasklabSpotMachine' },
      { role: 'worker', name: 'demo-worker-2', type: 'Custom::DasklabSpotMachine' },
    ]);
    for (const worker of template.instances.filter((m) => m.role === 'worker')) {
      expect(template.handles.has(worker.handle)).toBe(true);
      expect(JSON.stringify(worker.userData)).toContain("DASKLAB_ROLE='worker'");
      expect(worker.instanceType).toBe('t3.large');
    }
  });
});
