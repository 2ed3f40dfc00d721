/**
 * python.lockFile in the stacks: one asset per app in the stack that holds
 * the machines' role, named in every machine's user data with the sha256 of
 * the file synth checked, readable by the machines' and the image build's
 * roles (tests/unit/iam-roles.test.ts evaluates those grants), and part of
 * what names the version set and the baked image.
 */
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { addDasklabStacks } from '../../lib/app';
import { imageDefinitionOf } from '../../lib/image/image-definition';
import { versionSetPath } from '../../lib/machine/version-set';
import { LOCK_FILE_FIXTURE, MATERIALS_FIXTURE } from './stack-shapes';
import { configOf, synthApp, TEST_CONFIG_DIR, testApp } from './support';

const LOCK_SHA256 = createHash('sha256').update(fs.readFileSync(path.join(TEST_CONFIG_DIR, LOCK_FILE_FIXTURE))).digest('hex');

/** The file assets of each stack of an app, by stack name: their source paths. */
function fileAssetsOf(input: Parameters<typeof configOf>[0]): Map<string, string[]> {
  const app = testApp();
  addDasklabStacks(app, configOf(input));
  const assembly = app.synth();
  // The default synthesizer lists a stack's assets in <stack>.assets.json.
  return new Map(
    assembly.stacks.map((stack) => {
      const manifest = JSON.parse(fs.readFileSync(path.join(assembly.directory, `${stack.stackName}.assets.json`), 'utf8'));
      const files = Object.values(manifest.files ?? {}) as Array<{ source: { path: string; packaging?: string } }>;
      return [stack.stackName, files.filter((f) => (f.source.packaging ?? 'file') === 'file').map((f) => path.join(assembly.directory, f.source.path))];
    }),
  );
}

/** The rendered user data of every instance in a template, as JSON text (tokens and all). */
function userDataOf(template: Template): string[] {
  return Object.values(template.findResources('AWS::EC2::Instance')).map((r: any) => JSON.stringify(r.Properties.UserData));
}

