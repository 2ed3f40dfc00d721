/**
 * machine.bake: the app's image, built by EC2 Image Builder from the
 * bootstrap's own install phases, and the launch templates that boot from it.
 * What the build does on a machine is proven by the twin
 * (tests/twin/baked.twin.test.ts); here, the templates and the build's script.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Template } from 'aws-cdk-lib/assertions';
import * as yaml from 'js-yaml';
import { renderBootstrap, renderBootstrapSource, USERDATA_DIR } from '../../lib/bootstrap/bootstrap-user-data';
import { DasklabConfigInput } from '../../lib/config/schema';
import { COMPONENT_DATA_LIMIT, IMAGE_BUILD_DIR, imageComponentDocument } from '../../lib/image/image-component';
import { imageBootstrapOf, imageDefinitionOf } from '../../lib/image/image-definition';
import { imageBuildNotice } from '../../lib/image/image-build-notice';
import { expectOneProblem } from './config-errors';
import { MATERIALS_FIXTURE, TRAINER_KEY } from './stack-shapes';
import { synthApp } from './support';
import { PRIVATE_NETWORK, PUBLIC_NETWORK, ROUTED_NETWORK } from './network-fixtures';

/** Every stack's template of an app, by stack name. */
function templatesOf(input: DasklabConfigInput): Map<string, Template> {
  return new Map([...synthApp(input)].map(([name, stack]) => [name, Template.fromStack(stack)]));
}

function resourcesOf(template: Template, type: string): any[] {
  return Object.values(template.findResources(type));
}

/** The build step's script of a component document. */
function buildScriptOf(document: string): string {
  const parsed: any = yaml.load(document);
  const build = parsed.phases.find((phase: any) => phase.name === 'build');
  expect(build.steps).toHaveLength(1);
  expect(build.steps[0].action).toBe('ExecuteBash');
  return build.steps[0].inputs.commands.join('\n');
}

/** The default config's package settings, as a machine's bootstrap takes them. */
const IMAGE_PARAMS = { app: 'dasklab', pythonVersion: '3.12', packages: ['numpy', 'dask[complete]'], venv: '/opt/dask/venv' };

/** The image digest of a config's standalone machine. */
function digestOf(input: DasklabConfigInput): string {
  const [component] = resourcesOf(templatesOf(input).get('dasklab-Machine')!, 'AWS::ImageBuilder::Component');
  return component.Properties.Name;
}

