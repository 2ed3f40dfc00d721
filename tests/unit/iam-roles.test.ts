/**
 * What every role of every stack shape may and may not do, by IAM's own
 * evaluation of its policies (iam-evaluation.ts): the machines', the spot
 * launcher's, the parameter cleanup function's, the lab schedule's and the
 * flow log's. Each denial is named, so a failure says which right leaked.
 */
import { clusterTlsParameterPath } from '../../lib/cluster/cluster-tls';
import { SESSION_MANAGER_ACTIONS } from '../../lib/machine/instance-role';
import { versionSetPath, versionSetRoot } from '../../lib/machine/version-set';
import { decide, IamDecision, IamRequest, instanceArn, parameterArn, SynthesizedApp, SynthesizedMachine, SynthesizedRole, TEST_ENV } from './iam-evaluation';
import { STACK_SHAPES, synthesizeShape } from './stack-shapes';
import { configOf } from './support';
import { DasklabConfig } from '../../lib/config/schema';

/** Another app in the same account, whose resources no role of this app may touch. */
const OTHER_APP = 'other-app';
const OTHER_APP_INSTANCE = instanceArn('i-0aaaaaaaaaaaaaaaa');
/** A key pair's private key, as EC2 keeps it in Parameter Store. */
const KEY_PAIR_PARAMETER = parameterArn('/ec2/keypair/key-0123456789abcdef0');
const FLOW_LOG_SERVICE = 'vpc-flow-logs.amazonaws.com';
/** The CDK's asset bucket in the test account and region: the course materials, and other apps' assets. */
const ASSET_BUCKET = `cdk-hnb659fds-assets-${TEST_ENV.account}-${TEST_ENV.region}`;
const s3Arn = (resource: string) => `arn:${TEST_ENV.partition}:s3:::${resource}`;
/** An asset of another app (a Lambda function's code, say) in the same bucket. */
const OTHER_ASSET = s3Arn(`${ASSET_BUCKET}/${'0'.repeat(64)}.zip`);

type RoleKind = 'machine' | 'image build' | 'image deletion' | 'spot launcher' | 'parameter cleanup' | 'lab schedule' | 'flow log';

/** What a role is for, from whom it trusts and where it sits. */
function kindOf(role: SynthesizedRole): RoleKind | undefined {
  if (role.service === 'ec2.amazonaws.com' && /Image(arm64)?BuildRole/.test(role.path)) return 'image build';
  if (role.service === 'ec2.amazonaws.com') return 'machine';
  if (role.service === 'imagebuilder.amazonaws.com' && /Image(arm64)?DeletionRole/.test(role.path)) return 'image deletion';
  if (role.service === 'scheduler.amazonaws.com') return 'lab schedule';
  if (role.service === FLOW_LOG_SERVICE) return 'flow log';
  if (role.service === 'lambda.amazonaws.com' && /SpotMachineLauncher/.test(role.path)) return 'spot launcher';
  if (role.service === 'lambda.amazonaws.com' && /(TlsParameters|VersionSet)\/?Cleaner/.test(role.path)) return 'parameter cleanup';
  return undefined;
}

/** One expectation: a named request and the decision IAM must reach. */
type Expectation = readonly [name: string, request: IamRequest, expected: IamDecision | 'Denied'];

/**
 * Every expectation's decision, as `{ name: decision }` next to what was
 * expected, so that a failure lists every leaked or missing right by name.
 */
async function check(role: SynthesizedRole, expectations: readonly Expectation[]): Promise<void> {
  const got: Record<string, string> = {};
  const want: Record<string, string> = {};
  for (const [name, request, expected] of expectations) {
    const decision = await decide(role, request);
    got[name] = expected === 'Denied' && decision !== 'Allowed' ? 'Denied' : decision;
    want[name] = expected;
  }
  expect({ role: role.path, decisions: got }).toEqual({ role: role.path, decisions: want });
}

