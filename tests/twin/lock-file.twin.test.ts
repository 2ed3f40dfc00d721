import { createHash } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { readParameters } from './deviations';
import { ensureIndexes } from './indexes';
import { SignalResult, Twin, TWIN_REGION } from './launcher';
import { LockedWheel, lockFileText, resolveFromIndex } from './pip-lock';
import { mustRun } from './proc';
import { ensureRootfs } from './rootfs';
import { diagnostics, report, twinDescribe } from './support';
import { versionSetPath } from '../../lib/machine/version-set';

/**
 * python.lockFile (lib/config/lock-file.ts, lib/machine/python-lock-asset.ts):
 * a lock file made from the twin's own pip index (every project of the
 * packages' closure, each with its wheel's sha256) is shipped as an asset in
 * the twin's S3 and installed by the machine with pip's hash-checking mode.
 * A lock whose hash does not match the index's wheel fails the pip phase with
 * pip's error; an asset object altered after synth, or one the machine's role
 * may not read, is refused before pip runs; a lock without hashes that got
 * past synth (a hand-edited template) is refused by pip's --require-hashes.
 */
const FIXTURE = path.join(__dirname, 'fixtures', 'lock-file.config.json');
const STACK = 'locked-Machine';
/** The fixture's python.packages (the twin's index has no dask[complete]: deviations.ts). */
const PACKAGES: string[] = JSON.parse(fs.readFileSync(FIXTURE, 'utf8')).python.packages;
const LOCK_ON_MACHINE = '/var/lib/dasklab/pip-lock.txt';
const LOG = '/var/log/dasklab/bootstrap.log';
const VENV_PIP = ['/opt/dask/venv/bin/python', '-m', 'pip'];

const sha256 = (bytes: Buffer | string): string => createHash('sha256').update(bytes).digest('hex');
/** PEP 503 normalized name: pip freeze writes `PyYAML`, a lock may write `pyyaml`. */
const normalized = (name: string): string => name.toLowerCase().replace(/[-_.]+/g, '-');
/** `name==version` lines as a map of normalized name to version. */
const pins = (lines: string): Record<string, string> =>
  Object.fromEntries(
    lines
      .split('\n')
      .map((l) => /^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)/.exec(l.trim()))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => [normalized(m[1]), m[2]]),
  );

/** Synthesizes the fixture app with `lockText` as its lock file; returns the cdk.out directory. */
async function synthWithLock(lockText: string): Promise<string> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dasklab-lock-file-test-'));
  fs.copyFileSync(FIXTURE, path.join(dir, 'lock-file.config.json'));
  fs.writeFileSync(path.join(dir, 'requirements.lock'), lockText);
  const out = path.join(dir, 'cdk.out');
  await mustRun('npx', ['--no-install', 'cdk', 'synth', '--quiet', '--output', out, '-c', `config=${path.join(dir, 'lock-file.config.json')}`], {
    cwd: path.resolve(__dirname, '..', '..'),
    timeoutMs: 5 * 60 * 1000,
  });
  return out;
}

/** The cdk.out file asset that is the lock file (its displayName is the construct's), and the key of another asset of the bucket. */
function lockAssetOf(templateDir: string): { file: string; key: string; otherKey: string } {
  const files = Object.values<any>(JSON.parse(fs.readFileSync(path.join(templateDir, `${STACK}.assets.json`), 'utf8')).files); // eslint-disable-line @typescript-eslint/no-explicit-any
  const keyOf = (asset: { destinations: Record<string, { objectKey: string }> }) => Object.values(asset.destinations)[0].objectKey;
  const lock = files.find((f) => f.displayName === 'Python lock file');
  const other = files.find((f) => f !== lock);
  return { file: path.join(templateDir, lock.source.path), key: keyOf(lock), otherKey: keyOf(other) };
}

