import { Arn, ArnFormat, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { CodeArtifactRepository } from '../config/schema';
import { acknowledge } from '../nag';

/** The CodeArtifact service principal, the only one the machines may get a bearer token for. */
export const CODEARTIFACT_SERVICE_NAME = 'codeartifact.amazonaws.com';

/**
 * Lets the machines' role read one CodeArtifact repository, the way pip does
 * at boot, and nothing else of CodeArtifact:
 * - `codeartifact:GetAuthorizationToken` on the domain, with
 *   `sts:GetServiceBearerToken` limited to CodeArtifact
 *   (`sts:AWSServiceName`), which GetAuthorizationToken needs;
 * - `codeartifact:GetRepositoryEndpoint` and `codeartifact:ReadFromRepository`
 *   on the repository.
 * https://docs.aws.amazon.com/codeartifact/latest/ug/python-configure-pip.html
 * https://docs.aws.amazon.com/codeartifact/latest/ug/tokens-authentication.html
 * https://docs.aws.amazon.com/codeartifact/latest/ug/auth-and-access-control-permissions-reference.html
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_bearer.html
 *
 * @param role the machines' role
 * @param repository `python.codeArtifact`; nothing is granted when null
 */
export function grantPackageIndexAccess(role: iam.IRole, repository: CodeArtifactRepository | null | undefined): void {
  if (repository == null) return;
  const stack = Stack.of(role);
  const arn = (resource: string, resourceName: string) =>
    Arn.format(
      {
        service: 'codeartifact',
        region: repository.region ?? undefined,
        account: repository.domainOwner ?? undefined,
        resource,
        resourceName,
        arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
      },
      stack,
    );
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      sid: 'PackageIndexToken',
      actions: ['codeartifact:GetAuthorizationToken'],
      resources: [arn('domain', repository.domain)],
    }),
  );
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      sid: 'PackageIndexRead',
      actions: ['codeartifact:GetRepositoryEndpoint', 'codeartifact:ReadFromRepository'],
      resources: [arn('repository', `${repository.domain}/${repository.repository}`)],
    }),
  );
  // GetServiceBearerToken has no resource-level permissions; the condition key
  // limits it to CodeArtifact's tokens.
  // https://docs.aws.amazon.com/service-authorization/latest/reference/list_awssecuritytokenservice.html
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      sid: 'PackageIndexBearerToken',
      actions: ['sts:GetServiceBearerToken'],
      resources: ['*'],
      conditions: { StringEquals: { 'sts:AWSServiceName': CODEARTIFACT_SERVICE_NAME } },
    }),
  );
  acknowledge(role, 'packageIndexBearerToken');
}