describe('a machine with a lock file', () => {
  const input = { python: { lockFile: LOCK_FILE_FIXTURE } };
  const stacks = synthApp(input);
  const template = Template.fromStack(stacks.get('dasklab-Machine')!);

  test('the stack ships the lock file, byte for byte, as one file asset', () => {
    const [asset, ...others] = fileAssetsOf(input).get('dasklab-Machine')!.filter((a) => a.endsWith('.lock'));
    expect(others).toEqual([]);
    expect(fs.readFileSync(asset)).toEqual(fs.readFileSync(path.join(TEST_CONFIG_DIR, LOCK_FILE_FIXTURE)));
  });

  test('the user data names the object and the sha256 of the file synth checked', () => {
    const [userData] = userDataOf(template);
    expect(userData).toContain(`DASKLAB_PIP_LOCK_SHA256='${LOCK_SHA256}'`);
    expect(userData).toMatch(/DASKLAB_PIP_LOCK_KEY='[0-9a-f]{64}\.lock'/);
    expect(userData).toContain('DASKLAB_PIP_LOCK_BUCKET=\'",{"Fn::Sub":"cdk-hnb659fds-assets-${AWS::AccountId}-${AWS::Region}"}');
  });

  test('without a lock file, the user data names none', () => {
    const [userData] = userDataOf(Template.fromStack(synthApp({}).get('dasklab-Machine')!));
    expect(userData).not.toContain('DASKLAB_PIP_LOCK');
  });

  test('the machines\' role may read that object only', () => {
    const policies = Object.values(template.findResources('AWS::IAM::Policy')) as any[];
    const reads = policies.flatMap((p) => p.Properties.PolicyDocument.Statement).filter((s: any) => s.Sid === 'ReadPythonLockFile');
    expect(reads).toHaveLength(1);
    expect(reads[0].Action).toBe('s3:GetObject');
    expect(JSON.stringify(reads[0].Resource)).toMatch(/:s3:::",\{"Fn::Sub":"cdk-hnb659fds-assets-\$\{AWS::AccountId\}-\$\{AWS::Region\}"\},"\/[0-9a-f]{64}\.lock"/);
  });
});

describe('the version set of an app with a lock file', () => {
  const inputs = { pythonVersion: '3.12', packages: ['numpy', 'dask[complete]'] };

  test('a lock file names a set of its own; a new lock file another', () => {
    const unlocked = versionSetPath('dasklab', inputs);
    const locked = versionSetPath('dasklab', { ...inputs, lockFile: { sha256: LOCK_SHA256 } });
    const relocked = versionSetPath('dasklab', { ...inputs, lockFile: { sha256: '0'.repeat(64) } });
    expect(new Set([unlocked, locked, relocked]).size).toBe(3);
  });

  test('an app without a lock file keeps the set it had', () => {
    // The digest of the inputs as they were before lock files: the sets of deployed apps keep their names.
    const before = createHash('sha256').update(JSON.stringify(['3.12', null, null, inputs.packages, ['jupyterlab']])).digest('hex').slice(0, 12);
    expect(versionSetPath('dasklab', inputs)).toBe(`/dasklab/dasklab/python/${before}`);
  });
});

describe('a baked image with a lock file', () => {
  const params = { app: 'dasklab', pythonVersion: '3.12', packages: ['numpy', 'dask[complete]'], venv: '/opt/dask/venv', jupyter: false };
  const shape = { architecture: 'amd64' as const, diskGiB: 30 };
  const lockFile = { bucket: '${Token[TOKEN.101]}', key: `${'c'.repeat(64)}.lock`, sha256: LOCK_SHA256 };

  test('the image is named by the file\'s content, not by the text of the bucket\'s token', () => {
    const first = imageDefinitionOf({ ...params, lockFile }, shape);
    const sameFileOtherToken = imageDefinitionOf({ ...params, lockFile: { ...lockFile, bucket: '${Token[TOKEN.2345]}' } }, shape);
    const otherFile = imageDefinitionOf({ ...params, lockFile: { ...lockFile, key: `${'d'.repeat(64)}.lock`, sha256: '1'.repeat(64) } }, shape);
    expect(sameFileOtherToken.digest).toBe(first.digest);
    expect(otherFile.digest).not.toBe(first.digest);
    expect(imageDefinitionOf(params, shape).digest).not.toBe(first.digest);
  });

  test('the build installs the lock file: its role may read it, and the component\'s bootstrap names it', () => {
    const template = Template.fromStack(synthApp({ machine: { bake: true }, python: { lockFile: LOCK_FILE_FIXTURE } }).get('dasklab-Machine')!);
    const [buildRole] = Object.keys(template.findResources('AWS::IAM::Role')).filter((id) => id.includes('ImageBuildRole'));
    const buildPolicy = Object.values(template.findResources('AWS::IAM::Policy')).find((p: any) => p.Properties.Roles.some((r: any) => r.Ref === buildRole)) as any;
    expect(buildPolicy.Properties.PolicyDocument.Statement.map((s: any) => s.Sid)).toContain('ReadPythonLockFile');
    const [component] = Object.values(template.findResources('AWS::ImageBuilder::Component')) as any[];
    expect(JSON.stringify(component.Properties.Data)).toContain(`DASKLAB_PIP_LOCK_SHA256='${LOCK_SHA256}'`);
  });
});

describe('a lab with a lock file', () => {
  const input = { python: { lockFile: LOCK_FILE_FIXTURE }, lab: { roster: ['alice', 'bob'], jupyter: true, materials: MATERIALS_FIXTURE } };
  const stacks = synthApp(input);
  const assets = fileAssetsOf(input);

  test('the shared stack ships it once for the class; no student stack ships its own', () => {
    expect(assets.get('dasklab-Lab-Shared')!.filter((a) => a.endsWith('.lock'))).toHaveLength(1);
    for (const [name, files] of assets) {
      if (name !== 'dasklab-Lab-Shared') expect(files.filter((a) => a.endsWith('.lock'))).toEqual([]);
    }
  });

  test('every student\'s machine names it, with no export or import for it', () => {
    const students = [...stacks.values()].filter((s: Stack) => /-Lab-\d+$/.test(s.stackName)).map((s) => Template.fromStack(s));
    const userData = students.flatMap(userDataOf);
    expect(userData).toHaveLength(2);
    for (const text of userData) expect(text).toContain(`DASKLAB_PIP_LOCK_SHA256='${LOCK_SHA256}'`);
    const exports = Object.keys(Template.fromStack(stacks.get('dasklab-Lab-Shared')!).toJSON().Outputs ?? {});
    expect(exports.filter((name) => /Lock/i.test(name))).toEqual([]);
    for (const text of userData) expect(text).not.toMatch(/DASKLAB_PIP_LOCK_[A-Z]+='",\{"Fn::ImportValue"/);
  });
});