twinDescribe('twin: python.lockFile installed with pip\'s hash-checking mode', () => {
  let locked: LockedWheel[];
  let lockText: string;
  let synthesized: string;
  let tampered: { out: string; wheel: LockedWheel; badHash: string };
  let pipDir: string;
  const dirs: string[] = [];

  beforeAll(async () => {
    // The lock: pip's resolution of the fixture's packages against the twin's index, with each wheel's sha256.
    const log = (msg: string) => process.stderr.write(`[lock-file] ${msg}\n`);
    const rootfs = await ensureRootfs(log);
    pipDir = (await ensureIndexes(rootfs.dir, log)).pipDir;
    locked = await resolveFromIndex(rootfs.dir, pipDir, PACKAGES);
    lockText = lockFileText(locked, `pip install --dry-run --report ${PACKAGES.join(' ')}`);
    // The same lock with one wheel's hash changed: still a well-formed lock, so synth accepts it.
    const wheel = locked.find((w) => w.name === 'numpy')!;
    const badHash = [...wheel.sha256].reverse().join('');
    const [good, bad] = await Promise.all([synthWithLock(lockText), synthWithLock(lockText.replace(wheel.sha256, badHash))]);
    synthesized = good;
    tampered = { out: bad, wheel, badHash };
    dirs.push(path.dirname(good), path.dirname(bad));
  });

  afterAll(() => {
    for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
  });

  describe('a lock of the packages and their dependencies', () => {
    let twin: Twin;
    let result: SignalResult;

    beforeAll(async () => {
      twin = await Twin.start({ templateDir: synthesized, stack: STACK, timeoutSeconds: 900 });
      [result] = await twin.waitForSignals();
      await report(twin, [result]);
    });

    afterAll(async () => {
      await twin?.stop();
    });

    const sh = async (cmd: string[], user?: string) => {
      const r = await twin.exec(twin.machines[0], cmd, { user, timeoutMs: 120_000 });
      if (r.code !== 0) throw new Error(`${cmd.join(' ')} exited ${r.code}\n${r.stdout}\n${r.stderr}`);
      return r.stdout;
    };

    test('GIVEN the lock as the app\'s python.lockFile WHEN the machine boots THEN it is ready with exactly the locked versions, installed from the lock with their hashes checked', async () => {
      // GIVEN the machine's user data naming the lock's object and the sha256 synth saw
      const m = twin.machines[0];
      const params = readParameters(fs.readFileSync(path.join(twin.runDir, 'user-data-0'), 'utf8'));
      expect(params.get('DASKLAB_PIP_LOCK_SHA256')).toBe(sha256(lockText));
      expect(params.get('DASKLAB_PIP_LOCK_KEY')).toBe(lockAssetOf(synthesized).key);

      // WHEN it boots: THEN it signals SUCCESS and is ready
      if (result.status !== 'SUCCESS') throw new Error(`${result.status}: ${result.reason}\n${await diagnostics(twin)}`);
      const ready = await twin.readyJson(m);
      expect(ready.status).toBe('ready');
      expect(twin.bootstrapTags(m)).toEqual(['bootstrapping', 'ready']);

      // AND it read the lock's object from S3 with its role (the grant), and holds the very file synth checked
      const bucket = params.get('DASKLAB_PIP_LOCK_BUCKET') as string;
      expect(twin.services.s3Requests.filter((r) => r.instanceId === m.instanceId).map((r) => `${r.method} ${r.object} ${r.status}`))
        .toEqual(expect.arrayContaining([`GET ${bucket}/${params.get('DASKLAB_PIP_LOCK_KEY')} 200`]));
      expect(await sh(['sha256sum', LOCK_ON_MACHINE])).toMatch(new RegExp(`^${sha256(lockText)} `));

      // AND its venv holds exactly the locked projects at the locked versions, nothing more
      const frozen = pins(await sh([...VENV_PIP, 'freeze', '--all', '--exclude', 'pip'], 'ubuntu'));
      expect(frozen).toEqual(pins(lockText));
      // (the wheels pip installed are the ones whose hashes the lock holds)
      const fromLock = (await sh(['grep', '-o', '-E', `Collecting \\S+ \\(from -r ${LOCK_ON_MACHINE}`, LOG])).trim().split('\n');
      expect(new Set(fromLock).size).toBe(locked.length);

      // AND the bootstrap log shows the lock's install
      const log = await sh(['cat', LOG]);
      expect(log).toMatch(new RegExp(`the lock file pins ${locked.length} packages; pip installs it with --require-hashes`));
      expect(log).not.toMatch(/the version set .* pins/);

      // AND ready.json's versions and version set are what the venv runs, the set named for the lock
      const imported = JSON.parse(await sh(['/opt/dask/venv/bin/python', '-c', 'import json, numpy, dask, distributed; print(json.dumps({"numpy": numpy.__version__, "dask": dask.__version__, "distributed": distributed.__version__}))'], 'ubuntu'));
      expect(ready.versions).toMatchObject(imported);
      const setPath = versionSetPath('locked', { pythonVersion: '3.12', packages: PACKAGES, lockFile: { sha256: sha256(lockText) } });
      expect(ready.versionSet.parameter).toBe(`${setPath}/base`);
      expect(pins(Object.entries<string>(ready.versionSet.packages).map(([n, v]) => `${n}==${v}`).join('\n'))).toEqual(pins(lockText));
      // AND the set it shared in Parameter Store is the lock's versions
      const [stored] = await twin.moto.getParameters(TWIN_REGION, [`${setPath}/base`]);
      expect(pins(stored.value)).toEqual(pins(lockText));
    });

    test('GIVEN the lock\'s object in the asset bucket WHEN the machine asks for any other object of the bucket THEN its role may not read it', async () => {
      // GIVEN the one object the role's ReadPythonLockFile statement names
      const m = twin.machines[0];
      const params = readParameters(fs.readFileSync(path.join(twin.runDir, 'user-data-0'), 'utf8'));
      const bucket = params.get('DASKLAB_PIP_LOCK_BUCKET') as string;
      const key = params.get('DASKLAB_PIP_LOCK_KEY') as string;
      const get = (k: string) =>
        twin.exec(m, ['env', `AWS_ENDPOINT_URL=${params.get('DASKLAB_AWS_ENDPOINT_URL')}`, 'python3', '-c',
          'import sys, boto3; print(len(boto3.client("s3", region_name="us-east-1").get_object(Bucket=sys.argv[1], Key=sys.argv[2])["Body"].read()))', bucket, k]);
      // WHEN the machine gets it, and another asset of the same bucket
      const own = await get(key);
      const other = await get(lockAssetOf(synthesized).otherKey);
      // THEN the first is the lock, the second AccessDenied
      expect({ code: own.code, out: own.stdout.trim() }).toEqual({ code: 0, out: String(Buffer.byteLength(lockText)) });
      expect(other.code).not.toBe(0);
      expect(other.stderr).toMatch(/AccessDenied/);
    });
  });

  describe('a lock that does not hold', () => {
    let broken: { tamperedHash: Twin; altered: Twin; noGrant: Twin; hashless: Twin };
    let results: { tamperedHash: SignalResult; altered: SignalResult; noGrant: SignalResult; hashless: SignalResult };
    let alteredSha: string;
    const extraWheel = 'requests';

    beforeAll(async () => {
      // The asset object altered after synth: the lock with a pin synth never saw (with its wheel's real hash, which pip would accept).
      const altered = fs.mkdtempSync(path.join(os.tmpdir(), 'dasklab-lock-file-altered-'));
      const noGrant = fs.mkdtempSync(path.join(os.tmpdir(), 'dasklab-lock-file-no-grant-'));
      dirs.push(altered, noGrant);
      fs.cpSync(synthesized, altered, { recursive: true });
      const file = fs.readdirSync(path.join(pipDir, 'files')).find((f) => f.startsWith(`${extraWheel}-`))!;
      const alteredText = `${lockText}${file.split('-')[0]}==${file.split('-')[1]} \\\n    --hash=sha256:${sha256(fs.readFileSync(path.join(pipDir, 'files', file)))}\n`;
      fs.writeFileSync(lockAssetOf(altered).file, alteredText);
      alteredSha = sha256(alteredText);
      // A role without the grant: the template's ReadPythonLockFile statement taken out.
      fs.cpSync(synthesized, noGrant, { recursive: true });
      const templateFile = path.join(noGrant, `${STACK}.template.json`);
      const template = JSON.parse(fs.readFileSync(templateFile, 'utf8'));
      let removed = 0;
      for (const resource of Object.values<any>(template.Resources)) { // eslint-disable-line @typescript-eslint/no-explicit-any
        if (resource.Type !== 'AWS::IAM::Policy') continue;
        const statements = resource.Properties.PolicyDocument.Statement;
        resource.Properties.PolicyDocument.Statement = statements.filter((s: { Sid?: string }) => s.Sid !== 'ReadPythonLockFile');
        removed += statements.length - resource.Properties.PolicyDocument.Statement.length;
      }
      expect(removed).toBe(1);
      fs.writeFileSync(templateFile, JSON.stringify(template));
      // A lock without hashes that got past synth: the asset's pins without their hashes, and the
      // template's sha256 edited to match it (synth itself refuses such a lock).
      const hashless = fs.mkdtempSync(path.join(os.tmpdir(), 'dasklab-lock-file-hashless-'));
      dirs.push(hashless);
      fs.cpSync(synthesized, hashless, { recursive: true });
      const hashlessText = locked.map((w) => `${w.name}==${w.version}\n`).join('');
      fs.writeFileSync(lockAssetOf(hashless).file, hashlessText);
      const hashlessTemplate = path.join(hashless, `${STACK}.template.json`);
      const original = fs.readFileSync(hashlessTemplate, 'utf8');
      expect(original.split(sha256(lockText)).length - 1).toBe(1);
      fs.writeFileSync(hashlessTemplate, original.replace(sha256(lockText), sha256(hashlessText)));

      // Four deploys at once: each fails before or in the pip phase.
      const start = (templateDir: string) => Twin.start({ templateDir, stack: STACK, timeoutSeconds: 900 });
      const twins = await Promise.allSettled([start(tampered.out), start(altered), start(noGrant), start(hashless)]);
      const [t, a, n, h] = twins.map((s) => (s.status === 'fulfilled' ? s.value : undefined));
      if (!t || !a || !n || !h) {
        await Promise.all([t, a, n, h].map((x) => x?.stop()));
        throw twins.find((s): s is PromiseRejectedResult => s.status === 'rejected')!.reason;
      }
      broken = { tamperedHash: t, altered: a, noGrant: n, hashless: h };
      const [rt, ra, rn, rh] = await Promise.all([t, a, n, h].map(async (x) => (await x.waitForSignals())[0]));
      results = { tamperedHash: rt, altered: ra, noGrant: rn, hashless: rh };
      for (const [x, r] of [[t, rt], [a, ra], [n, rn], [h, rh]] as Array<[Twin, SignalResult]>) await report(x, [r]);
    });

    afterAll(async () => {
      await Promise.all(Object.values(broken ?? {}).map((x) => x.stop()));
    });

    /** The machine failed in the pip phase and nothing reports it ready; returns its bootstrap log. */
    async function failedInPip(twin: Twin, result: SignalResult): Promise<string> {
      const m = twin.machines[0];
      if (result.status !== 'FAILURE') throw new Error(`expected FAILURE, got ${result.status}: ${result.reason}\n${await diagnostics(twin)}`);
      expect(result.reason).toMatch(/^phase pip failed/);
      expect(twin.services.signals.filter((s) => s.handle === m.handle).map((s) => s.body.Status)).toEqual(['FAILURE']);
      const ready = await twin.readyJson(m);
      expect({ status: ready.status, failedPhase: ready.failedPhase }).toEqual({ status: 'failed', failedPhase: 'pip' });
      expect(twin.bootstrapTags(m).pop()).toBe('failed:pip');
      // No package of the lock in the venv, and no version set shared.
      const frozen = await twin.exec(m, [...VENV_PIP, 'freeze', '--exclude', 'pip'], { user: 'ubuntu' });
      expect({ code: frozen.code, freeze: frozen.stdout.trim() }).toEqual({ code: 0, freeze: '' });
      expect(twin.services.ssmCalls.filter((c) => c.action === 'PutParameter')).toEqual([]);
      return (await twin.exec(m, ['cat', LOG])).stdout;
    }

    test('GIVEN a lock with a wrong hash for one wheel WHEN the machine boots THEN pip refuses the wheel and the pip phase fails, nothing installed', async () => {
      // GIVEN the lock with numpy's hash changed (WHEN booted: beforeAll)
      const { tamperedHash: twin } = broken;
      // THEN the bootstrap failed in the pip phase, with pip's hash mismatch as the reason
      const log = await failedInPip(twin, results.tamperedHash);
      expect(results.tamperedHash.reason).toMatch(/THESE PACKAGES DO NOT MATCH THE HASHES FROM THE REQUIREMENTS FILE/);
      expect(log).toMatch(new RegExp(`numpy==${tampered.wheel.version} from .*${tampered.wheel.file.replace(/[.+]/g, '\\$&')}`));
      expect(log).toMatch(new RegExp(`Expected sha256 ${tampered.badHash}`));
      expect(log).toMatch(new RegExp(`Got +${tampered.wheel.sha256}`));
    });

    test('GIVEN the asset object altered after synth WHEN the machine boots THEN the bootstrap refuses it, naming both sha256s, before pip runs', async () => {
      // GIVEN the object in the bucket differs from the file synth checked (WHEN booted: beforeAll)
      const { altered: twin } = broken;
      // THEN the pip phase failed on the lock's sha256, and the index was never asked
      const log = await failedInPip(twin, results.altered);
      expect(log).toMatch(new RegExp(`the lock file s3://\\S+ has sha256 ${alteredSha}, not that of the file synth checked \\(${sha256(lockText)}\\)`));
      expect(results.altered.reason).toMatch(/not that of the file synth checked/);
      expect(fs.readFileSync(twin.services.accessLog, 'utf8')).not.toMatch(/ pip /);
      expect((await twin.exec(twin.machines[0], ['test', '-e', LOCK_ON_MACHINE])).code).not.toBe(0);
    });

    test('GIVEN a machine role without the grant on the lock\'s object WHEN the machine boots THEN S3 refuses the read and the pip phase fails naming the object', async () => {
      // GIVEN the template's role policy without ReadPythonLockFile (WHEN booted: beforeAll)
      const { noGrant: twin } = broken;
      const m = twin.machines[0];
      // THEN every read of the object was refused (AccessDenied from the twin's S3 endpoint)
      const reads = twin.services.s3Requests.filter((r) => r.instanceId === m.instanceId);
      expect(reads.length).toBeGreaterThan(0);
      expect(reads.every((r) => r.status === 403 && r.object.endsWith(lockAssetOf(synthesized).key))).toBe(true);
      // AND the bootstrap failed in the pip phase naming the object
      const log = await failedInPip(twin, results.noGrant);
      expect(log).toMatch(new RegExp(`the lock file s3://\\S+/${lockAssetOf(synthesized).key}: .*(403|Forbidden|AccessDenied)`));
      expect(log).toContain("the role's grant, the asset not published");
      expect(fs.readFileSync(twin.services.accessLog, 'utf8')).not.toMatch(/ pip /);
    });

    test('GIVEN a lock without hashes that reached the machine past synth WHEN the machine boots THEN pip\'s --require-hashes refuses it, nothing installed', async () => {
      // GIVEN the asset's pins without hashes, the user data's sha256 edited to match (WHEN booted: beforeAll)
      const { hashless: twin } = broken;
      // THEN the lock was fetched and accepted, and pip refused to install a requirement without a hash
      const log = await failedInPip(twin, results.hashless);
      expect(log).toMatch(new RegExp(`the lock file pins ${locked.length} packages`));
      expect(log).toMatch(/Hashes are required in --require-hashes mode, but they are missing from some requirements/);
    });
  });
});
