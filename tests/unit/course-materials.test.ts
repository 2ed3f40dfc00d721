/**
 * Course materials in the templates and the bootstrap: one CDK asset for the
 * class in the lab's shared stack, read by the lab machines' role (that one
 * object only), named by bucket and key in the user data of each student's
 * machine (their scheduler when they have workers), the course's packages on
 * every machine of the student, and no new export.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { addDasklabStacks } from '../../lib/app';
import {
  BootstrapParameters,
  phasesOf,
  renderBootstrap,
  renderBootstrapSource,
  USER_DATA_LIMIT_BYTES,
  userDataSize,
} from '../../lib/bootstrap/bootstrap-user-data';
import { DasklabConfigInput } from '../../lib/config/schema';
import { MATERIALS_FIXTURE } from './stack-shapes';
import { configOf, synthApp, TEST_CONFIG_DIR, userDataOf } from './support';

const LAB: DasklabConfigInput = { lab: { roster: ['alice', 'bob'], jupyter: true, materials: MATERIALS_FIXTURE } };
const LAB_WITH_WORKERS: DasklabConfigInput = { lab: { ...LAB.lab!, workersPerStudent: 1 } };

/** The asset's object key as the CDK names it: the hash of the folder's content. */
const KEY_PATTERN = /^[0-9a-f]{64}\.zip$/;

/** Every machine of an app, with its stack, role and student tags and decoded user data. */
function machinesOf(stacks: Map<string, Stack>): Array<{ stack: string; role: string; student: string; userData: string }> {
  return [...stacks.entries()].flatMap(([name, stack]) =>
    Object.values(Template.fromStack(stack).findResources('AWS::EC2::Instance')).map((r: any) => ({
      stack: name,
      role: r.Properties.Tags.find((t: any) => t.Key === 'dasklab:role')?.Value,
      student: r.Properties.Tags.find((t: any) => t.Key === 'dasklab:student')?.Value,
      userData: userDataOf(r),
    })),
  );
}

/** The directory assets every stack of an app publishes (from its assets manifest), by stack, but Lambda functions' code. */
function fileAssetsOf(input: DasklabConfigInput): Map<string, Array<{ packaging?: string; path: string; objectKey: string; bucketName: string }>> {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'dasklab-materials-synth-'));
  const app = new App({ outdir, context: { 'aws:cdk:bundling-stacks': [] } });
  addDasklabStacks(app, configOf(input));
  const assembly = app.synth();
  const result = new Map<string, any[]>();
  for (const stack of assembly.stacks) {
    const manifest = JSON.parse(fs.readFileSync(path.join(outdir, `${stack.stackName}.assets.json`), 'utf8'));
    result.set(
      stack.stackName,
      Object.values<any>(manifest.files ?? {})
        .filter((f) => f.source.packaging === 'zip' && !/\/Function\/Code$/.test(f.displayName ?? ''))
        .map((f) => ({ packaging: f.source.packaging, path: path.join(outdir, f.source.path), ...(Object.values<any>(f.destinations)[0] as any) })),
    );
  }
  return result;
}

describe('the materials asset', () => {
  test('one asset for the whole class, in the shared stack: the folder, zipped by the deploy', () => {
    // GIVEN a lab of two students with materials
    // WHEN it is synthesized
    const assets = fileAssetsOf(LAB);
    // THEN the shared stack publishes one zip asset, and no student stack one of its own
    const shared = assets.get('dasklab-Lab-Shared')!;
    expect(shared).toHaveLength(1);
    const [materials] = shared;
    expect(materials.objectKey).toMatch(KEY_PATTERN);
    expect(materials.bucketName).toBe('cdk-hnb659fds-assets-${AWS::AccountId}-${AWS::Region}');
    for (const [name, files] of assets) if (name !== 'dasklab-Lab-Shared') expect(`${name}: ${files.length}`).toBe(`${name}: 0`);
    // AND the staged folder is the course's files, without editor leftovers
    expect(fs.readdirSync(materials.path).sort()).toEqual(['data', 'requirements.txt', 'welcome.ipynb']);
  });

  test('editor and tool leftovers are not shipped', () => {
    // GIVEN materials with a repository's history and notebook checkpoints
    const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'dasklab-materials-leftovers-'));
    for (const file of ['intro.ipynb', '.git/HEAD', '.ipynb_checkpoints/intro-checkpoint.ipynb', 'lib/__pycache__/x.pyc', '.DS_Store']) {
      fs.mkdirSync(path.dirname(path.join(folder, file)), { recursive: true });
      fs.writeFileSync(path.join(folder, file), 'x');
    }
    // WHEN synthesized
    const [asset] = fileAssetsOf({ lab: { roster: ['alice'], materials: folder } }).get('dasklab-Lab-Shared')!;
    // THEN only the notebook and the (then empty) folder are staged
    const staged: string[] = [];
    const walk = (dir: string): void => fs.readdirSync(dir, { withFileTypes: true }).forEach((e) => (e.isDirectory() ? walk(path.join(dir, e.name)) : staged.push(path.relative(asset.path, path.join(dir, e.name)))));
    walk(asset.path);
    expect(staged).toEqual(['intro.ipynb']);
  });

  test('a lab without materials has no asset, no materials phase and no S3 permission', () => {
    const stacks = synthApp({ lab: { roster: ['alice'], jupyter: true } });
    expect(JSON.stringify(Template.fromStack(stacks.get('dasklab-Lab-Shared')!).toJSON())).not.toMatch(/s3:|ReadCourseMaterials/);
    for (const m of machinesOf(stacks)) expect(m.userData).not.toMatch(/MATERIALS|phase_materials/);
  });
});

