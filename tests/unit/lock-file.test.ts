/**
 * python.lockFile (lib/config/lock-file.ts): what the loader accepts as a pip
 * lock file, how it checks it against what the app asks pip for, and that
 * every refusal names the line, what was wrong and what is accepted.
 */
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ConfigError } from '../../lib/config/errors';
import { loadConfig, validateConfig } from '../../lib/config/load';
import { loadLockFile, lockFilePathProblem, MAX_LOCK_FILE_BYTES, parseLockFile, unlockedRequirements } from '../../lib/config/lock-file';
import { ConfigSchema } from '../../lib/config/schema';
import { configErrorOf } from './config-errors';
import { TEST_CONFIG_DIR } from './support';

const FIXTURE = 'tests/fixtures/python-lock/requirements.lock';
const HASH = `sha256:${'a'.repeat(64)}`;

/** The problems loading `text` as a lock file for `packages` reports, or [] when it is accepted. */
function problemsOf(text: string, packages: string[] = ['numpy']): string[] {
  const parsed = parseLockFile(text);
  return parsed.problems.length > 0 ? parsed.problems : unlockedRequirements(parsed.packages, { packages });
}

describe('a lock file as pip-compile and uv write it', () => {
  test('the fixture, with its continuations, "# via" comments and extras, pins every project at its version', () => {
    // GIVEN pip-compile --generate-hashes output
    const text = fs.readFileSync(path.join(TEST_CONFIG_DIR, FIXTURE), 'utf8');
    // WHEN it is parsed
    const parsed = parseLockFile(text);
    // THEN each project is pinned once, under its normalized name, with the line it starts on
    expect(parsed.problems).toEqual([]);
    expect(parsed.packages.map((p) => `${p.project}==${p.version}@${p.line}`)).toEqual([
      'bokeh==3.6.2@7',
      'dask==2024.12.1@11',
      'distributed==2024.12.1@15',
      'jupyterlab==4.3.4@19',
      'numpy==2.2.1@23',
      'pandas==2.2.3@29',
      'typing-extensions==4.12.2@33',
      'requests==2.32.3@38',
    ]);
  });

  test.each([
    ['uv\'s layout', `# uv pip compile --generate-hashes\nnumpy==2.2.1 \\\n    --hash=${HASH}\n    # via -r requirements.in\n`],
    ['one line, --hash with a space', `numpy==2.2.1 --hash ${HASH}\n`],
    ['CRLF line ends and a byte order mark', `\ufeffnumpy==2.2.1 \\\r\n    --hash=${HASH}\r\n`],
    ['=== and sha512', `numpy===2.2.1 --hash=sha512:${'b'.repeat(128)}\n`],
    ['a project pinned once per environment marker', `numpy==2.2.1 ; python_version >= "3.12" --hash=${HASH}\nnumpy==1.26.4 ; python_version < "3.12" --hash=${HASH}\n`],
  ])('%s is accepted', (_, text) => {
    expect(problemsOf(text)).toEqual([]);
  });
});

