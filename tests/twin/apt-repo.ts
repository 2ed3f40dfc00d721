import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { gzipSync } from 'zlib';
import { mustRun } from './proc';

/**
 * Writes the index of a flat apt repository (`deb [trusted=yes] URL ./`) for the
 * .debs in `dir`: Packages, Packages.gz and an unsigned Release, as
 * dpkg-scanpackages and apt-ftparchive would. Done here with dpkg-deb (part of
 * dpkg) so the host needs neither dpkg-dev nor apt-utils.
 */
export async function writeFlatRepoIndex(dir: string): Promise<number> {
  const debs = fs.readdirSync(dir).filter((f) => f.endsWith('.deb')).sort();
  const stanzas: string[] = [];
  for (const deb of debs) {
    const file = path.join(dir, deb);
    const control = (await mustRun('dpkg-deb', ['-f', file])).trimEnd();
    const data = fs.readFileSync(file);
    const hash = (alg: string) => createHash(alg).update(data).digest('hex');
    stanzas.push(
      [
        control,
        `Filename: ./${deb}`,
        `Size: ${data.length}`,
        `MD5sum: ${hash('md5')}`,
        `SHA1: ${hash('sha1')}`,
        `SHA256: ${hash('sha256')}`,
      ].join('\n'),
    );
  }
  const packages = Buffer.from(stanzas.join('\n\n') + '\n');
  const files: Record<string, Buffer> = { Packages: packages, 'Packages.gz': gzipSync(packages) };
  for (const [name, content] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), content);

  const section = (alg: string, title: string) =>
    `${title}:\n` +
    Object.entries(files)
      .map(([name, c]) => ` ${createHash(alg).update(c).digest('hex')} ${c.length} ${name}`)
      .join('\n');
  const release = [
    'Origin: dasklab-twin',
    'Label: dasklab-twin',
    `Date: ${new Date().toUTCString()}`,
    section('md5', 'MD5Sum'),
    section('sha256', 'SHA256'),
  ].join('\n');
  fs.writeFileSync(path.join(dir, 'Release'), release + '\n');
  return debs.length;
}
