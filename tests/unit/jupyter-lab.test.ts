import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  BootstrapParameters,
  phasesOf,
  renderBootstrap,
  renderBootstrapSource,
  USER_DATA_LIMIT_BYTES,
  userDataSize,
} from '../../lib/bootstrap/bootstrap-user-data';
import { validateConfig } from '../../lib/config';
import { DasklabConfigInput } from '../../lib/config/schema';
import { JUPYTER_PACKAGES, JUPYTER_PORT, packagesWithJupyter } from '../../lib/machine/jupyter-lab';
import { configOf, synthApp, userDataOf } from './support';
import { Template } from 'aws-cdk-lib/assertions';

/**
 * User data without its version-set names: every machine names the app's
 * JupyterLab set (lib/machine/version-set.ts), whose versions it follows for
 * the packages both kinds install.
 */
function withoutVersionSets(userData: string): string {
  return userData.replace(/^DASKLAB_VERSION_SETS=.*$/m, '');
}

const STUDENT: BootstrapParameters = {
  app: 'course',
  role: 'student',
  pythonVersion: '3.12',
  packages: ['numpy', 'dask[complete]'],
  venv: '/opt/dask/venv',
  jupyter: true,
};

/** The bootstrap as the machine runs it, uncompressed. */
function readable(params: BootstrapParameters): string {
  const { parameters, body } = renderBootstrapSource(params);
  return `#!/bin/bash\n${parameters}\n${body}`;
}

/** The JupyterLab unit embedded in a rendered bootstrap. */
function jupyterUnit(script: string): string {
  const match = /jupyterlab\.service"? <<'UNIT'[^\n]*\n([\s\S]*?)\nUNIT\n/.exec(script);
  if (!match) throw new Error('no JupyterLab unit in the bootstrap');
  return match[1];
}

/** Every machine of an app's stacks, with its role tag, student tag and decoded user data. */
function machinesOf(input: DasklabConfigInput): Array<{ role: string; student?: string; userData: string }> {
  return [...synthApp(input).values()].flatMap((stack) =>
    Object.values(Template.fromStack(stack).findResources('AWS::EC2::Instance')).map((r: any) => ({
      role: r.Properties.Tags.find((t: any) => t.Key === 'dasklab:role')?.Value,
      student: r.Properties.Tags.find((t: any) => t.Key === 'dasklab:student')?.Value,
      userData: userDataOf(r),
    })),
  );
}

describe('JupyterLab in the bootstrap', () => {
  test('a machine with JupyterLab runs the jupyter phase after its Dask service, and installs JupyterLab into the venv', () => {
    // GIVEN a student machine with JupyterLab, and a scheduler with JupyterLab
    const scheduler: BootstrapParameters = { ...STUDENT, role: 'scheduler', dask: { schedulerHost: '127.0.0.1', name: 'scheduler', expectedWorkerCount: 1 } };
    // WHEN their phases are listed
    // THEN jupyter runs after the venv is verified, and on the scheduler after its Dask service is up
    expect(phasesOf(STUDENT)).toEqual(['apt', 'apt-tools', 'venv', 'pip', 'profile', 'trainer-key', 'verify', 'jupyter']);
    expect(phasesOf(scheduler)).toEqual(['apt', 'apt-tools', 'venv', 'pip', 'profile', 'trainer-key', 'verify', 'dask', 'jupyter', 'cluster']);
    // AND the venv's packages include JupyterLab's, which the verify phase checks like the others
    expect(readable(STUDENT)).toMatch(/^DASKLAB_PIP_PACKAGES=\('numpy' 'dask\[complete\]' 'jupyterlab'\)$/m);
  });

  test('a machine without JupyterLab has neither the phase nor its packages', () => {
    const params = { ...STUDENT, jupyter: false };
    expect(phasesOf(params)).not.toContain('jupyter');
    expect(withoutVersionSets(readable(params))).not.toMatch(/jupyter/i);
  });

  test('JupyterLab listens on loopback only, as the login user, from the venv, with the course folder as root, restarted on failure', () => {
    // GIVEN the unit the bootstrap installs
    const unit = jupyterUnit(readable({ ...STUDENT, user: 'ubuntu' }));
    // THEN it runs JupyterLab from the venv as the login user
    expect(unit).toMatch(/^User=ubuntu$/m);
    expect(unit).toMatch(/^ExecStart=\/opt\/dask\/venv\/bin\/jupyter lab /m);
    // AND it listens on 127.0.0.1 only, on its port, and fails rather than moving to another port
    expect(unit).toMatch(/ --ServerApp\.ip=127\.0\.0\.1( |$)/m);
    expect(unit).toContain(`--ServerApp.port=${JUPYTER_PORT} `);
    expect(unit).toContain('--ServerApp.port_retries=0');
    expect(unit).toContain('--no-browser');
    // AND its root is the course folder in the user's home
    expect(unit).toMatch(/^WorkingDirectory=~$/m);
    expect(unit).toContain('--ServerApp.root_dir=course');
    // AND it restarts on failure, and never stops trying
    expect(unit).toMatch(/^Restart=always$/m);
    expect(unit).toMatch(/^StartLimitIntervalSec=0$/m);
    // AND its token comes from a file on the machine, and Client() finds the scheduler from another
    expect(unit).toMatch(/^EnvironmentFile=\/etc\/dasklab\/jupyter\.env$/m);
    expect(unit).toMatch(/^EnvironmentFile=-\/etc\/dasklab\/dask\.env$/m);
  });

  test('the user data holds no JupyterLab token: the machine makes its own', () => {
    // GIVEN the rendered user data of a machine with JupyterLab
    const script = readable(STUDENT);
    // THEN no assignment of a token value is in it; the token is generated at boot
    expect(script).not.toMatch(/JUPYTER_TOKEN=[A-Za-z0-9]/);
    expect(script).toMatch(/secrets\.token_hex/);
  });

  test('the bootstrap with JupyterLab is valid bash and shellcheck-clean', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dasklab-jupyter-'));
    const scheduler: BootstrapParameters = { ...STUDENT, role: 'scheduler', dask: { schedulerHost: '10.0.0.5', name: 'scheduler', expectedWorkerCount: 1, tls: { parameterPath: '/dasklab/x/cluster/tls' } } };
    for (const [name, text] of [['student.sh', readable(STUDENT)], ['scheduler.sh', readable(scheduler)]]) {
      const file = path.join(dir, name);
      fs.writeFileSync(file, text);
      execFileSync('bash', ['-n', file]);
      execFileSync('shellcheck', [file]);
    }
  });

  test('the largest TLS scheduler with JupyterLab stays within EC2s 16 KB of user data', () => {
    // GIVEN a TLS scheduler waiting for 100 workers, with JupyterLab, the signal URL a token
    const signalUrl = '${Token[TOKEN.123]}';
    const workers = Array.from({ length: 100 }, (_, i) => `worker-${i + 1}`);
    const script = renderBootstrap({
      ...STUDENT,
      role: 'scheduler',
      signalUrl,
      dask: { schedulerHost: '10.0.0.5', name: 'scheduler', expectedWorkerCount: workers.length, tls: { parameterPath: '/dasklab/x/cluster/tls' } },
    });
    // THEN it fits with room to spare (13.3 KB today)
    expect(userDataSize(script, signalUrl)).toBeLessThan(USER_DATA_LIMIT_BYTES - 1024);
  });
});