describe('lines pip\'s hash-checking mode refuses are refused at synth, each named', () => {
  test.each([
    ['a pin without a hash', 'numpy==2.2.1\n', 'line 1 "numpy==2.2.1": expected at least one --hash=sha256:<64 hex digits>'],
    ['a range instead of a pin', `numpy>=2 --hash=${HASH}\n`, 'expected a version pinned with == (e.g. "dask==2024.12.1")'],
    ['a wildcard pin', `numpy==2.2.* --hash=${HASH}\n`, 'expected a version pinned with =='],
    ['a URL requirement', `numpy @ https://example.org/numpy-2.2.1.whl --hash=${HASH}\n`, 'expected a version pinned with =='],
    ['a weak hash', 'numpy==2.2.1 --hash=md5:d41d8cd98f00b204e9800998ecf8427e\n', 'expected hashes of the form sha256:<64 hex digits> (or sha384, sha512); "md5:d41d8cd98f00b204e9800998ecf8427e" is not one'],
    ['a short digest', 'numpy==2.2.1 --hash=sha256:abc\n', '"sha256:abc" is not one'],
    [
      'an index option',
      `--index-url https://pypi.example.org/simple\nnumpy==2.2.1 --hash=${HASH}\n`,
      'line 1 "--index-url https://pypi.example.org/simple": expected a pinned requirement with its hashes; pip options on a line of their own (--index-url) are not accepted: ' +
        'the package index is python.indexUrl or python.codeArtifact (pip-compile leaves index lines out with --no-emit-index-url --no-emit-trusted-host',
    ],
    ['an option hidden after a comment that ends in a backslash', `# made by hand \\\n--extra-index-url https://evil.example/simple\nnumpy==2.2.1 --hash=${HASH}\n`, 'line 2 "--extra-index-url https://evil.example/simple"'],
    ['a space after a line\'s final backslash', `numpy==2.2.1 \\ \n    --hash=${HASH}\n`, 'line 2 "--hash=sha256:aaaa'],
    ['two pins of a project under the same marker spelt apart', `numpy==1.26.4 ; python_version >= "3.12" --hash=${HASH}\nnumpy==2.2.1 ; python_version>='3.12' --hash=${HASH}\n`, 'line 2'],
    ['an include', `-r base.txt\nnumpy==2.2.1 --hash=${HASH}\n`, 'pip options on a line of their own (-r)'],
    ['an option beside a requirement', `numpy==2.2.1 --no-binary=:all: --hash=${HASH}\n`, 'expected only --hash options after a requirement; --no-binary is not accepted'],
    ['a project twice', `numpy==2.2.1 --hash=${HASH}\nNumPy==2.2.2 --hash=${HASH}\n`, 'line 2 "NumPy==2.2.2 --hash=sha256:aaaa'],
    ['no requirement at all', '# nothing\n\n', 'expected at least one pinned requirement; the file has none'],
  ])('%s', (_, text, message) => {
    const problems = problemsOf(text);
    expect(problems.length).toBeGreaterThan(0);
    expect(problems.join('\n')).toContain(message);
  });

  test('a project twice names the line it was pinned on first', () => {
    expect(problemsOf(`numpy==2.2.1 --hash=${HASH}\nNumPy==2.2.2 --hash=${HASH}\n`)).toEqual([
      expect.stringContaining('expected each project once (or once per environment marker); "numpy" is already pinned on line 1'),
    ]);
  });

  test('a line with a credential in a URL is not echoed', () => {
    const [problem] = problemsOf('--extra-index-url https://user:s3cret@pypi.example.org/simple\n');
    expect(problem).toContain('(not shown: it holds a credential)');
    expect(problem).not.toContain('s3cret');
  });

  test('a file of bad lines reports 20 and says it stopped', () => {
    const problems = problemsOf('numpy==1\n'.repeat(50));
    expect(problems).toHaveLength(21);
    expect(problems[20]).toBe('(further lines not checked)');
  });
});

describe('the lock file must pin what the app asks pip for', () => {
  const locked = parseLockFile(fs.readFileSync(path.join(TEST_CONFIG_DIR, FIXTURE), 'utf8')).packages;

  test('python.packages pinned at versions their specifiers allow, names in any spelling: no problem', () => {
    expect(unlockedRequirements(locked, { packages: ['NumPy>=2,<3', 'dask[complete]==2024.12.*', 'Typing_Extensions'] })).toEqual([]);
  });

  test('a package the file does not pin is named, with where it was asked for', () => {
    expect(unlockedRequirements(locked, { packages: ['numpy', 'scipy'], courseRequirements: ['xarray'] })).toEqual([
      'python.packages names "scipy", which the lock file does not pin (regenerate the lock file from the same requirements)',
      'the course\'s requirements.txt names "xarray", which the lock file does not pin (regenerate the lock file from the same requirements)',
    ]);
  });

  test('a pin outside a package\'s specifiers is named with the pinned version and its line', () => {
    expect(unlockedRequirements(locked, { packages: ['dask[complete]>=2025.1'] })).toEqual([
      'python.packages asks for "dask[complete]>=2025.1"; the lock file pins dask==2024.12.1 (line 11), which >=2025.1 does not allow',
    ]);
  });

  test('JupyterLab\'s packages are asked for only where a machine runs it', () => {
    const withoutJupyter = parseLockFile(`numpy==2.2.1 --hash=${HASH}\n`).packages;
    expect(unlockedRequirements(withoutJupyter, { packages: ['numpy'] })).toEqual([]);
    expect(unlockedRequirements(withoutJupyter, { packages: ['numpy'], jupyterPackages: ['jupyterlab'] })).toEqual([
      'JupyterLab (lab.jupyter or cluster.jupyter) names "jupyterlab", which the lock file does not pin (regenerate the lock file from the same requirements)',
    ]);
  });

  test('a requirement under an environment marker is left to pip on the machine: it may not apply there', () => {
    expect(unlockedRequirements(locked, { packages: ['numpy', 'pywin32; sys_platform == "win32"'] })).toEqual([]);
  });

  test('pins under markers are alternatives: one of them must be allowed', () => {
    // GIVEN uv's universal output: one numpy for old Pythons, one for the rest
    const universal = parseLockFile(`numpy==2.0.2 ; python_full_version < '3.10' --hash=${HASH}\nnumpy==2.2.1 ; python_full_version >= '3.10' --hash=${HASH}\n`);
    expect(universal.problems).toEqual([]);
    // THEN numpy>=2.1 is met by the second; numpy>=2.3 by neither, and the first pin is named
    expect(unlockedRequirements(universal.packages, { packages: ['numpy>=2.1'] })).toEqual([]);
    expect(unlockedRequirements(universal.packages, { packages: ['numpy>=2.3'] })).toEqual([
      'python.packages asks for "numpy>=2.3"; the lock file pins numpy==2.0.2 (line 1), which >=2.3 does not allow',
    ]);
  });

  test('an explicit pin of a pre-release meets a range, as pip installs it', () => {
    const rc = parseLockFile(`dask==2025.1.0rc1 --hash=${HASH}\n`).packages;
    expect(unlockedRequirements(rc, { packages: ['dask>=2024'] })).toEqual([]);
    expect(unlockedRequirements(rc, { packages: ['dask<2025'] })).toHaveLength(1);
  });

  test('a URL requirement in python.packages cannot be checked against a lock, and is refused', () => {
    expect(unlockedRequirements(locked, { packages: ['numpy @ https://example.org/numpy-2.2.1-py3-none-any.whl'] })).toEqual([
      expect.stringContaining('a URL requirement: with a lock file, name the project (and pin it in the lock file) instead'),
    ]);
  });
});