describe('baked image: a standalone machine', () => {
  // GIVEN machine.bake
  const template = templatesOf({ machine: { bake: true } }).get('dasklab-Machine')!;

  test('without machine.bake, no Image Builder resource and Canonical\'s image', () => {
    const plain = templatesOf({}).get('dasklab-Machine')!;
    for (const type of ['AWS::ImageBuilder::Component', 'AWS::ImageBuilder::ImageRecipe', 'AWS::ImageBuilder::Image']) {
      expect(resourcesOf(plain, type)).toHaveLength(0);
    }
    const [launchTemplate] = resourcesOf(plain, 'AWS::EC2::LaunchTemplate');
    expect(launchTemplate.Properties.LaunchTemplateData.ImageId).toBe('resolve:ssm:/aws/service/canonical/ubuntu/server/24.04/stable/current/amd64/hvm/ebs-gp3/ami-id');
  });

  test('the launch template boots from the image\'s AMI parameter, made before it', () => {
    // THEN one image, its id in an aws:ec2:image parameter named by the image's digest
    const parameters = template.findResources('AWS::SSM::Parameter', { Properties: { DataType: 'aws:ec2:image' } });
    expect(Object.keys(parameters)).toHaveLength(1);
    const [[parameterId, parameter]] = Object.entries<any>(parameters);
    const [imageId] = Object.keys(template.findResources('AWS::ImageBuilder::Image'));
    expect(parameter.Properties.Value).toEqual({ 'Fn::GetAtt': [imageId, 'ImageId'] });
    expect(parameter.Properties.Name).toMatch(/^\/dasklab\/dasklab\/image\/amd64-[0-9a-f]{12}$/);
    // AND the launch template names it, and waits for it
    const [launchTemplate] = resourcesOf(template, 'AWS::EC2::LaunchTemplate');
    expect(launchTemplate.Properties.LaunchTemplateData.ImageId).toBe(`resolve:ssm:${parameter.Properties.Name}`);
    expect(launchTemplate.DependsOn).toContain(parameterId);
    // AND the machines' instance profile does not: its two minutes of IAM propagation pass during the build
    for (const profile of Object.values<any>(template.findResources('AWS::IAM::InstanceProfile'))) {
      expect(profile.DependsOn ?? []).not.toContain(parameterId);
    }
  });

  test('the recipe: Canonical\'s Ubuntu, the one component, an encrypted gp3 root of the machines\' size', () => {
    const [recipe] = resourcesOf(template, 'AWS::ImageBuilder::ImageRecipe');
    const [componentId] = Object.keys(template.findResources('AWS::ImageBuilder::Component'));
    expect(recipe.Properties).toMatchObject({
      ParentImage: 'ssm:/aws/service/canonical/ubuntu/server/24.04/stable/current/amd64/hvm/ebs-gp3/ami-id',
      Components: [{ ComponentArn: { 'Fn::GetAtt': [componentId, 'Arn'] } }],
      BlockDeviceMappings: [{ DeviceName: '/dev/sda1', Ebs: { Encrypted: true, VolumeType: 'gp3', VolumeSize: 30, DeleteOnTermination: true } }],
    });
  });

  test('the build: IMDSv2, ended on failure, no image test instance, the AMI and snapshots deleted with the image', () => {
    const [infrastructure] = resourcesOf(template, 'AWS::ImageBuilder::InfrastructureConfiguration');
    expect(infrastructure.Properties).toMatchObject({
      InstanceTypes: ['t3.medium'],
      TerminateInstanceOnFailure: true,
      InstanceMetadataOptions: { HttpTokens: 'required', HttpPutResponseHopLimit: 1 },
    });
    const [image] = resourcesOf(template, 'AWS::ImageBuilder::Image');
    expect(image.Properties.ImageTestsConfiguration).toEqual({ ImageTestsEnabled: false });
    expect(image.Properties.EnhancedImageMetadataEnabled).toBe(false);
    const deletionRoleId = image.Properties.DeletionSettings.ExecutionRole['Fn::GetAtt'][0];
    const deletionRole = template.toJSON().Resources[deletionRoleId];
    expect(deletionRole.Properties.AssumeRolePolicyDocument.Statement).toEqual([
      { Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: 'imagebuilder.amazonaws.com' } },
    ]);
    expect(image.DeletionPolicy ?? 'Delete').toBe('Delete');
  });

  test('the build instance reaches out on HTTP and HTTPS only, and nothing reaches it', () => {
    const [infrastructure] = resourcesOf(template, 'AWS::ImageBuilder::InfrastructureConfiguration');
    const groupId = infrastructure.Properties.SecurityGroupIds[0]['Fn::GetAtt'][0];
    const group = template.toJSON().Resources[groupId];
    expect(group.Properties.SecurityGroupIngress).toBeUndefined();
    expect(group.Properties.SecurityGroupEgress.map((rule: any) => [rule.IpProtocol, rule.FromPort, rule.CidrIp]).sort()).toEqual([
      ['tcp', 443, '0.0.0.0/0'],
      ['tcp', 80, '0.0.0.0/0'],
    ]);
  });

  test('the build log goes to a log group of the stack, the only one the build may write', () => {
    const [recipe] = resourcesOf(template, 'AWS::ImageBuilder::ImageRecipe');
    const [logGroup] = resourcesOf(template, 'AWS::Logs::LogGroup').filter((g) => String(g.Properties.LogGroupName).startsWith('/aws/imagebuilder/'));
    expect(logGroup.Properties.LogGroupName).toBe(`/aws/imagebuilder/${recipe.Properties.Name}`);
    expect(logGroup.DeletionPolicy).toBe('Delete');
  });

  test('the component runs the machines\' own bootstrap with its bake command', () => {
    // GIVEN the component's document, as Image Builder parses it
    const [component] = resourcesOf(template, 'AWS::ImageBuilder::Component');
    expect(component.Properties).toMatchObject({ Platform: 'Linux', Version: '1.0.0' });
    const script = buildScriptOf(component.Properties.Data);
    // THEN the script is valid bash that writes the bootstrap and runs `bake`
    expect(spawnSync('bash', ['-n'], { input: script }).status).toBe(0);
    expect(script).toContain(`bash ${IMAGE_BUILD_DIR}/bootstrap.sh bake`);
    // AND only the image's bootstrap carries the bake command: the machines' user data keeps its room
    expect(renderBootstrapSource({ ...IMAGE_PARAMS, role: 'standalone', imageBuild: true }).body).toContain('command_bake()');
    expect(renderBootstrapSource({ ...IMAGE_PARAMS, role: 'standalone' }).body).not.toContain('bake_image');
    // AND the bootstrap it writes is the one a machine of the config renders, byte for byte
    const bootstrap = renderBootstrap({ ...imageBootstrapOf(IMAGE_PARAMS, false), role: 'standalone', imageBuild: true });
    expect(script).toContain(`\n${bootstrap.replace(/\n$/, '')}\n`);
  });
});

