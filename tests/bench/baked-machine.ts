import { BenchApp } from './apps';
import * as fs from 'fs';
import * as path from 'path';
import { validateConfig } from '../../lib/config';
import { REPO_DIR, synthOnce } from './synth';

/**
 * The default machine with a baked image (`machine.bake: true`): the committed
 * dasklab.config.json with that one field changed, synthesized once for the
 * twin section, which boots its machine from the image the twin builds.
 */
/** The default machine with machine.bake, as an app of the deploy estimate (section 2). */
export const BAKED_MACHINE_APP: BenchApp = {
  id: 'machine-baked',
  label: 'default machine, baked (machine.bake: the deploy builds its image first)',
  machines: 1,
  timed: false,
  baked: true,
};

export async function synthBakedMachine(workDir: string): Promise<{ outDir?: string; error?: string }> {
  const defaults = JSON.parse(fs.readFileSync(path.join(REPO_DIR, 'dasklab.config.json'), 'utf8'));
  const { $schema: _schema, ...config } = defaults;
  const baked = { ...config, machine: { ...(config.machine ?? {}), bake: true } };
  const file = path.join(workDir, 'machine-baked.config.json');
  // The app's own check first: a config it would reject fails here, naming the field.
  validateConfig(baked, file, workDir);
  fs.writeFileSync(file, JSON.stringify(baked));
  const outDir = path.join(workDir, 'machine-baked.out');
  const run = await synthOnce(outDir, file);
  return run.ok ? { outDir } : { error: run.error };
}