/** What no role of the app may do, whatever it is for. */
function nobodyMay(name: string, instance: string): Expectation[] {
  return [
    ['read a key pair\'s private key (/ec2/keypair/*)', { action: 'ssm:GetParameter', resource: KEY_PAIR_PARAMETER }, 'Denied'],
    ['read key pairs\' private keys by name', { action: 'ssm:GetParameters', resource: KEY_PAIR_PARAMETER }, 'Denied'],
    [`read ${OTHER_APP}'s certificates`, { action: 'ssm:GetParameter', resource: parameterArn(`${clusterTlsParameterPath(OTHER_APP)}/client-key`) }, 'Denied'],
    [`write ${OTHER_APP}'s certificates`, { action: 'ssm:PutParameter', resource: parameterArn(`${clusterTlsParameterPath(OTHER_APP)}/ca-cert`) }, 'Denied'],
    [`stop ${OTHER_APP}'s instance`, { action: 'ec2:StopInstances', resource: OTHER_APP_INSTANCE, resourceTags: { 'dasklab:app': OTHER_APP } }, 'Denied'],
    [`tag ${OTHER_APP}'s instance`, { action: 'ec2:CreateTags', resource: OTHER_APP_INSTANCE, requestTags: { 'dasklab:bootstrap': 'ready' }, fromInstance: instance }, 'Denied'],
    ['terminate an instance of the app', { action: 'ec2:TerminateInstances', resource: instance, resourceTags: { 'dasklab:app': name } }, 'Denied'],
    ['pass a role of another app', { action: 'iam:PassRole', resource: `arn:${TEST_ENV.partition}:iam::${TEST_ENV.account}:role/${OTHER_APP}-role`, context: { 'iam:PassedToService': 'ec2.amazonaws.com' } }, 'Denied'],
    ['read another asset of the CDK\'s asset bucket', { action: 's3:GetObject', resource: OTHER_ASSET }, 'Denied'],
    ['list the CDK\'s asset bucket', { action: 's3:ListBucket', resource: s3Arn(ASSET_BUCKET) }, 'Denied'],
    ['write to the CDK\'s asset bucket', { action: 's3:PutObject', resource: OTHER_ASSET }, 'Denied'],
  ];
}

/**
 * The course materials' object that a machine's user data names
 * (DASKLAB_MATERIALS_BUCKET and _KEY), or undefined for a machine without materials.
 */
function materialsObjectOf(app: SynthesizedApp, machine: SynthesizedMachine): string | undefined {
  const userData = JSON.stringify(app.resource(machine).Properties.UserData ?? '');
  const key = /DASKLAB_MATERIALS_KEY='([^']+)'/.exec(userData);
  if (!key) return undefined;
  expect(userData).toContain('DASKLAB_MATERIALS_BUCKET=\'",{"Fn::Sub":"cdk-hnb659fds-assets-${AWS::AccountId}-${AWS::Region}"},"\'');
  return s3Arn(`${ASSET_BUCKET}/${key[1]}`);
}

/** The S3 object of the app's lock file that a machine's user data names, if any. */
function lockObjectOf(app: SynthesizedApp, machine: SynthesizedMachine): string | undefined {
  const userData = JSON.stringify(app.resource(machine).Properties.UserData ?? '');
  const key = /DASKLAB_PIP_LOCK_KEY='([^']+)'/.exec(userData);
  if (!key) return undefined;
  expect(userData).toContain('DASKLAB_PIP_LOCK_BUCKET=\'",{"Fn::Sub":"cdk-hnb659fds-assets-${AWS::AccountId}-${AWS::Region}"},"\'');
  return s3Arn(`${ASSET_BUCKET}/${key[1]}`);
}

/** The version set of the app's package config (lib/machine/version-set.ts). */
function appVersionSetPath(config: DasklabConfig): string {
  return versionSetPath(config.name, {
    pythonVersion: config.python.version,
    packages: [...config.python.packages, ...(config.lab?.courseMaterials?.requirements ?? [])],
    indexUrl: config.python.indexUrl ?? undefined,
    codeArtifact: config.python.codeArtifact ?? undefined,
    lockFile: config.python.lock,
  });
}

/** What a role that installs the app's lock file may and may not do with its object. */
function lockFileExpectations(object: string): Array<[string, { action: string; resource: string }, 'Allowed' | 'Denied']> {
  return [
    ['read the lock file', { action: 's3:GetObject', resource: object }, 'Allowed'],
    ['read a sibling key of the lock file', { action: 's3:GetObject', resource: `${object}.old` }, 'Denied'],
    ['overwrite the lock file', { action: 's3:PutObject', resource: object }, 'Denied'],
    ['read the same key in another bucket', { action: 's3:GetObject', resource: object.replace(ASSET_BUCKET, `${ASSET_BUCKET}-copy`) }, 'Denied'],
  ];
}

