import * as fs from 'fs';
import * as path from 'path';
import { writeFlatRepoIndex } from './apt-repo';
import { cachedBuild, hashOf } from './cache';
import { mustRun } from './proc';
import { rootfsKey } from './rootfs';
import { aptPackagesFor } from '../../lib/bootstrap/bootstrap-user-data';
import { TWIN_PYTHON_VERSION } from './deviations';
import { JUPYTER_PACKAGES } from '../../lib/machine/jupyter-lab';

/**
 * The twin's local package sources, built once per rootfs in a throwaway
 * container of it (staging.sh) that reaches Debian's archive:
 *   <dir>/apt  flat apt repo with what the bootstrap's apt-get install needs
 *   <dir>/pip  PEP 503 index of wheels made from Debian's python packages
 */

/**
 * What userdata/bootstrap.sh installs with apt (with python rewritten to the
 * twin's), plus python3-venv, which a person following Ubuntu's advice
 * ("apt install python3-venv") installs by hand.
 */
export const APT_PACKAGES: readonly string[] = [...aptPackagesFor(TWIN_PYTHON_VERSION), 'python3-venv'];

/** Debian packages whose installed files become the index's wheels. */
export const DEBIAN_PYTHON_PACKAGES: readonly string[] = [
  'python3-numpy',
  'python3-dask',
  'python3-distributed',
  'jupyterlab',
  // argon2-cffi (jupyter_server's) requires cffi, which Debian's packages run without (only its backend).
  'python3-cffi',
];

/**
 * The requirements the index is built and verified for: the template's
 * defaults after the twin's rewrites (deviations.ts). The closure of their
 * dependencies is included.
 */
export const INDEX_REQUIREMENTS: readonly string[] = ['numpy', 'dask[array,distributed]', ...JUPYTER_PACKAGES];

const FILES = ['staging.sh', 'make-wheels.py'].map((f) => path.join(__dirname, f));

export interface Indexes {
  aptDir: string;
  pipDir: string;
  seconds: number;
}

export async function ensureIndexes(rootfs: string, log: (msg: string) => void): Promise<Indexes> {
  const key = hashOf(
    rootfsKey(),
    ...FILES.map((f) => fs.readFileSync(f)),
    APT_PACKAGES.join(','),
    DEBIAN_PYTHON_PACKAGES.join(','),
    INDEX_REQUIREMENTS.join(','),
  );
  const result = await cachedBuild('indexes', key, async (tmp) => {
    log(`building apt repo and pip index ${key} in a staging container ...`);
    // Host network (no --private-network): staging downloads from Debian's archive.
    // --volatile=overlay: the cached rootfs stays untouched.
    await mustRun(
      'setpriv',
      [
        '--pdeathsig', 'SIGKILL', 'systemd-nspawn', '--quiet', '--register=no', '--keep-unit', '--volatile=overlay', '--resolv-conf=copy-host',
        `--directory=${rootfs}`, `--bind=${tmp}:/out`, `--bind-ro=${__dirname}:/twin`,
        '/twin/staging.sh', APT_PACKAGES.join(','), DEBIAN_PYTHON_PACKAGES.join(','), ...INDEX_REQUIREMENTS,
      ],
      { echoStderr: !!process.env.DASKLAB_TWIN_VERBOSE, timeoutMs: 20 * 60 * 1000 },
    );
    const count = await writeFlatRepoIndex(path.join(tmp, 'apt'));
    log(`apt repo: ${count} .debs; pip index: ${fs.readdirSync(path.join(tmp, 'pip', 'files')).length} wheels`);
  });
  if (result.built) log(`indexes built in ${result.seconds.toFixed(0)} s: ${result.dir}`);
  return { aptDir: path.join(result.dir, 'apt'), pipDir: path.join(result.dir, 'pip'), seconds: result.seconds };
}
