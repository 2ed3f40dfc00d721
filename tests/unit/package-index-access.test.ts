/**
 * The machines' access to a CodeArtifact repository (python.codeArtifact):
 * exactly the statements pip's token needs, on that repository only, and no
 * secret in the template or the user data.
 */
import { Template } from 'aws-cdk-lib/assertions';
import { configOf, policyStatementsOf, templateOf, userDataOf } from './support';
import { STACK_SHAPES, synthesizeShape } from './stack-shapes';
import { renderParameters } from '../../lib/bootstrap/bootstrap-user-data';
import { decide, IamRequest, SynthesizedApp, TEST_ENV } from './iam-evaluation';

const REPOSITORY = { domain: 'acme', repository: 'pypi-store' };

/** The statements of the machines' role in a template. */
function machineRoleStatements(template: Template): any[] {
  const roles = Object.keys(template.findResources('AWS::IAM::Role')).filter((id) => id.startsWith('FleetInstanceRole'));
  expect(roles).toHaveLength(1);
  return policyStatementsOf(template, roles[0]);
}

/** The statements that mention CodeArtifact or bearer tokens. */
function packageIndexStatements(template: Template): any[] {
  return machineRoleStatements(template).filter((s) => JSON.stringify(s.Action).match(/codeartifact:|sts:GetServiceBearerToken/));
}

const arn = (region: any, account: any, resource: string) => ({
  'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:codeartifact:${region}:${account}:${resource}`]],
});

