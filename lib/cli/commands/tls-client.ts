/** `dasklab tls-client --out DIR`: a Dask client's certificates for a cluster with mutual TLS. */
import * as path from 'path';
import { Command } from 'commander';
import { writeDirAtomically } from '../atomic-dir';
import { CommandContext } from '../context';
import { clientTlsMaterialOf, clusterScheduler, renderTlsClientFiles, tlsSchedulerAddress, TLS_CLIENT_FILES } from '../tls-client';
import { actionOf, CommandKit, examples, OutDirOptions, outDirOf, withOutDir } from './kit';

async function tlsClient(ctx: CommandContext, options: OutDirOptions): Promise<number> {
  const dir = outDirOf(ctx, options);
  const app = ctx.app();
  const scheduler = clusterScheduler(await ctx.machines(), app);
  const material = await clientTlsMaterialOf(ctx.clients().ssm, app);
  const address = tlsSchedulerAddress(scheduler);
  const files = renderTlsClientFiles(material, app, address);
  writeDirAtomically(dir, files, options.force === true, { cwd: ctx.io.cwd });
  if (ctx.json) {
    ctx.printJson({ dir, scheduler: address, files: files.map((f) => ({ name: f.name, mode: `0${f.mode.toString(8)}` })) });
    return 0;
  }
  ctx.print(`Wrote ${dir}: ${TLS_CLIENT_FILES.caCert}, ${TLS_CLIENT_FILES.clientCert}, ${TLS_CLIENT_FILES.clientKey} (mode 0600), ${TLS_CLIENT_FILES.connect}.`);
  ctx.print(`Scheduler: ${address} (reachable inside the cluster's VPC; from elsewhere through a tunnel to port 8786)`);
  ctx.print(`Try: python ${path.join(dir, TLS_CLIENT_FILES.connect)}`);
  return 0;
}

/** Adds `tls-client` to the program. */
export function registerTlsClient(program: Command, kit: CommandKit): void {
  withOutDir(
    program
      .command('tls-client')
      .description("write what a Dask client needs to join the app's cluster over mutual TLS: the CA and client certificates, the client key (0600) and connect.py"),
  )
    .addHelpText('after', examples('npx dasklab tls-client --out dask-tls/', 'python dask-tls/connect.py'))
    .action(actionOf(kit, (ctx, options: OutDirOptions) => tlsClient(ctx, options)));
}
