/**
 * `dasklab tls-client`: what a Dask client needs to join a cluster that runs
 * mutual TLS: the cluster's CA certificate and the client certificate and key
 * that its scheduler made and published as SecureString parameters. Reading
 * them takes the caller's own AWS rights (ssm:GetParameters and KMS decrypt),
 * so only authorized users get them. With them, the cluster's Python packages
 * pinned as its version set has them (lib/cli/version-set.ts), so that the
 * client runs the versions the cluster runs.
 */
import { GetParametersCommand, SSMClient } from '@aws-sdk/client-ssm';
import { CLIENT_TLS_PARAMETERS, clusterTlsParameterPath } from '../cluster/cluster-tls';
import { DASK_PORTS } from '../cluster/dask-ports';
import { DirFile } from './atomic-dir';
import { CliError } from './errors';
import { Machine } from './machines';
import { AppVersionSet, requirementsText } from './version-set';

/** PEM text of the client's CA certificate, certificate and key. */
export interface ClientTlsMaterial {
  readonly caCert: string;
  readonly clientCert: string;
  readonly clientKey: string;
}

/**
 * The app's cluster scheduler.
 * @throws CliError when the app has no scheduler, or several (a lab's per-student clusters, which run plain TCP)
 */
export function clusterScheduler(machines: readonly Machine[], app: string): Machine {
  const schedulers = machines.filter((m) => m.role === 'scheduler');
  if (schedulers.length === 0) {
    throw new CliError(`app ${app} has no Dask scheduler: tls-client is for a cluster (a config with a "cluster" section).`);
  }
  if (schedulers.length > 1) {
    throw new CliError(`app ${app} has ${schedulers.length} schedulers (a lab's per-student clusters); their members talk plain TCP inside each student's security group, so there are no client certificates.`);
  }
  return schedulers[0];
}

/**
 * Reads the client's TLS material of the app's cluster.
 * @throws CliError naming the missing parameters when the scheduler has not published them
 */
export async function clientTlsMaterialOf(ssm: SSMClient, app: string): Promise<ClientTlsMaterial> {
  const path = clusterTlsParameterPath(app);
  const names = Object.fromEntries(Object.entries(CLIENT_TLS_PARAMETERS).map(([key, leaf]) => [key, `${path}/${leaf}`])) as Record<keyof ClientTlsMaterial, string>;
  const out = await ssm.send(new GetParametersCommand({ Names: Object.values(names), WithDecryption: true }));
  const values = new Map((out.Parameters ?? []).map((p) => [p.Name!, p.Value ?? '']));
  const missing = Object.values(names).filter((name) => !values.get(name)?.includes('-----BEGIN '));
  if (missing.length > 0) {
    throw new CliError(
      `no TLS client material for app ${app}: missing ${missing.join(', ')}. ` +
        'The scheduler publishes it during its bootstrap: wait until `npx dasklab status` shows it ready; ' +
        'if the cluster was deployed with "tls": false, it talks plain TCP and needs no certificates.',
    );
  }
  return { caCert: values.get(names.caCert)!, clientCert: values.get(names.clientCert)!, clientKey: values.get(names.clientKey)! };
}

/** File names in the output directory. */
export const TLS_CLIENT_FILES = {
  caCert: 'ca.pem',
  clientCert: 'client.pem',
  clientKey: 'client-key.pem',
  connect: 'connect.py',
  requirements: 'requirements.txt',
} as const;

/** The scheduler's address as its members know it. */
export function tlsSchedulerAddress(scheduler: Machine): string {
  return `tls://${scheduler.privateIp}:${DASK_PORTS.scheduler}`;
}

/** The files of the output directory: the key is 0600, the rest 0644. */
export function renderTlsClientFiles(material: ClientTlsMaterial, app: string, schedulerAddress: string): DirFile[] {
  const withNewline = (pem: string) => (pem.endsWith('\n') ? pem : `${pem}\n`);
  return [
    { name: TLS_CLIENT_FILES.caCert, content: withNewline(material.caCert), mode: 0o644 },
    { name: TLS_CLIENT_FILES.clientCert, content: withNewline(material.clientCert), mode: 0o644 },
    { name: TLS_CLIENT_FILES.clientKey, content: withNewline(material.clientKey), mode: 0o600 },
    { name: TLS_CLIENT_FILES.connect, content: connectScript(app, schedulerAddress), mode: 0o644 },
  ];
}

/** The requirements file (0644) pinning every package of the app's version set. */
export function renderRequirementsFile(set: Pick<AppVersionSet, 'versions'>): DirFile {
  return { name: TLS_CLIENT_FILES.requirements, content: requirementsText(set.versions), mode: 0o644 };
}

function connectScript(app: string, schedulerAddress: string): string {
  return `"""A Dask client of the dasklab cluster ${app}, over mutual TLS.

Run it where the scheduler is reachable: on a machine in the cluster's VPC,
or through an SSH tunnel to port ${DASK_PORTS.scheduler} (then pass tls://localhost:${DASK_PORTS.scheduler}).

    python connect.py [ADDRESS]        # prints the cluster's workers
    from connect import client         # in your code: with client() as c: ...
"""
import pathlib
import sys

from distributed import Client
from distributed.security import Security

HERE = pathlib.Path(__file__).resolve().parent
SCHEDULER = "${schedulerAddress}"
SECURITY = Security(
    tls_ca_file=str(HERE / "${TLS_CLIENT_FILES.caCert}"),
    tls_client_cert=str(HERE / "${TLS_CLIENT_FILES.clientCert}"),
    tls_client_key=str(HERE / "${TLS_CLIENT_FILES.clientKey}"),
    require_encryption=True,
)


def client(address=SCHEDULER, **kwargs):
    return Client(address, security=SECURITY, **kwargs)


if __name__ == "__main__":
    with client(sys.argv[1] if len(sys.argv) > 1 else SCHEDULER, timeout=30) as c:
        workers = c.scheduler_info()["workers"].values()
        print(f"connected to {c.scheduler.address}: {len(workers)} workers:", *sorted(w["name"] for w in workers))
`;
}