describe('reading the file', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dasklab-lock-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('the sha256 is that of the file\'s bytes, and the path is resolved from the config\'s directory', () => {
    // GIVEN a lock file beside a config
    const bytes = `numpy==2.2.1 --hash=${HASH}\n`;
    fs.writeFileSync(path.join(dir, 'requirements.lock'), bytes);
    // WHEN it is loaded by its relative path
    const lock = loadLockFile('requirements.lock', dir, { packages: ['numpy'] });
    // THEN
    expect(lock.file).toBe(path.join(dir, 'requirements.lock'));
    expect(lock.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
  });

  test.each([
    ['a missing file', 'missing.lock', (d: string) => `expected a lock file; not found: ${path.join(d, 'missing.lock')} (a relative path is read from the config file's directory)`],
    ['a folder', '.', (d: string) => `expected a lock file; ${d} is not a regular file`],
  ])('%s is refused, naming the path', (_, written, message) => {
    expect(() => loadLockFile(written, dir, { packages: ['numpy'] })).toThrow(ConfigError);
    try {
      loadLockFile(written, dir, { packages: ['numpy'] });
    } catch (err) {
      expect((err as ConfigError).problems).toEqual([`python.lockFile: "${written}" is not accepted; ${message(dir)}`]);
    }
  });

  test.each([
    ['UTF-16, as PowerShell 5 writes it', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(`numpy==2.2.1 --hash=${HASH}\n`, 'utf16le')]), 'expected a UTF-8 text file; it is UTF-16 (save it as UTF-8'],
    ['bytes that are not UTF-8', Buffer.from([0x6e, 0x75, 0x6d, 0xff, 0x70, 0x79]), 'expected a UTF-8 text file; it holds bytes that are not UTF-8'],
  ])('a file in another encoding (%s) is refused once, saying so', (_, bytes, message) => {
    fs.writeFileSync(path.join(dir, 'other.lock'), bytes);
    try {
      loadLockFile('other.lock', dir, { packages: ['numpy'] });
      throw new Error('accepted');
    } catch (err) {
      expect((err as ConfigError).problems).toEqual([expect.stringContaining(message)]);
    }
  });

  test('a file just over the size limit is refused; one at the limit is read', () => {
    const line = `numpy==2.2.1 --hash=${HASH}\n`;
    const atLimit = line + '#'.repeat(MAX_LOCK_FILE_BYTES - line.length - 1) + '\n';
    fs.writeFileSync(path.join(dir, 'at.lock'), atLimit);
    fs.writeFileSync(path.join(dir, 'over.lock'), atLimit + '\n');
    expect(loadLockFile('at.lock', dir, { packages: ['numpy'] }).packages).toHaveLength(1);
    expect(() => loadLockFile('over.lock', dir, { packages: ['numpy'] })).toThrow(/expected a lock file of at most 1024 KiB; .* has 1,048,577 bytes/);
  });

  test.each([
    ['', 'the path is empty'],
    [' a.lock', 'the path starts or ends with a space or line break'],
    ['a\nb.lock', 'the path contains a control character'],
  ])('the path %j is refused by the schema: %s', (written, reason) => {
    expect(lockFilePathProblem(written)).toContain(reason);
    const result = ConfigSchema.safeParse({ python: { lockFile: written } });
    expect(result.success).toBe(false);
  });
});