describe('the lab machines\' role', () => {
  test('may get the materials\' object, and only it: no other key, no listing, no writing', () => {
    // GIVEN a lab with materials
    const template = Template.fromStack(synthApp(LAB).get('dasklab-Lab-Shared')!);
    // WHEN the shared role's statements are read
    const statements = Object.values<any>(template.findResources('AWS::IAM::Policy')).flatMap((p) => p.Properties.PolicyDocument.Statement);
    const s3 = statements.filter((s) => [s.Action].flat().some((a: string) => a.startsWith('s3:')));
    // THEN one statement grants s3:GetObject on the asset's bucket and key
    expect(s3).toHaveLength(1);
    expect(s3[0]).toEqual({
      Sid: 'ReadCourseMaterials',
      Effect: 'Allow',
      Action: 's3:GetObject',
      Resource: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':s3:::', { 'Fn::Sub': 'cdk-hnb659fds-assets-${AWS::AccountId}-${AWS::Region}' }, expect.stringMatching(/^\/[0-9a-f]{64}\.zip$/)]] },
    });
  });
});

describe('the student stacks', () => {
  test('each student\'s machine names the asset\'s bucket and key in its user data, and runs the materials phase', () => {
    const stacks = synthApp(LAB);
    const machines = machinesOf(stacks);
    expect(machines.map((m) => m.student).sort()).toEqual(['alice', 'bob']);
    for (const m of machines) {
      expect(m.userData).toMatch(/^DASKLAB_MATERIALS_BUCKET='\{"Fn::Sub":"cdk-hnb659fds-assets-\$\{AWS::AccountId\}-\$\{AWS::Region\}"\}'$/m);
      expect(m.userData).toMatch(/^DASKLAB_MATERIALS_KEY='[0-9a-f]{64}\.zip'$/m);
      expect(m.userData).toContain('phase_materials()');
      // The course's packages join the configured ones, JupyterLab's after them.
      expect(m.userData).toMatch(/^DASKLAB_PIP_PACKAGES=\('numpy' 'dask\[complete\]' 'requests' 'jupyterlab'\)$/m);
    }
  });

  test('with workers: the files go to the student\'s scheduler, the course\'s packages to every machine of the student', () => {
    const machines = machinesOf(synthApp(LAB_WITH_WORKERS));
    expect(machines.filter((m) => m.userData.includes('phase_materials()')).map((m) => `${m.student}:${m.role}`).sort()).toEqual(['alice:scheduler', 'bob:scheduler']);
    for (const m of machines.filter((x) => x.role === 'worker')) {
      expect(m.userData).not.toMatch(/MATERIALS/);
      expect(m.userData).toMatch(/^DASKLAB_PIP_PACKAGES=\('numpy' 'dask\[complete\]' 'requests'\)$/m);
    }
  });

  test('the materials add no export and no import: the shared stack\'s exports are those of a lab without them', () => {
    const exportsOf = (input: DasklabConfigInput) => {
      const stacks = synthApp(input);
      const shared = Template.fromStack(stacks.get('dasklab-Lab-Shared')!).toJSON();
      const imports = [...stacks.values()].map((s) => JSON.stringify(Template.fromStack(s).toJSON()).match(/Fn::ImportValue/g)?.length ?? 0);
      return { exports: Object.values<any>(shared.Outputs ?? {}).map((o) => o.Export?.Name).sort(), imports };
    };
    expect(exportsOf(LAB_WITH_WORKERS)).toEqual(exportsOf({ lab: { ...LAB_WITH_WORKERS.lab!, materials: null } }));
  });

  test('new content is a new key: the students\' user data changes (their machines restart and add the new files)', () => {
    const copy = fs.mkdtempSync(path.join(os.tmpdir(), 'dasklab-materials-v2-'));
    fs.cpSync(path.join(TEST_CONFIG_DIR, MATERIALS_FIXTURE), copy, { recursive: true });
    fs.writeFileSync(path.join(copy, 'exercises.ipynb'), '{}');
    const keyOf = (materials: string) => /^DASKLAB_MATERIALS_KEY='([0-9a-f]{64}\.zip)'$/m.exec(machinesOf(synthApp({ lab: { roster: ['alice'], materials } }))[0].userData)![1];
    expect(keyOf(copy)).not.toBe(keyOf(MATERIALS_FIXTURE));
    expect(keyOf(MATERIALS_FIXTURE)).toBe(keyOf(MATERIALS_FIXTURE));
  });
});