describe('baked image: rebuilt exactly when what goes into it changes', () => {
  const base = digestOf({ machine: { bake: true } });

  test.each<[string, DasklabConfigInput]>([
    ['python.packages', { machine: { bake: true }, python: { packages: ['numpy', 'dask[complete]', 'pandas'] } }],
    ['python.indexUrl', { machine: { bake: true }, python: { indexUrl: 'https://pypi.example.org/simple/' } }],
    ['python.venv', { machine: { bake: true }, python: { venv: '/opt/course/venv' } }],
    ['machine.diskGiB', { machine: { bake: true, diskGiB: 60 } }],
  ])('%s: a new image', (_field, input) => {
    expect(digestOf(input)).not.toBe(base);
  });

  test.each<[string, DasklabConfigInput]>([
    ['access.sshCidrs', { machine: { bake: true }, access: { sshCidrs: ['203.0.113.0/24'] } }],
    ['machine.readyTimeoutMinutes', { machine: { bake: true, readyTimeoutMinutes: 60 } }],
    ['machine.instanceType of the same architecture', { machine: { bake: true, instanceType: 't3.xlarge' } }],
  ])('%s: the same image', (_field, input) => {
    expect(digestOf(input)).toBe(base);
  });

  test('a lab\'s trainer key, idle stop and schedule leave the image alone', () => {
    const imageOf = (lab: DasklabConfigInput['lab']) =>
      resourcesOf(templatesOf({ machine: { bake: true }, lab }).get('dasklab-Lab-Shared')!, 'AWS::ImageBuilder::Component')[0].Properties.Name;
    const plain = imageOf({ roster: ['alice'] });
    expect(imageOf({ roster: ['alice'], trainerPublicKey: TRAINER_KEY, idleStopMinutes: 15, schedule: { stop: '18:00', timezone: 'UTC' } })).toBe(plain);
    expect(imageOf({ roster: ['alice', 'bob'] })).toBe(plain);
    expect(imageOf({ roster: ['alice'], jupyter: true })).not.toBe(plain);
  });
});

describe('baked image: synth says when the next deploy builds one', () => {
  const templates = (input: DasklabConfigInput) => new Map([...synthApp(input)].map(([name, stack]) => [name, Template.fromStack(stack).toJSON()]));
  const baked = templates({ machine: { bake: true } });

  test('the first synth with machine.bake, and a change of what goes into the image, name the image built', () => {
    expect(imageBuildNotice(new Map(), baked)).toMatch(/^dasklab: the next deploy BUILDS 1 machine image \(machine\.bake; the last synth in cdk\.out had no image\)[^\n]*15 to 45 minutes more\.\n  dasklab-dasklab-amd64-[0-9a-f]{12}$/);
    const changed = templates({ machine: { bake: true }, python: { packages: ['numpy', 'dask[complete]', 'pandas'] } });
    expect(imageBuildNotice(baked, changed)).toContain('what goes into it differs from the last synth in cdk.out');
  });

  test('a synth that keeps the image, or bakes nothing, says nothing', () => {
    expect(imageBuildNotice(baked, templates({ machine: { bake: true }, access: { sshCidrs: ['203.0.113.0/24'] } }))).toBeUndefined();
    expect(imageBuildNotice(new Map(), templates({}))).toBeUndefined();
  });
});