describe('the loader', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dasklab-lock-config-'));
    fs.copyFileSync(path.join(TEST_CONFIG_DIR, FIXTURE), path.join(dir, 'requirements.lock'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('a config file\'s lock file is read beside it and kept in python.lock', () => {
    // GIVEN a config naming the lock file beside it
    const file = path.join(dir, 'dasklab.config.json');
    fs.writeFileSync(file, JSON.stringify({ name: 'locked', python: { lockFile: 'requirements.lock' } }));
    // WHEN it is loaded
    const config = loadConfig(file);
    // THEN the lock is there, with its sha256
    expect(config.python.lockFile).toBe('requirements.lock');
    expect(config.python.lock?.packages.length).toBe(8);
    expect(config.python.lock?.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  test('a lab with JupyterLab needs jupyterlab in the lock; the course\'s requirements too', () => {
    // GIVEN a lock without jupyterlab, and a lab with JupyterLab and course materials that ask for "requests"
    fs.writeFileSync(path.join(dir, 'small.lock'), `numpy==2.2.1 --hash=${HASH}\ndask==2024.12.1 --hash=${HASH}\n`);
    fs.mkdirSync(path.join(dir, 'course'));
    fs.writeFileSync(path.join(dir, 'course', 'requirements.txt'), 'requests\n');
    fs.writeFileSync(path.join(dir, 'course', 'intro.ipynb'), '{}');
    const data = { python: { lockFile: 'small.lock', packages: ['numpy', 'dask'] }, lab: { roster: ['ada'], jupyter: true, materials: 'course' } };
    // WHEN it is validated
    // THEN both are named, among every other problem of the config
    expect(() => validateConfig({ ...data, machine: { diskGiB: 2 } }, 'test', dir)).toThrow(ConfigError);
    try {
      validateConfig({ ...data, machine: { diskGiB: 2 } }, 'test', dir);
    } catch (err) {
      const problems = (err as ConfigError).problems;
      expect(problems).toEqual(
        expect.arrayContaining([
          expect.stringMatching(/^machine\.diskGiB/),
          'python.lockFile: "small.lock" is not accepted; the course\'s requirements.txt names "requests", which the lock file does not pin (regenerate the lock file from the same requirements)',
          'python.lockFile: "small.lock" is not accepted; JupyterLab (lab.jupyter or cluster.jupyter) names "jupyterlab", which the lock file does not pin (regenerate the lock file from the same requirements)',
        ]),
      );
    }
  });

  test('beside other problems, the lock is checked against the string entries of python.packages and cluster.jupyter', () => {
    // GIVEN a lock of numpy and dask, and configs with a problem elsewhere
    fs.writeFileSync(path.join(dir, 'small.lock'), `numpy==2.2.1 --hash=${HASH}\ndask==2024.12.1 --hash=${HASH}\n`);
    const refusalsOf = (data: Record<string, unknown>): string[] => configErrorOf({ ...data, machine: { diskGiB: 2 } }, dir).problems;
    const disk = 'machine.diskGiB: 2 is not accepted; expected an integer from 8 to 16384';
    const unpinned = (what: string, name: string) => `python.lockFile: "small.lock" is not accepted; ${what} names "${name}", which the lock file does not pin (regenerate the lock file from the same requirements)`;
    // WHEN the packages are pinned and nothing runs JupyterLab THEN the other problem is the only one
    expect(refusalsOf({ python: { lockFile: 'small.lock', packages: ['numpy', 'dask'] } })).toEqual([disk]);
    // WHEN a package entry is not a string, another is not pinned, and the cluster runs JupyterLab THEN each is named once
    expect(refusalsOf({ python: { lockFile: 'small.lock', packages: ['numpy', 5, 'pandas'] }, cluster: { jupyter: true } })).toEqual([
      disk,
      'python.packages[1]: 5 is not accepted; expected a pip requirement string such as "numpy" or "dask[complete]>=2024.1"',
      unpinned('python.packages', 'pandas'),
      unpinned('JupyterLab (lab.jupyter or cluster.jupyter)', 'jupyterlab'),
    ]);
    // WHEN python.packages is not a list THEN it is refused, and the lock is checked against nothing from it
    expect(refusalsOf({ python: { lockFile: 'small.lock', packages: 'numpy' } })).toEqual([disk, expect.stringMatching(/^python\.packages: "numpy" is not accepted; /)]);
    // WHEN the lock file's path is itself refused THEN the file is not looked for
    expect(refusalsOf({ python: { lockFile: '', packages: ['numpy', 'dask'] } })).toEqual([disk, expect.stringMatching(/^python\.lockFile: "" is not accepted; expected the path of a pip lock file/)]);
  });

  test('the schema alone does not read the file: python.lock says so rather than install unlocked', () => {
    const config = ConfigSchema.parse({ python: { lockFile: 'requirements.lock' } });
    expect(() => config.python.lock).toThrow(/python.lock: the lock file "requirements.lock" has not been read; ConfigSchema does not read files/);
    expect(ConfigSchema.parse({}).python.lock).toBeUndefined();
  });
});