describe('python.codeArtifact grants the machines read access to that repository only', () => {
  test('a repository of the stack\'s own account and region: exact statements', () => {
    // GIVEN a machine installing from a CodeArtifact repository
    const template = templateOf('dasklab-Machine', { python: { codeArtifact: REPOSITORY } });
    // THEN the role may get a token for the domain, read the repository, and get bearer tokens for CodeArtifact only
    const statements = packageIndexStatements(template);
    const sub = (resource: string) => ({ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':codeartifact:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, `:${resource}`]] });
    expect(statements).toEqual([
      { Sid: 'PackageIndexToken', Effect: 'Allow', Action: 'codeartifact:GetAuthorizationToken', Resource: sub('domain/acme') },
      { Sid: 'PackageIndexRead', Effect: 'Allow', Action: ['codeartifact:GetRepositoryEndpoint', 'codeartifact:ReadFromRepository'], Resource: sub('repository/acme/pypi-store') },
      {
        Sid: 'PackageIndexBearerToken',
        Effect: 'Allow',
        Action: 'sts:GetServiceBearerToken',
        Resource: '*',
        Condition: { StringEquals: { 'sts:AWSServiceName': 'codeartifact.amazonaws.com' } },
      },
    ]);
  });

  test('a repository of another account and region: the ARNs name them', () => {
    const template = templateOf('dasklab-Machine', { python: { codeArtifact: { ...REPOSITORY, domainOwner: '111122223333', region: 'eu-central-1' } } });
    const [token, read] = packageIndexStatements(template);
    expect(token.Resource).toEqual(arn('eu-central-1', '111122223333', 'domain/acme'));
    expect(read.Resource).toEqual(arn('eu-central-1', '111122223333', 'repository/acme/pypi-store'));
  });

  test.each([
    ['cluster', { cluster: { workers: 1 } }, 'dasklab-Cluster'],
    ['lab', { lab: { roster: ['alice'], workersPerStudent: 1 } }, 'dasklab-Lab-Shared'],
  ])('every role of the %s machines gets the same access', (_what, input, stack) => {
    const template = templateOf(stack, { ...input, python: { codeArtifact: REPOSITORY } } as any);
    const roles = Object.keys(template.findResources('AWS::IAM::Role')).filter((id) => /^Fleet\w*InstanceRole/.test(id));
    expect(roles.length).toBeGreaterThan(0);
    for (const role of roles) {
      const statements = policyStatementsOf(template, role).filter((s) => JSON.stringify(s.Action).match(/codeartifact:|sts:GetServiceBearerToken/));
      expect({ role, sids: statements.map((s) => s.Sid) }).toEqual({ role, sids: ['PackageIndexToken', 'PackageIndexRead', 'PackageIndexBearerToken'] });
    }
  });

  test.each(STACK_SHAPES.filter(([, input]) => !JSON.stringify(input).includes('codeArtifact')))('without it, no CodeArtifact or bearer-token right: %s', (_name, input) => {
    for (const { template } of synthesizeShape(input)) {
      expect(JSON.stringify(template)).not.toMatch(/codeartifact|GetServiceBearerToken/);
    }
  });

  test('the user data names the repository and holds no token; the bootstrap fetches one', () => {
    // GIVEN the machine's user data
    const template = templateOf('dasklab-Machine', { python: { codeArtifact: { ...REPOSITORY, domainOwner: '111122223333' } } });
    const [instance] = Object.values(template.findResources('AWS::EC2::Instance'));
    const userData = userDataOf(instance);
    // THEN the parameters name the domain, repository, owner and (empty: the machine's) region
    expect(userData).toContain("DASKLAB_CODEARTIFACT_DOMAIN='acme'");
    expect(userData).toContain("DASKLAB_CODEARTIFACT_REPOSITORY='pypi-store'");
    expect(userData).toContain("DASKLAB_CODEARTIFACT_DOMAIN_OWNER='111122223333'");
    expect(userData).toContain("DASKLAB_CODEARTIFACT_REGION=''");
    // AND the bootstrap asks for the token with the machine's role
    expect(userData).toContain('get_authorization_token(');
    expect(userData).not.toMatch(/aws:[A-Za-z0-9%]{20,}@/);
  });

  test('without it, the user data has no CodeArtifact parameter', () => {
    const config = configOf({});
    const parameters = renderParameters({ app: config.name, role: 'standalone', pythonVersion: '3.12', packages: config.python.packages, venv: config.python.venv });
    expect(parameters).not.toContain('CODEARTIFACT');
  });
});

describe('by IAM policy evaluation: a machine may read the configured repository and nothing else of CodeArtifact', () => {
  const REPO = { domain: 'acme', repository: 'pypi-store', domainOwner: '444455556666', region: 'eu-central-1' };
  const ca = (resource: string) => `arn:aws:codeartifact:${REPO.region}:${REPO.domainOwner}:${resource}`;

  test('allowed and denied, by name', async () => {
    // GIVEN the machines of a cluster installing from another account's repository
    const app = new SynthesizedApp(synthesizeShape({ cluster: { workers: 1 }, python: { codeArtifact: REPO } }));
    const machines = app.machines();
    expect(machines.length).toBeGreaterThan(1);
    for (const machine of machines) {
      const from = { fromInstance: machine.arn };
      const expectations: Array<[string, IamRequest, 'Allowed' | 'Denied']> = [
        ['get a token for the domain', { action: 'codeartifact:GetAuthorizationToken', resource: ca('domain/acme'), ...from }, 'Allowed'],
        ['get the repository endpoint', { action: 'codeartifact:GetRepositoryEndpoint', resource: ca('repository/acme/pypi-store'), ...from }, 'Allowed'],
        ['read the repository', { action: 'codeartifact:ReadFromRepository', resource: ca('repository/acme/pypi-store'), ...from }, 'Allowed'],
        ['a bearer token for CodeArtifact', { action: 'sts:GetServiceBearerToken', resource: '*', context: { 'sts:AWSServiceName': 'codeartifact.amazonaws.com' }, ...from }, 'Allowed'],
        ['a bearer token for another service', { action: 'sts:GetServiceBearerToken', resource: '*', context: { 'sts:AWSServiceName': 'other.amazonaws.com' }, ...from }, 'Denied'],
        ['a token for another domain', { action: 'codeartifact:GetAuthorizationToken', resource: ca('domain/other'), ...from }, 'Denied'],
        ['a token for the same domain name in another account', { action: 'codeartifact:GetAuthorizationToken', resource: `arn:aws:codeartifact:${REPO.region}:${TEST_ENV.account}:domain/acme`, ...from }, 'Denied'],
        ['read another repository of the domain', { action: 'codeartifact:ReadFromRepository', resource: ca('repository/acme/private'), ...from }, 'Denied'],
        ['publish to the repository', { action: 'codeartifact:PublishPackageVersion', resource: ca('package/acme/pypi-store/pypi/none/numpy'), ...from }, 'Denied'],
        ['delete a package version', { action: 'codeartifact:DeletePackageVersions', resource: ca('package/acme/pypi-store/pypi/none/numpy'), ...from }, 'Denied'],
        ['change the repository policy', { action: 'codeartifact:PutRepositoryPermissionsPolicy', resource: ca('repository/acme/pypi-store'), ...from }, 'Denied'],
      ];
      const got: Record<string, string> = {};
      const want: Record<string, string> = {};
      for (const [name, request, expected] of expectations) {
        const decision = await decide(machine.role, request);
        got[name] = expected === 'Denied' && decision !== 'Allowed' ? 'Denied' : decision;
        want[name] = expected;
      }
      expect({ machine: machine.arn, decisions: got }).toEqual({ machine: machine.arn, decisions: want });
    }
  });
});