describe('baked image: clusters and labs', () => {
  test('a cluster with workers of another architecture: one image per architecture, with JupyterLab\'s packages', () => {
    const template = templatesOf({ machine: { bake: true }, cluster: { workers: 2, jupyter: true, workerInstanceType: 'm7g.large' } }).get('dasklab-Cluster')!;
    const recipes = resourcesOf(template, 'AWS::ImageBuilder::ImageRecipe');
    expect(recipes.map((r) => r.Properties.ParentImage).sort()).toEqual([
      'ssm:/aws/service/canonical/ubuntu/server/24.04/stable/current/amd64/hvm/ebs-gp3/ami-id',
      'ssm:/aws/service/canonical/ubuntu/server/24.04/stable/current/arm64/hvm/ebs-gp3/ami-id',
    ]);
    const infrastructure = resourcesOf(template, 'AWS::ImageBuilder::InfrastructureConfiguration').map((i) => i.Properties.InstanceTypes[0]).sort();
    expect(infrastructure).toEqual(['m7g.large', 't3.medium']);
    for (const component of resourcesOf(template, 'AWS::ImageBuilder::Component')) {
      expect(component.Properties.Data).toContain('jupyterlab');
    }
    // AND every launch template names its architecture's image
    const names = resourcesOf(template, 'AWS::SSM::Parameter').map((p) => p.Properties.Name).filter((n) => n.includes('/image/'));
    const imageIds = resourcesOf(template, 'AWS::EC2::LaunchTemplate').map((lt) => lt.Properties.LaunchTemplateData.ImageId);
    for (const id of imageIds) expect(names.map((n) => `resolve:ssm:${n}`)).toContain(id);
    expect(new Set(imageIds).size).toBe(2);
  });

  test('a lab: the shared stack builds the image once; every student stack names it, without an import', () => {
    const stacks = templatesOf({ machine: { bake: true }, lab: { roster: ['alice', 'bob', 'carol'], workersPerStudent: 1, jupyter: true, materials: MATERIALS_FIXTURE } });
    const shared = stacks.get('dasklab-Lab-Shared')!;
    const [parameter] = resourcesOf(shared, 'AWS::SSM::Parameter').filter((p) => p.Properties.DataType === 'aws:ec2:image');
    let launchTemplates = 0;
    for (const [name, template] of stacks) {
      if (name === 'dasklab-Lab-Shared') continue;
      expect(resourcesOf(template, 'AWS::ImageBuilder::Image')).toHaveLength(0);
      for (const launchTemplate of resourcesOf(template, 'AWS::EC2::LaunchTemplate')) {
        expect(launchTemplate.Properties.LaunchTemplateData.ImageId).toBe(`resolve:ssm:${parameter.Properties.Name}`);
        launchTemplates++;
      }
    }
    expect(launchTemplates).toBeGreaterThan(0);
    // AND the image holds the course's own requirements
    expect(resourcesOf(shared, 'AWS::ImageBuilder::Component')[0].Properties.Data).toContain('requests');
  });
});

describe('baked image: in an existing network', () => {
  test('the build goes to a private subnet (one that reaches out without a public IP of its own), after the endpoints', () => {
    // GIVEN a public and a private subnet, and endpoints dasklab makes
    const network = { ...ROUTED_NETWORK, subnets: [{ ...ROUTED_NETWORK.subnets[0], public: true }, ROUTED_NETWORK.subnets[1]], endpoints: 'create' as const };
    const template = templatesOf({ machine: { bake: true }, network }).get('dasklab-Machine')!;
    // THEN the build runs in the private one
    const [infrastructure] = resourcesOf(template, 'AWS::ImageBuilder::InfrastructureConfiguration');
    expect(infrastructure.Properties.SubnetId).toBe(ROUTED_NETWORK.subnets[1].id);
    // AND the image waits for the interface endpoints, as the machines do
    const [image] = resourcesOf(template, 'AWS::ImageBuilder::Image');
    const endpoints = Object.keys(template.findResources('AWS::EC2::VPCEndpoint'));
    expect(endpoints.length).toBeGreaterThan(0);
    for (const endpoint of endpoints) expect(image.DependsOn).toContain(endpoint);
  });

  test('machine.bake where every subnet is public is refused, naming why', () => {
    expectOneProblem({ machine: { bake: true }, network: PUBLIC_NETWORK }, 'machine.bake', 'every subnet of network.subnets is public', 'NAT gateway');
  });

  test('the build instance and the AMI carry the app\'s tag, which the stack\'s tags do not reach', () => {
    const template = templatesOf({ machine: { bake: true } }).get('dasklab-Machine')!;
    expect(resourcesOf(template, 'AWS::ImageBuilder::InfrastructureConfiguration')[0].Properties.ResourceTags).toEqual({ 'dasklab:app': 'dasklab' });
    expect(resourcesOf(template, 'AWS::ImageBuilder::ImageRecipe')[0].Properties.AmiTags).toEqual({ 'dasklab:app': 'dasklab' });
  });
});

