import * as fs from 'fs';
import * as path from 'path';
import { cachedBuild, cacheDir, hashOf } from './cache';
import { APT_SOURCE_LINE, HUB_IP } from './network';
import { mustRun } from './proc';

/**
 * The machine image: a Debian trixie rootfs shaped like an Ubuntu cloud image,
 * built by build-rootfs.sh and cached under a hash of its inputs.
 */

/**
 * What an Ubuntu cloud image has that the bootstrap relies on. Not here on
 * purpose: python3.13-venv, python3-pip, numpy, dask (the bootstrap installs them).
 */
export const ROOTFS_PACKAGES: readonly string[] = [
  'systemd',
  'systemd-sysv',
  'dbus',
  // Registers SSH logins with systemd-logind (loginctl), as on Ubuntu's images; the lab idle stop counts them.
  'libpam-systemd',
  'cloud-init',
  // debootstrap does not resolve virtual packages; python3-cryptography needs this one.
  'python3-cffi-backend',
  'curl',
  'ca-certificates',
  'iproute2',
  'sudo',
  'openssh-server',
  'python3',
  'tzdata',
  'procps',
  // numpy wheels made from Debian's numpy link against the system BLAS/LAPACK.
  'libblas3',
  'liblapack3',
  // pyzmq and argon2-cffi wheels made from Debian's packages (JupyterLab's) link against these.
  'libzmq5',
  'libargon2-1',
];

const SCRIPT = path.join(__dirname, 'build-rootfs.sh');

/** The cache key of the rootfs: the build script, the package list and the apt source. */
export function rootfsKey(): string {
  return hashOf(fs.readFileSync(SCRIPT), ROOTFS_PACKAGES.join(','), APT_SOURCE_LINE, HUB_IP);
}

/** Returns the cached rootfs, building it (about a minute with a warm network) if needed. */
export async function ensureRootfs(log: (msg: string) => void): Promise<{ dir: string; seconds: number }> {
  const key = rootfsKey();
  const result = await cachedBuild('rootfs', key, async (tmp) => {
    log(`building rootfs ${key} (debootstrap trixie) ...`);
    const debs = path.join(cacheDir(), 'debootstrap-debs');
    // pdeathsig: an interrupted run does not leave debootstrap writing into a removed dir.
    await mustRun('setpriv', ['--pdeathsig', 'SIGTERM', 'bash', SCRIPT, tmp, debs, APT_SOURCE_LINE, HUB_IP, ...ROOTFS_PACKAGES], {
      echoStderr: !!process.env.DASKLAB_TWIN_VERBOSE,
    });
  });
  if (result.built) log(`rootfs built in ${result.seconds.toFixed(0)} s: ${result.dir}`);
  return { dir: result.dir, seconds: result.seconds };
}
