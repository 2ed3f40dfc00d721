/**
 * A pip lock file (python.lockFile) of the twin's own pip index, as
 * `pip-compile --generate-hashes` would write it against that index: every
 * project of the requirements' dependency closure pinned with == and the
 * sha256 of the one wheel the index offers for it.
 *
 * The closure is pip's own: `pip install --dry-run --ignore-installed --report`
 * against the index's files, run by the machines' python (the rootfs's, so
 * that environment markers are evaluated as on the machines) in a throwaway
 * container with no network, with the pip wheel the index serves (pip runs
 * from its wheel). The hashes are computed here, from the wheel files.
 */
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { mustRun } from './proc';

/** One pinned project of a lock. */
export interface LockedWheel {
  /** As the wheel's metadata names it, e.g. `PyYAML`. */
  readonly name: string;
  readonly version: string;
  /** The wheel's file name in the index. */
  readonly file: string;
  /** sha256 of the wheel file, hex. */
  readonly sha256: string;
}

/** Resolves `requirements` against the index at `pipDir` (its `simple/` and `files/`) with pip, in a container of `rootfs`. */
export async function resolveFromIndex(rootfs: string, pipDir: string, requirements: readonly string[]): Promise<LockedWheel[]> {
  const pipWheel = fs.readdirSync(path.join(pipDir, 'files')).find((f) => /^pip-.*\.whl$/.test(f));
  if (!pipWheel) throw new Error(`the twin's index ${pipDir} has no pip wheel`);
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'dasklab-twin-lock-'));
  try {
    await mustRun(
      'setpriv',
      [
        '--pdeathsig', 'SIGKILL', 'systemd-nspawn', '--quiet', '--register=no', '--keep-unit', '--volatile=overlay', '--private-network',
        `--directory=${rootfs}`, `--bind-ro=${pipDir}:/pip`, `--bind=${out}:/out`,
        'env', 'PIP_NO_CACHE_DIR=1', 'PIP_DISABLE_PIP_VERSION_CHECK=1',
        'python3', `/pip/files/${pipWheel}/pip`, 'install', '--dry-run', '--ignore-installed', '--quiet', '--only-binary', ':all:',
        '--index-url', 'file:///pip/simple', '--report', '/out/report.json', ...requirements,
      ],
      { timeoutMs: 5 * 60 * 1000 },
    );
    const report = JSON.parse(fs.readFileSync(path.join(out, 'report.json'), 'utf8'));
    return report.install
      .map((item: { metadata: { name: string; version: string }; download_info: { url: string } }) => {
        const file = decodeURIComponent(item.download_info.url.split('/').pop()!);
        const sha256 = createHash('sha256').update(fs.readFileSync(path.join(pipDir, 'files', file))).digest('hex');
        return { name: item.metadata.name, version: item.metadata.version, file, sha256 };
      })
      .sort((a: LockedWheel, b: LockedWheel) => a.name.toLowerCase().localeCompare(b.name.toLowerCase()));
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
}

/** The lock file's text, in pip-compile's layout (`name==version \` and an indented `--hash=sha256:...`). */
export function lockFileText(wheels: readonly LockedWheel[], command: string): string {
  return [
    '#',
    `# Generated from the dasklab twin's pip index by: ${command}`,
    '#',
    ...wheels.map((w) => `${w.name}==${w.version} \\\n    --hash=sha256:${w.sha256}\n    # ${w.file}`),
    '',
  ].join('\n');
}