describe('baked image: limits and refusals', () => {
  test('machine.bake with network.proxy is refused, naming why', () => {
    expectOneProblem(
      { machine: { bake: true }, network: { ...PRIVATE_NETWORK, proxy: 'http://proxy.corp.example:3128' } },
      'machine.bake',
      'expected false when network.proxy is set',
      'without a proxy',
    );
  });

  test('a component over Image Builder\'s inline limit is refused at synth, naming the limit', () => {
    expect(() => imageComponentDocument('echo packages\n'.repeat(COMPONENT_DATA_LIMIT / 10), 'big')).toThrow(
      new RegExp(`the image's build component is \\d+ characters; Image Builder accepts at most ${COMPONENT_DATA_LIMIT} inline`),
    );
    // AND the default package config is far from it
    expect(imageDefinitionOf({ app: 'dasklab', pythonVersion: '3.12', packages: ['numpy', 'dask[complete]'], venv: '/opt/dask/venv', jupyter: true }, { architecture: 'amd64', diskGiB: 30 }).document.length).toBeLessThan(COMPONENT_DATA_LIMIT * 0.8);
  });
});

describe('bootstrap bake_image', () => {
  /** The bootstrap's bake_image over stand-in phases; returns the phases run, image.json and the logs. */
  function bake(phases: string[]) {
    const script = ['bootstrap.sh', 'image-build.sh'].map((file) => fs.readFileSync(path.join(USERDATA_DIR, file), 'utf8')).join('\n');
    const fn = (name: string) => new RegExp(`^${name}\\(\\) \\{\\n[\\s\\S]*?^\\}\\n`, 'm').exec(script)![0];
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dasklab-bake-'));
    const events = path.join(dir, 'events');
    const stubs = phases.map((phase) => `phase_${phase.replace(/-/g, '_')}() { echo ${phase} >>'${events}'; }`);
    const program = [
      'set -Eeuo pipefail',
      `STATE_DIR='${dir}' LOG_DIR='${dir}' LOG_FILE='${dir}/bootstrap.log'`,
      'CURRENT_PHASE=start PHASE_TIMES=() VERSIONS_JSON={} STARTED_AT=2026-01-01T00:00:00Z SECONDS=0',
      ...script.split('\n').filter((line) => line.startsWith('readonly IMAGE_')),
      'DASKLAB_APP=demo',
      `DASKLAB_PHASES=(${phases.join(' ')})`,
      'DASKLAB_VERSION_SETS=(/dasklab/demo/python/abc/jupyter /dasklab/demo/python/abc/base) DASKLAB_VERSION_SET_OWN=1',
      `log() { echo "$*" >>'${dir}/bootstrap.log'; }`,
      `tag_instance() { echo "tagged $*" >>'${events}'; }`,
      // The build's own downloads, which the image need not carry: apt's archives and the login user's pip cache.
      `apt-get() { echo "apt-get $*" >>'${events}'; }`,
      'DASKLAB_USER=ubuntu',
      `getent() { [[ "$*" == "passwd ubuntu" ]] && echo "ubuntu:x:1000:1000::${dir}/home:/bin/bash"; }`,
      'flush_log() { :; }',
      ...stubs,
      fn('run_phase'),
      'tag_self() { tag_instance dasklab:bootstrap "$1"; }',
      'tag_self() { :; }',
      fn('bake_image'),
      'bake_image',
      'tag_self ready',
    ].join('\n');
    fs.mkdirSync(path.join(dir, 'home', '.cache', 'pip'), { recursive: true });
    const run = spawnSync('bash', ['-c', program], { encoding: 'utf8' });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    return {
      ran: fs.readFileSync(events, 'utf8').trim().split('\n'),
      image: JSON.parse(fs.readFileSync(path.join(dir, 'image.json'), 'utf8')),
      buildLog: fs.readFileSync(path.join(dir, 'image-build.log'), 'utf8'),
      machineLog: fs.existsSync(path.join(dir, 'bootstrap.log')),
      pipCache: fs.existsSync(path.join(dir, 'home', '.cache', 'pip')),
    };
  }

  test('runs the install phases only, in order, tags nothing, drops its downloads, and leaves the log of the build beside the machines\'', () => {
    // GIVEN a student machine's phases: WHEN the image build runs
    const result = bake(['network', 'apt', 'apt-tools', 'venv', 'pip', 'profile', 'trainer-key', 'verify', 'materials', 'jupyter', 'idle']);
    // THEN only what every machine installs alike runs, and no tag is set
    expect(result.ran).toEqual(['apt', 'apt-tools', 'venv', 'pip', 'profile', 'verify', 'apt-get clean']);
    expect(result.pipCache).toBe(false);
    // AND image.json names the set this image shares, and the build's log is apart from a machine's
    expect(result.image).toMatchObject({ versionSet: '/dasklab/demo/python/abc/base', buildStartedAt: '2026-01-01T00:00:00Z' });
    expect(result.buildLog).toContain('image ready in');
    expect(result.machineLog).toBe(false);
  });
});