describe('packagesWithJupyter', () => {
  test.each([
    [['numpy', 'dask[complete]'], ['numpy', 'dask[complete]', ...JUPYTER_PACKAGES]],
    // A JupyterLab the user pins is kept, and not installed twice.
    [['numpy', 'jupyterlab==4.2.*'], ['numpy', 'jupyterlab==4.2.*']],
    [['numpy', 'JupyterLab>=4'], ['numpy', 'JupyterLab>=4']],
    // PEP 503 names: jupyter-lab is another project than jupyterlab.
    [['jupyter-lab'], ['jupyter-lab', ...JUPYTER_PACKAGES]],
  ])('%j becomes %j', (packages, expected) => {
    expect(packagesWithJupyter(packages)).toEqual(expected);
  });
});

describe('where JupyterLab runs', () => {
  test('in a lab with lab.jupyter, on every student machine', () => {
    const machines = machinesOf({ lab: { roster: ['alice', 'bob'], jupyter: true } });
    expect(machines).toHaveLength(2);
    for (const m of machines) expect(m.userData).toContain('phase_jupyter');
  });

  test('in a lab with workers, on each student\'s scheduler and on no worker', () => {
    const machines = machinesOf({ lab: { roster: ['alice', 'bob'], workersPerStudent: 1, jupyter: true } });
    expect(machines.filter((m) => m.userData.includes('phase_jupyter')).map((m) => `${m.student}:${m.role}`).sort()).toEqual([
      'alice:scheduler',
      'bob:scheduler',
    ]);
    for (const m of machines.filter((m) => m.role === 'worker')) expect(withoutVersionSets(m.userData)).not.toMatch(/jupyter/i);
  });

  test('a lab without lab.jupyter: on no machine', () => {
    for (const m of machinesOf({ lab: { roster: ['alice'] } })) expect(withoutVersionSets(m.userData)).not.toMatch(/jupyter/i);
  });

  test('a cluster: only when cluster.jupyter is true, and then on the scheduler', () => {
    for (const m of machinesOf({ cluster: { workers: 1 } })) expect(withoutVersionSets(m.userData)).not.toMatch(/jupyter/i);
    const machines = machinesOf({ cluster: { workers: 1, jupyter: true } });
    expect(machines.filter((m) => m.userData.includes('phase_jupyter')).map((m) => m.role)).toEqual(['scheduler']);
  });

  test('a standalone machine has no JupyterLab', () => {
    for (const m of machinesOf({})) expect(withoutVersionSets(m.userData)).not.toMatch(/jupyter/i);
  });

  test('the config defaults: off in a lab and in a cluster', () => {
    expect(configOf({ lab: { roster: ['alice'] } }).lab!.jupyter).toBe(false);
    expect(configOf({ cluster: {} }).cluster!.jupyter).toBe(false);
  });

  test.each([
    [{ lab: { roster: ['alice'], jupyter: 'yes' } }, /lab\.jupyter.*"yes".*true or false/],
    [{ cluster: { jupyter: 1 } }, /cluster\.jupyter.*1.*true or false/],
  ])('a jupyter setting that is not a boolean is refused, naming the field and the value', (input, message) => {
    expect(() => validateConfig(input, 'test')).toThrow(message);
  });
});