describe('the materials phase in the bootstrap', () => {
  const STUDENT: BootstrapParameters = {
    app: 'course',
    role: 'student',
    pythonVersion: '3.12',
    packages: ['numpy', 'dask[complete]'],
    venv: '/opt/dask/venv',
    jupyter: true,
    materials: { bucket: 'cdk-hnb659fds-assets-111122223333-eu-west-1', key: `${'a'.repeat(64)}.zip` },
  };
  const SCHEDULER: BootstrapParameters = { ...STUDENT, role: 'scheduler', dask: { schedulerHost: '127.0.0.1', name: 'scheduler', expectedWorkerCount: 1 } };
  const readable = (params: BootstrapParameters) => {
    const { parameters, body } = renderBootstrapSource(params);
    return `#!/bin/bash\n${parameters}\n${body}`;
  };

  test('runs once the venv is verified and before JupyterLab starts with the course folder as its root', () => {
    expect(phasesOf(STUDENT)).toEqual(['apt', 'apt-tools', 'venv', 'pip', 'profile', 'trainer-key', 'verify', 'materials', 'jupyter']);
    expect(phasesOf(SCHEDULER)).toEqual(['apt', 'apt-tools', 'venv', 'pip', 'profile', 'trainer-key', 'verify', 'materials', 'dask', 'jupyter', 'cluster']);
  });

  test('the user data holds the object\'s location and no credential; the course folder is JupyterLab\'s root', () => {
    const script = readable(STUDENT);
    expect(script).toMatch(/^DASKLAB_MATERIALS_BUCKET='cdk-hnb659fds-assets-111122223333-eu-west-1'$/m);
    expect(script).toMatch(new RegExp(`^DASKLAB_MATERIALS_KEY='${'a'.repeat(64)}\\.zip'$`, 'm'));
    expect(script).not.toMatch(/AWS_SECRET_ACCESS_KEY|AWS_SESSION_TOKEN|X-Amz-Signature/);
    expect(script).toContain('/course"');
  });

  test('the bootstrap with materials is valid bash and shellcheck-clean', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dasklab-materials-sh-'));
    for (const [name, text] of [['student.sh', readable(STUDENT)], ['scheduler.sh', readable(SCHEDULER)]]) {
      const file = path.join(dir, name);
      fs.writeFileSync(file, text);
      execFileSync('bash', ['-n', file]);
      execFileSync('shellcheck', [file]);
    }
  });

  test('the largest lab scheduler with materials stays within EC2s 16 KB of user data', () => {
    // GIVEN a lab scheduler with every optional phase a lab machine can have: 8 workers, JupyterLab,
    // materials (the bucket a token), idle stop, a trainer key, a proxy and a CodeArtifact
    // repository, the signal URL a token
    const signalUrl = '${Token[TOKEN.123]}';
    const script = renderBootstrap({
      ...SCHEDULER,
      materials: { bucket: '${Token[TOKEN.456]}', key: `${'a'.repeat(64)}.zip` },
      dask: { schedulerHost: '127.0.0.1', name: 'scheduler', expectedWorkerCount: 8 },
      idleStopMinutes: 60,
      trainerPublicKey: `ssh-ed25519 ${'A'.repeat(68)} trainer@laptop`,
      network: { proxyUrl: 'http://proxy.corp.example:3128', noProxy: ['169.254.169.254', 'localhost', '127.0.0.1', '.amazonaws.com'] },
      codeArtifact: { domain: 'acme', repository: 'pypi-store', domainOwner: '444455556666', region: 'eu-central-1' },
      signalUrl,
    });
    // THEN it fits (15,426 bytes today, of which the materials phase and its parameters take 742;
    // 0.9 KB to spare for python.packages, whose excess is refused at synth)
    expect(userDataSize(script, signalUrl)).toBeLessThanOrEqual(USER_DATA_LIMIT_BYTES);
  });
});
