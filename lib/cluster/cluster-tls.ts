/**
 * Where a cluster's TLS material lives in SSM Parameter Store, shared by the
 * stack (the machines' rights), the bootstrap and `dasklab tls-client`.
 * Free of imports, so that the CLI does not load the CDK.
 */

/** The path of a cluster's certificate parameters (no trailing slash). */
export function clusterTlsParameterPath(app: string): string {
  return `/dasklab/${app}/cluster/tls`;
}

/** The SecureString parameters a client needs, below the path: PEM text each. */
export const CLIENT_TLS_PARAMETERS = {
  caCert: 'ca-cert',
  clientCert: 'client-cert',
  clientKey: 'client-key',
} as const;
