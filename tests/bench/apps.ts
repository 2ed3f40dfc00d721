import * as fs from 'fs';
import * as path from 'path';
import { DasklabConfig, validateConfig } from '../../lib/config';

/**
 * The apps the bench synthesizes: the default machine (the committed
 * dasklab.config.json), a 1 + 8 cluster and labs of 30, 300 and 500 students;
 * plus two synthesized once for the other sections: the 1 + 2 cluster the twin
 * boots and a lab of per-student clusters (whose shape differs).
 */

export interface BenchApp {
  /** Short id used in tables and JSON, e.g. "lab-300". */
  id: string;
  /** What it is, for people. */
  label: string;
  /** The config as written to a file; undefined: the repo's default config (no -c config=). */
  config?: Record<string, unknown>;
  /** Students of a lab, for the marginal cost per student. */
  students?: number;
  /** Machines the app should synthesize (checked against the templates). */
  machines: number;
  /** Part of the synth timing series (median of --runs), or synthesized once for another section. */
  timed: boolean;
  /** Its machines boot from the app's baked image (machine.bake): the deploy builds it first. */
  baked?: boolean;
}

/** Student ids s1, s2, ...: lower-case letters and digits starting with a letter. */
export function rosterOf(students: number): string[] {
  return Array.from({ length: students }, (_, i) => `s${i + 1}`);
}

function lab(students: number, workersPerStudent = 0): BenchApp {
  const machinesPerStudent = 1 + workersPerStudent;
  const clusters = workersPerStudent > 0;
  return {
    id: clusters ? `lab-${students}x${machinesPerStudent}` : `lab-${students}`,
    label: clusters
      ? `lab of ${students} students, each a 1 + ${workersPerStudent} cluster`
      : `lab of ${students} students`,
    config: { lab: clusters ? { roster: rosterOf(students), workersPerStudent } : { roster: rosterOf(students) } },
    students,
    machines: students * machinesPerStudent,
    timed: !clusters,
  };
}

/** Every app of a bench run, in the order they are synthesized. */
export function benchApps(): BenchApp[] {
  return [
    { id: 'machine', label: 'default machine (dasklab.config.json)', machines: 1, timed: true },
    { id: 'cluster-1+8', label: 'cluster of 1 scheduler + 8 workers', config: { cluster: { workers: 8 } }, machines: 9, timed: true },
    lab(30),
    lab(300),
    lab(500),
    { id: 'cluster-1+2', label: 'cluster of 1 scheduler + 2 workers (booted in the twin)', config: { cluster: { workers: 2 } }, machines: 3, timed: false },
    lab(30, 2),
  ];
}

/**
 * Writes the app's config to `dir` and returns its path (undefined for the
 * default config). The config is validated first with the app's own
 * validateConfig, so a bench config that the app would reject fails here,
 * naming the field.
 */
export function writeConfig(app: BenchApp, dir: string): { file?: string; config: DasklabConfig } {
  if (!app.config) {
    const file = path.resolve(__dirname, '..', '..', 'dasklab.config.json');
    return { config: validateConfig(JSON.parse(fs.readFileSync(file, 'utf8')), file, path.dirname(file)) };
  }
  const file = path.join(dir, `${app.id}.config.json`);
  const config = validateConfig(app.config, file, dir);
  fs.writeFileSync(file, JSON.stringify(app.config));
  return { file, config };
}