/** The ARN of a subnet in the test account. */
/** A VPC owner's account that shares its subnets with the app's account through AWS RAM. */
const VPC_OWNER_ACCOUNT = '444455556666';

function subnetArn(subnetId: string, account: string = TEST_ENV.account): string {
  return `arn:${TEST_ENV.partition}:ec2:${TEST_ENV.region}:${account}:subnet/${subnetId}`;
}

describe.each(STACK_SHAPES)('IAM evaluation: %s', (_shape, input) => {
  const config = configOf(input);
  const app = new SynthesizedApp(synthesizeShape(input));
  const roles = app.roles();
  const machines = app.machines();
  const tlsPath = config.cluster?.tls ? clusterTlsParameterPath(config.name) : undefined;

  test('every role is of a kind whose rights are asserted here, and none has an AWS-managed policy', () => {
    expect(roles.filter((r) => kindOf(r) === undefined).map((r) => `${r.path} (${r.service})`)).toEqual([]);
    expect(roles.filter((r) => r.managedPolicyArns.length > 0).map((r) => r.path)).toEqual([]);
    // Every machine runs as one of them.
    expect(machines.length).toBeGreaterThan(0);
    for (const m of machines) expect(kindOf(m.role)).toBe('machine');
  });

  /** One machine per distinct (role, dasklab:role), the machine that acts; another machine of the app is the target. */
  function actingMachines(): SynthesizedMachine[] {
    const seen = new Set<string>();
    return machines.filter((m) => {
      const key = `${m.role.stackName}/${m.role.logicalId}/${m.machineRole}`;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
  }

  // The course materials: the object the lab's student machines download (the same for the class).
  const materialsObjects = [...new Set(machines.map((m) => materialsObjectOf(app, m)).filter((o): o is string => o !== undefined))];

  const lockObjects = [...new Set(machines.map((m) => lockObjectOf(app, m)))];

  test('the lock file: one object for the app, named in the user data of every machine', () => {
    expect(lockObjects).toEqual(config.python.lock ? [expect.stringMatching(/\/[0-9a-f]{64}\.lock$/)] : [undefined]);
  });

  test('the course materials: one object for the whole class, named in the user data of each student\'s machine', () => {
    expect(materialsObjects).toHaveLength(config.lab?.materials ? 1 : 0);
    const named = machines.filter((m) => materialsObjectOf(app, m) !== undefined).map((m) => m.machineRole);
    expect([...new Set(named)].sort()).toEqual(config.lab?.materials ? [config.lab.workersPerStudent > 0 ? 'scheduler' : 'student'] : []);
  });

  test('a machine: Session Manager and its own bootstrap tag; no other instance, tag key or parameter', async () => {
    for (const self of actingMachines()) {
      const other = machines.find((m) => m.instanceId !== self.instanceId) ?? { arn: instanceArn('i-0bbbbbbbbbbbbbbbb') };
      const from = { fromInstance: self.arn };
      const ownPath = clusterTlsParameterPath(config.name);
      // The version set of the config's packages (a lab's with the course's requirements), its two kinds.
      const set = appVersionSetPath(config);
      const writesTls = tlsPath !== undefined && self.machineRole === 'scheduler' && self.stackName.endsWith('-Cluster');
      const readsTls = tlsPath !== undefined && self.stackName.endsWith('-Cluster');
      await check(self.role, [
        ...SESSION_MANAGER_ACTIONS.map((action): Expectation => [
          `Session Manager: ${action}`,
          { action, resource: action.startsWith('ssm:') ? self.arn : '*', ...from },
          'Allowed',
        ]),
        ['tag itself dasklab:bootstrap', { action: 'ec2:CreateTags', resource: self.arn, requestTags: { 'dasklab:bootstrap': 'ready' }, ...from }, 'Allowed'],
        ['tag another instance of the app dasklab:bootstrap', { action: 'ec2:CreateTags', resource: other.arn, requestTags: { 'dasklab:bootstrap': 'ready' }, ...from }, 'Denied'],
        ['tag itself dasklab:jupyter', { action: 'ec2:CreateTags', resource: self.arn, requestTags: { 'dasklab:jupyter': 'answers' }, ...from }, 'Allowed'],
        ['tag another instance of the app dasklab:jupyter', { action: 'ec2:CreateTags', resource: other.arn, requestTags: { 'dasklab:jupyter': 'answers' }, ...from }, 'Denied'],
        ...['dasklab:role', 'dasklab:app', 'dasklab:student', 'dasklab:market', 'Name'].map((key): Expectation => [
          `set another tag key on itself: ${key}`,
          { action: 'ec2:CreateTags', resource: self.arn, requestTags: { 'dasklab:bootstrap': 'ready', [key]: 'x' }, ...from },
          'Denied',
        ]),
        ['remove a tag of itself', { action: 'ec2:DeleteTags', resource: self.arn, requestTags: { 'dasklab:bootstrap': '' }, ...from }, 'Denied'],
        ...(['ec2:StopInstances', 'ec2:StartInstances', 'ec2:RebootInstances', 'ec2:TerminateInstances'] as const).map((action): Expectation => [
          `${action} on another instance of the app`,
          { action, resource: other.arn, resourceTags: { 'dasklab:app': config.name }, ...from },
          'Denied',
        ]),
        ['launch an instance', { action: 'ec2:RunInstances', resource: instanceArn('*'), requestTags: { 'dasklab:app': config.name }, ...from }, 'Denied'],
        ['pass its own role', { action: 'iam:PassRole', resource: self.role.arn, context: { 'iam:PassedToService': 'ec2.amazonaws.com' }, ...from }, 'Denied'],
        ['read a parameter outside its cluster\'s path: the app\'s other parameters', { action: 'ssm:GetParameter', resource: parameterArn(`/dasklab/${config.name}/settings`), ...from }, 'Denied'],
        ['read a parameter outside its cluster\'s path: a sibling path with the same prefix', { action: 'ssm:GetParameter', resource: parameterArn(`${ownPath}-old/client-key`), ...from }, 'Denied'],
        ['read a parameter outside its cluster\'s path: anything else', { action: 'ssm:GetParameters', resource: parameterArn('/prod/database/password'), ...from }, 'Denied'],
        ['list the app\'s parameters', { action: 'ssm:GetParametersByPath', resource: parameterArn(`/dasklab/${config.name}`), ...from }, 'Denied'],
        ['delete a parameter of its cluster\'s path', { action: 'ssm:DeleteParameter', resource: parameterArn(`${ownPath}/ca-cert`), ...from }, 'Denied'],
        [`read its cluster's certificates (${readsTls ? 'a TLS cluster' : 'none'})`, { action: 'ssm:GetParameters', resource: parameterArn(`${ownPath}/client-key`), ...from }, readsTls ? 'Allowed' : 'Denied'],
        [`write its cluster's certificates (${writesTls ? 'the scheduler' : 'not the scheduler of a TLS cluster'})`, { action: 'ssm:PutParameter', resource: parameterArn(`${ownPath}/ca-cert`), ...from }, writesTls ? 'Allowed' : 'Denied'],
        // The app's version set: read and add either kind, never overwrite one, and no other name (lib/machine/version-set.ts).
        ...['base', 'jupyter'].flatMap((kind): Expectation[] => [
          [`read the version set's ${kind} kind`, { action: 'ssm:GetParameters', resource: parameterArn(`${set}/${kind}`), ...from }, 'Allowed'],
          [`add the version set's ${kind} kind`, { action: 'ssm:PutParameter', resource: parameterArn(`${set}/${kind}`), context: { 'ssm:Overwrite': 'false' }, ...from }, 'Allowed'],
          [`overwrite the version set's ${kind} kind`, { action: 'ssm:PutParameter', resource: parameterArn(`${set}/${kind}`), context: { 'ssm:Overwrite': 'true' }, ...from }, 'Denied'],
          [`delete the version set's ${kind} kind`, { action: 'ssm:DeleteParameter', resource: parameterArn(`${set}/${kind}`), ...from }, 'Denied'],
        ]),
        ['add another name beside the version set\'s kinds', { action: 'ssm:PutParameter', resource: parameterArn(`${set}/other`), context: { 'ssm:Overwrite': 'false' }, ...from }, 'Denied'],
        ['add a set of another package config', { action: 'ssm:PutParameter', resource: parameterArn(`${versionSetRoot(config.name)}/0123456789ab/base`), context: { 'ssm:Overwrite': 'false' }, ...from }, 'Denied'],
        // Reading takes every set of the app: a deploy may change the set's name while machines restart.
        ['read a set of another package config of the app', { action: 'ssm:GetParameters', resource: parameterArn(`${versionSetRoot(config.name)}/0123456789ab/base`), ...from }, 'Allowed'],
        ['read a sibling path of the version sets with the same prefix', { action: 'ssm:GetParameters', resource: parameterArn(`${versionSetRoot(config.name)}-old/0123456789ab/base`), ...from }, 'Denied'],
        [`read ${OTHER_APP}'s version set`, { action: 'ssm:GetParameters', resource: parameterArn(`${versionSetRoot(OTHER_APP)}/${set.split('/').pop()}/base`), ...from }, 'Denied'],
        // A lab's machines share one role: a student's workers may read the materials as well.
        ...materialsObjects.flatMap((object): Expectation[] => [
          ['read the course materials', { action: 's3:GetObject', resource: object, ...from }, 'Allowed'],
          ['read a sibling key of the course materials', { action: 's3:GetObject', resource: `${object}.old`, ...from }, 'Denied'],
          ['read an older version of the course materials', { action: 's3:GetObjectVersion', resource: object, ...from }, 'Denied'],
          ['overwrite the course materials', { action: 's3:PutObject', resource: object, ...from }, 'Denied'],
          ['delete the course materials', { action: 's3:DeleteObject', resource: object, ...from }, 'Denied'],
          ['read the same key in another bucket', { action: 's3:GetObject', resource: object.replace(ASSET_BUCKET, `${ASSET_BUCKET}-copy`), ...from }, 'Denied'],
        ]),
        ...lockObjects.filter((o): o is string => o !== undefined).flatMap(lockFileExpectations).map(([name, request, expected]): Expectation => [name, { ...request, ...from }, expected]),
        ...nobodyMay(config.name, self.arn).map(([name, request, expected]): Expectation => [name, { ...request, ...from }, expected]),
      ]);
    }
  });

  const builders = roles.filter((r) => kindOf(r) === 'image build');
  (builders.length ? test : test.skip)('an image build: the agent, its own component and log, the version set; nothing of the machines\'', async () => {
    expect(builders).toHaveLength(new Set(builders.map((b) => b.path.replace(/BuildRole.*/, ''))).size);
    const set = appVersionSetPath(config);
    for (const builder of builders) {
      const component = builder.statements.find((st: any) => st.Sid === 'BuildComponent').Resource;
      const log = builder.statements.find((st: any) => st.Sid === 'BuildLog').Resource;
      expect(component).toMatch(/:component\/dasklab-[a-z0-9-]+-(amd64|arm64)-[0-9a-f]{12}\/1\.0\.0\/1$/);
      expect(log).toMatch(/:log-group:.*:\*$/);
      await check(builder, [
        ['register with Systems Manager', { action: 'ssm:UpdateInstanceInformation', resource: '*' }, 'Allowed'],
        ['take Run Command\'s messages', { action: 'ec2messages:GetMessages', resource: '*' }, 'Allowed'],
        ['fetch its component', { action: 'imagebuilder:GetComponent', resource: component }, 'Allowed'],
        ['fetch another component', { action: 'imagebuilder:GetComponent', resource: component.replace(/component\/[^/]+/, 'component/other') }, 'Denied'],
        ['download AWSTOE', { action: 's3:GetObject', resource: s3Arn(`ec2imagebuilder-toe-${TEST_ENV.region}-prod/linux/amd64/latest/awstoe`) }, 'Allowed'],
        ['write its build log', { action: 'logs:PutLogEvents', resource: log.replace(/:\*$/, ':log-stream:i-0') }, 'Allowed'],
        ['write another log group', { action: 'logs:PutLogEvents', resource: `arn:aws:logs:${TEST_ENV.region}:${TEST_ENV.account}:log-group:/aws/imagebuilder/other:log-stream:x` }, 'Denied'],
        ['read the version set', { action: 'ssm:GetParameters', resource: parameterArn(`${set}/base`) }, 'Allowed'],
        ['add the version set', { action: 'ssm:PutParameter', resource: parameterArn(`${set}/jupyter`), context: { 'ssm:Overwrite': 'false' } }, 'Allowed'],
        ['overwrite the version set', { action: 'ssm:PutParameter', resource: parameterArn(`${set}/base`), context: { 'ssm:Overwrite': 'true' } }, 'Denied'],
        ['read any other parameter', { action: 'ssm:GetParameter', resource: parameterArn('/other/secret') }, 'Denied'],
        ['tag an instance', { action: 'ec2:CreateTags', resource: instanceArn('i-0123456789abcdef0'), requestTags: { 'dasklab:bootstrap': 'ready' } }, 'Denied'],
        ['read the course materials\' bucket', { action: 's3:GetObject', resource: s3Arn(`${ASSET_BUCKET}/x.zip`) }, 'Denied'],
        ...lockObjects.filter((o): o is string => o !== undefined).flatMap(lockFileExpectations),
        ...nobodyMay(config.name, machines[0].arn),
      ]);
    }
  });

  const deleters = roles.filter((r) => kindOf(r) === 'image deletion');
  (deleters.length ? test : test.skip)('an image\'s deletion: deregisters and deletes only what Image Builder made', async () => {
    const byImageBuilder = { CreatedBy: 'EC2 Image Builder' };
    const image = `arn:${TEST_ENV.partition}:ec2:${TEST_ENV.region}::image/ami-0123456789abcdef0`;
    const snapshot = `arn:${TEST_ENV.partition}:ec2:${TEST_ENV.region}::snapshot/snap-0123456789abcdef0`;
    for (const deleter of deleters) {
      await check(deleter, [
        ['deregister an AMI Image Builder made', { action: 'ec2:DeregisterImage', resource: image, resourceTags: byImageBuilder }, 'Allowed'],
        ['deregister another AMI', { action: 'ec2:DeregisterImage', resource: image, resourceTags: { CreatedBy: 'someone' } }, 'Denied'],
        ['delete a snapshot Image Builder made', { action: 'ec2:DeleteSnapshot', resource: snapshot, resourceTags: byImageBuilder }, 'Allowed'],
        ['delete an untagged snapshot', { action: 'ec2:DeleteSnapshot', resource: snapshot }, 'Denied'],
        ['delete an Image Builder image of the account', { action: 'imagebuilder:DeleteImage', resource: `arn:${TEST_ENV.partition}:imagebuilder:${TEST_ENV.region}:${TEST_ENV.account}:image/dasklab-x/1.0.0/1` }, 'Allowed'],
        ['delete a volume', { action: 'ec2:DeleteVolume', resource: `arn:${TEST_ENV.partition}:ec2:${TEST_ENV.region}:${TEST_ENV.account}:volume/vol-0123456789abcdef0`, resourceTags: byImageBuilder }, 'Denied'],
        ...nobodyMay(config.name, machines[0].arn),
      ]);
    }
  });

  /** The SSM parameters of the baked images that the spot machines' launch templates name. */
  const bakedImageParameters = (): string[] =>
    spotMachines
      .map((m) => app.resource({ stackName: m.stackName, logicalId: app.resource(m).Properties.LaunchTemplateId.Ref }).Properties.LaunchTemplateData.ImageId)
      .filter((imageId: string) => imageId.startsWith('resolve:ssm:/dasklab/'))
      .map((imageId: string) => imageId.replace(/^resolve:ssm:/, ''));
  const launchers = roles.filter((r) => kindOf(r) === 'spot launcher');
  const spotMachines = machines.filter((m) => app.resource(m).Type === 'Custom::DasklabSpotMachine');
  (launchers.length ? test : test.skip)('the spot launcher: launches, passes the role of and ends only the app\'s spot machines', async () => {
    const [launcher] = launchers;
    expect(launchers).toHaveLength(1);
    const passed = new Set(spotMachines.map((m) => m.role.arn));
    const others = roles.filter((r) => !passed.has(r.arn));
    const worker = spotMachines[0];
    if (config.machine.bake) expect(bakedImageParameters().length).toBeGreaterThan(0);
    await check(launcher, [
      ['launch a machine tagged with the app', { action: 'ec2:RunInstances', resource: instanceArn('*'), requestTags: { 'dasklab:app': config.name } }, 'Allowed'],
      ['launch a machine without the app tag', { action: 'ec2:RunInstances', resource: instanceArn('*'), requestTags: { Name: 'x' } }, 'Denied'],
      [`launch a machine tagged ${OTHER_APP}`, { action: 'ec2:RunInstances', resource: instanceArn('*'), requestTags: { 'dasklab:app': OTHER_APP } }, 'Denied'],
      ...[...passed].map((arn): Expectation => [`pass the spot machines' role ${arn} to EC2`, { action: 'iam:PassRole', resource: arn, context: { 'iam:PassedToService': 'ec2.amazonaws.com' } }, 'Allowed']),
      ...[...passed].map((arn): Expectation => [`pass the spot machines' role ${arn} to Lambda`, { action: 'iam:PassRole', resource: arn, context: { 'iam:PassedToService': 'lambda.amazonaws.com' } }, 'Denied']),
      ...others.map((r): Expectation => [`pass ${r.path}`, { action: 'iam:PassRole', resource: r.arn, context: { 'iam:PassedToService': 'ec2.amazonaws.com' } }, 'Denied']),
      // An existing VPC's subnets carry no app tag: the launcher may launch into the configured ones only.
      ...(config.network?.subnets ?? []).map((s): Expectation => [`launch into the configured subnet ${s.id}`, { action: 'ec2:RunInstances', resource: subnetArn(s.id) }, 'Allowed']),
      // A subnet shared through AWS RAM has its owner's account in its ARN.
      ...(config.network?.subnets ?? []).map((s): Expectation => [`launch into the configured subnet ${s.id}, shared by another account`, { action: 'ec2:RunInstances', resource: subnetArn(s.id, VPC_OWNER_ACCOUNT) }, 'Allowed']),
      ['launch into an untagged subnet the config does not name', { action: 'ec2:RunInstances', resource: subnetArn('subnet-0fffffffffffffff0') }, 'Denied'],
      ['terminate a machine of the app', { action: 'ec2:TerminateInstances', resource: worker.arn, resourceTags: { 'dasklab:app': config.name } }, 'Allowed'],
      [`terminate a machine of ${OTHER_APP}`, { action: 'ec2:TerminateInstances', resource: OTHER_APP_INSTANCE, resourceTags: { 'dasklab:app': OTHER_APP } }, 'Denied'],
      ['terminate an untagged machine', { action: 'ec2:TerminateInstances', resource: OTHER_APP_INSTANCE }, 'Denied'],
      ['stop a machine of the app', { action: 'ec2:StopInstances', resource: worker.arn, resourceTags: { 'dasklab:app': config.name } }, 'Denied'],
      ['watch machines (DescribeInstances has no resource-level permissions)', { action: 'ec2:DescribeInstances', resource: '*' }, 'Allowed'],
      // EC2 resolves a launch template's image parameter with the launcher's rights.
      ...bakedImageParameters().map((name): Expectation => [`resolve the baked image's parameter ${name}`, { action: 'ssm:GetParameters', resource: parameterArn(name) }, 'Allowed']),
      ['read another parameter of the app', { action: 'ssm:GetParameters', resource: parameterArn(`/dasklab/${config.name}/image/amd64-000000000000x`) }, 'Denied'],
      ['read the cluster\'s certificates', { action: 'ssm:GetParameter', resource: parameterArn(`${clusterTlsParameterPath(config.name)}/client-key`) }, 'Denied'],
      ...nobodyMay(config.name, worker.arn).filter(([name]) => !name.startsWith('terminate')),
    ]);
  });

  const cleaners = roles.filter((r) => kindOf(r) === 'parameter cleanup');
  (cleaners.length ? test : test.skip)('the parameter cleanup functions: each lists and deletes under its own path only (the cluster\'s certificates, the app\'s version sets)', async () => {
    expect(cleaners.map((cleaner) => /TlsParameters/.test(cleaner.path)).filter(Boolean)).toHaveLength(tlsPath ? 1 : 0);
    for (const cleaner of cleaners) {
      const ownPath = /TlsParameters/.test(cleaner.path) ? clusterTlsParameterPath(config.name) : versionSetRoot(config.name);
      const otherAppPath = /TlsParameters/.test(cleaner.path) ? clusterTlsParameterPath(OTHER_APP) : versionSetRoot(OTHER_APP);
      await check(cleaner, [
        ['list its path', { action: 'ssm:GetParametersByPath', resource: parameterArn(ownPath) }, 'Allowed'],
        ['delete under its path', { action: 'ssm:DeleteParameters', resource: parameterArn(`${ownPath}/ca-cert`) }, 'Allowed'],
        ['write under its path', { action: 'ssm:PutParameter', resource: parameterArn(`${ownPath}/ca-cert`) }, 'Denied'],
        [`delete under ${OTHER_APP}'s path`, { action: 'ssm:DeleteParameters', resource: parameterArn(`${otherAppPath}/ca-cert`) }, 'Denied'],
        ['delete a key pair\'s private key', { action: 'ssm:DeleteParameters', resource: KEY_PAIR_PARAMETER }, 'Denied'],
        ['list a sibling path with the same prefix', { action: 'ssm:GetParametersByPath', resource: parameterArn(`${ownPath}-old`) }, 'Denied'],
        ...nobodyMay(config.name, machines[0].arn),
      ]);
    }
  });

  const schedules = roles.filter((r) => kindOf(r) === 'lab schedule');
  (schedules.length ? test : test.skip)('a lab schedule: stops and starts its own stack\'s machines only', async () => {
    for (const schedule of schedules) {
      const own = machines.filter((m) => m.stackName === schedule.stackName);
      const elsewhere = machines.find((m) => m.stackName !== schedule.stackName);
      expect(own.length).toBeGreaterThan(0);
      await check(schedule, [
        ...own.flatMap((m): Expectation[] => [
          [`stop ${m.logicalId}`, { action: 'ec2:StopInstances', resource: m.arn }, 'Allowed'],
          [`start ${m.logicalId}`, { action: 'ec2:StartInstances', resource: m.arn }, 'Allowed'],
          [`terminate ${m.logicalId}`, { action: 'ec2:TerminateInstances', resource: m.arn }, 'Denied'],
          [`tag ${m.logicalId}`, { action: 'ec2:CreateTags', resource: m.arn, requestTags: { 'dasklab:bootstrap': 'ready' } }, 'Denied'],
        ]),
        ...(elsewhere ? [[`stop ${elsewhere.logicalId} of ${elsewhere.stackName}`, { action: 'ec2:StopInstances', resource: elsewhere.arn }, 'Denied'] as Expectation] : []),
        [`start ${OTHER_APP}'s instance`, { action: 'ec2:StartInstances', resource: OTHER_APP_INSTANCE }, 'Denied'],
        ...nobodyMay(config.name, own[0].arn),
      ]);
    }
  });

  test('the functions and the flow log write to their own log group only', async () => {
    const writers = roles.filter((r) => r.service === 'lambda.amazonaws.com' || r.service === FLOW_LOG_SERVICE);
    // A VPC of its own has a flow log; an existing VPC is its owner's to log.
    expect(writers.filter((r) => r.service === FLOW_LOG_SERVICE).length).toBe(config.network ? 0 : 1);
    const groups = roles.flatMap((r) => r.statements.flatMap((s: any) => [s.Resource].flat()).filter((a: string) => /:log-group:/.test(a)));
    for (const role of writers) {
      const own = role.statements.flatMap((s: any) => [s.Resource].flat()).filter((a: string) => /:log-group:/.test(a));
      expect(own).toHaveLength(1);
      const stream = (group: string) => `${group.replace(/:\*$/, '')}:log-stream:x`;
      await check(role, [
        ['write its log group', { action: 'logs:PutLogEvents', resource: stream(own[0]) }, 'Allowed'],
        ...groups.filter((g) => g !== own[0]).map((g): Expectation => [`write ${g}`, { action: 'logs:PutLogEvents', resource: stream(g) }, 'Denied']),
        ['write another app\'s log group', { action: 'logs:PutLogEvents', resource: `arn:aws:logs:${TEST_ENV.region}:${TEST_ENV.account}:log-group:${OTHER_APP}:log-stream:x` }, 'Denied'],
        // The spot launcher ends the app's machines; its own test covers what else it may not do.
        ...nobodyMay(config.name, machines[0].arn).filter(([name]) => kindOf(role) !== 'spot launcher' || !name.startsWith('terminate')),
      ]);
    }
  });
});
