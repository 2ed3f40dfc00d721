/**
 * The machines' access to a CodeArtifact repository (python.codeArtifact):
 * exactly the statements pip's token needs, on that repository only, and no
 * secret in the template or the user data.
 */
import { Template } from 'aws-cdk-lib/assertions';
import { configOf, policyStatementsOf, templateOf, userDataOf } from './support';
import { STACK_SHAPES, synthesizeShape } from './stack-shapes';
import { renderParameters } from '../../lib/bootstrap/bootstrap-user-data';

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
