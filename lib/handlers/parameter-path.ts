/**
 * The Lambda behind `Custom::DasklabParameterPath`: when the stack is
 * deleted, it deletes every SSM parameter under a path. Machines write
 * parameters there themselves (a cluster's TLS certificates, which
 * CloudFormation cannot create as SecureString), so CloudFormation does not
 * know them; this resource is deleted after the machines, so nothing writes
 * there again.
 */
import { DeleteParametersCommand, paginateGetParametersByPath, SSMClient } from '@aws-sdk/client-ssm';
import { customResourceHandler, CustomResourceEvent, CustomResourceResult } from './custom-resource';

/** DeleteParameters takes at most this many names. */
const DELETE_BATCH = 10;

/** Deletes every parameter under `path` (recursively) and returns their names. */
export async function deleteParametersUnder(ssm: SSMClient, path: string): Promise<string[]> {
  const names: string[] = [];
  for await (const page of paginateGetParametersByPath({ client: ssm }, { Path: path, Recursive: true })) {
    names.push(...(page.Parameters ?? []).map((p) => p.Name!));
  }
  for (let i = 0; i < names.length; i += DELETE_BATCH) {
    await ssm.send(new DeleteParametersCommand({ Names: names.slice(i, i + DELETE_BATCH) }));
  }
  return names;
}

/** Handles one request; exported for tests, which call it with their own client. */
export async function handleParameterPath(ssm: SSMClient, event: CustomResourceEvent): Promise<CustomResourceResult> {
  const path = String(event.ResourceProperties.Path ?? '');
  if (event.RequestType !== 'Delete') {
    // Parameter names hold only a-zA-Z0-9_.- and / (Name, https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_PutParameter.html).
    if (!/^\/[A-Za-z0-9_.\-/]+[A-Za-z0-9_.\-]$/.test(path)) throw new Error(`Path must be an absolute SSM parameter path without a trailing slash, got ${JSON.stringify(path)}`);
    // A new path is a new resource: CloudFormation then deletes the old one, which cleans the old path.
    return { physicalResourceId: path };
  }
  if (event.PhysicalResourceId !== path) return { physicalResourceId: event.PhysicalResourceId ?? path }; // never created
  const deleted = await deleteParametersUnder(ssm, path);
  console.log(`deleted ${deleted.length} parameters under ${path}: ${deleted.join(', ')}`);
  return { physicalResourceId: path };
}

export const handler = customResourceHandler((event) => handleParameterPath(new SSMClient({}), event));
