/**
 * `dasklab tls-client --out DIR`: a Dask client's certificates for a cluster
 * with mutual TLS, and the cluster's Python packages pinned in requirements.txt.
 */
import * as path from 'path';
import { Command } from 'commander';
import { writeDirAtomically } from '../atomic-dir';
import { CommandContext } from '../context';
import { clientTlsMaterialOf, clusterScheduler, renderRequirementsFile, renderTlsClientFiles, tlsSchedulerAddress, TLS_CLIENT_FILES } from '../tls-client';
import { readVersionSetOutcome, summarizeVersionSet, VersionSetOutcome } from '../version-set';
import { actionOf, CommandKit, examples, OutDirOptions, outDirOf, withOutDir } from './kit';

async function tlsClient(ctx: CommandContext, options: OutDirOptions): Promise<number> {
  const dir = outDirOf(ctx, options);
  const app = ctx.app();
  const scheduler = clusterScheduler(await ctx.machines(), app);
  const material = await clientTlsMaterialOf(ctx.clients().ssm, app);
  // The certificates are what the command is for: without the version set, it still writes them.
  const versionSet = await readVersionSetOutcome(ctx.clients().ssm, app);
  const address = tlsSchedulerAddress(scheduler);
  const requirements = 'set' in versionSet && versionSet.set !== undefined ? [renderRequirementsFile(versionSet.set)] : [];
  const files = [...renderTlsClientFiles(material, app, address), ...requirements];
  writeDirAtomically(dir, files, options.force === true, { cwd: ctx.io.cwd });
  if ('error' in versionSet) ctx.note(`No ${TLS_CLIENT_FILES.requirements}: ${versionSet.error}`);
  if (ctx.json) {
    ctx.printJson({
      dir,
      scheduler: address,
      files: files.map((f) => ({ name: f.name, mode: `0${f.mode.toString(8)}` })),
      ...('error' in versionSet ? { versionSetError: versionSet.error } : { versionSet: versionSet.set?.path ?? null }),
    });
    return 0;
  }
  ctx.print(`Wrote ${dir}: ${TLS_CLIENT_FILES.caCert}, ${TLS_CLIENT_FILES.clientCert}, ${TLS_CLIENT_FILES.clientKey} (mode 0600), ${TLS_CLIENT_FILES.connect}.`);
  ctx.print(`Scheduler: ${address} (reachable inside the cluster's VPC; from elsewhere through a tunnel to port 8786)`);
  printRequirements(ctx, dir, app, versionSet);
  ctx.print(`Try: python ${path.join(dir, TLS_CLIENT_FILES.connect)}`);
  return 0;
}

/** Says what became of requirements.txt and, when it was written, how to use it. */
function printRequirements(ctx: CommandContext, dir: string, app: string, versionSet: VersionSetOutcome): void {
  if ('error' in versionSet) return; // said on stderr
  if (versionSet.set === undefined) {
    ctx.print(`No ${TLS_CLIENT_FILES.requirements}: app ${app} has no Python version set yet (its machines share their versions when they bootstrap).`);
    return;
  }
  const file = path.join(dir, TLS_CLIENT_FILES.requirements);
  ctx.print(`Wrote ${file}: the cluster's Python packages, pinned from its version set ${versionSet.set.path} (${summarizeVersionSet(versionSet.set)}).`);
  ctx.print(`Run the client with the same versions, in a venv of the cluster's Python version (python.version): python3 -m venv .venv && .venv/bin/pip install -r ${file}`);
}

/** Adds `tls-client` to the program. */
export function registerTlsClient(program: Command, kit: CommandKit): void {
  withOutDir(
    program
      .command('tls-client')
      .description(
        "write what a Dask client needs to join the app's cluster over mutual TLS: the CA and client certificates, the client key (0600), connect.py, and requirements.txt pinning the cluster's Python packages",
      ),
  )
    .addHelpText('after', examples('npx dasklab tls-client --out dask-tls/', 'pip install -r dask-tls/requirements.txt', 'python dask-tls/connect.py'))
    .action(actionOf(kit, (ctx, options: OutDirOptions) => tlsClient(ctx, options)));
}
