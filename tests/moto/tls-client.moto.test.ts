/**
 * `tls-client` against moto: the client certificate, key and CA that a
 * cluster's scheduler published as SecureString parameters, written to a
 * directory (key 0600) with a connect script and, when the app has a Python
 * version set, requirements.txt pinning it; clear errors when they are
 * missing or the app has no cluster.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { clusterTlsParameterPath } from '../../lib/cluster/cluster-tls';
import { ENDPOINT_ENV } from '../../lib/cli/clients';
import { MotoServer, motoSkipReason, startMoto } from './moto-server';
import { cli, fakeDeploy, REGION, shareVersionSet, tempDir, useMotoEnvironment } from './support';

const skip = motoSkipReason();
if (skip) console.warn(skip);
const suite = skip ? describe.skip : describe;

/** A CA and a client certificate it signed, made with openssl as the scheduler makes them. */
function certificates(dir: string): { caCert: string; clientCert: string; clientKey: string } {
  const run = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  run('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ca-key.pem', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=test cluster CA');
  run('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'client-key.pem', '-out', 'client.csr', '-subj', '/CN=dask client');
  run('x509', '-req', '-in', 'client.csr', '-CA', 'ca.pem', '-CAkey', 'ca-key.pem', '-CAcreateserial', '-out', 'client.pem', '-days', '2');
  const read = (f: string) => fs.readFileSync(path.join(dir, f), 'utf8');
  return { caCert: read('ca.pem'), clientCert: read('client.pem'), clientKey: read('client-key.pem') };
}

suite('tls-client against moto', () => {
  let moto: MotoServer;
  let restoreEnv: () => void;
  let tmp: { dir: string; remove: () => void };
  let ssm: SSMClient;

  beforeAll(async () => {
    moto = await startMoto((line) => console.log(line));
    restoreEnv = useMotoEnvironment(moto.endpoint);
    tmp = tempDir();
    ssm = new SSMClient({ region: REGION, endpoint: process.env[ENDPOINT_ENV] });
    // GIVEN a cluster whose scheduler published its client material, and a standalone machine of another app
    await fakeDeploy({ app: 'demo', machines: [{ role: 'scheduler', name: 'demo-scheduler' }, { role: 'worker', name: 'demo-worker-1' }] });
    await fakeDeploy({ app: 'solo', machines: [{ role: 'standalone', name: 'solo-machine' }] });
    await fakeDeploy({ app: 'half', machines: [{ role: 'scheduler', name: 'half-scheduler' }] });
  });

  afterAll(async () => {
    ssm?.destroy();
    tmp?.remove();
    restoreEnv?.();
    await moto?.stop();
  });

  /** Publishes a cluster's client material as its scheduler does. */
  async function publishClientMaterial(app: string): Promise<{ caCert: string; clientCert: string; clientKey: string }> {
    const material = certificates(fs.mkdtempSync(path.join(tmp.dir, 'ca-')));
    const base = clusterTlsParameterPath(app);
    for (const [leaf, value] of [['ca-cert', material.caCert], ['client-cert', material.clientCert], ['client-key', material.clientKey]]) {
      await ssm.send(new PutParameterCommand({ Name: `${base}/${leaf}`, Value: value, Type: 'SecureString', Overwrite: true }));
    }
    return material;
  }

  test('writes the CA, the client certificate and its key (0600) and a connect script; prints no key', async () => {
    const material = await publishClientMaterial('demo');
    // WHEN
    const out = path.join(tmp.dir, 'dask-tls');
    const run = await cli(['tls-client', '--out', out, '--app', 'demo', '--region', REGION]);
    // THEN
    expect(run.code).toBe(0);
    expect(fs.readdirSync(out).sort()).toEqual(['.dasklab-out', 'ca.pem', 'client-key.pem', 'client.pem', 'connect.py']);
    expect(fs.statSync(out).mode & 0o777).toBe(0o700);
    expect(fs.statSync(path.join(out, 'client-key.pem')).mode & 0o777).toBe(0o600);
    expect(fs.readFileSync(path.join(out, 'client-key.pem'), 'utf8')).toBe(material.clientKey);
    // The written certificate chains to the written CA, and the key is the certificate's
    const verify = execFileSync('openssl', ['verify', '-CAfile', 'ca.pem', 'client.pem'], { cwd: out }).toString();
    expect(verify.trim()).toBe('client.pem: OK');
    const publicKeyOf = (args: string[]) => execFileSync('openssl', args, { cwd: out }).toString();
    expect(publicKeyOf(['x509', '-in', 'client.pem', '-noout', '-pubkey'])).toBe(publicKeyOf(['pkey', '-in', 'client-key.pem', '-pubout']));
    // The connect script points at the scheduler over tls://, and is valid Python
    const connect = fs.readFileSync(path.join(out, 'connect.py'), 'utf8');
    expect(connect).toMatch(/SCHEDULER = "tls:\/\/[\d.]+:8786"/);
    execFileSync('python3', ['-c', 'import ast, sys; ast.parse(open(sys.argv[1]).read())', path.join(out, 'connect.py')]);
    // No key material on the terminal
    expect(run.stdout + run.stderr).not.toContain('PRIVATE KEY');
    expect(run.stdout).toContain(`Wrote ${out}: ca.pem, client.pem, client-key.pem (mode 0600), connect.py.`);
    // The app has no version set: no requirements.txt (above), and the summary says so
    expect(run.stdout).toContain('No requirements.txt: app demo has no Python version set yet');
  });

  test("with a version set: requirements.txt pins exactly the cluster's packages, and the summary says how to use it", async () => {
    // GIVEN a cluster with its client material and a version set of two kinds
    await fakeDeploy({ app: 'pinned', machines: [{ role: 'scheduler', name: 'pinned-scheduler' }, { role: 'worker', name: 'pinned-worker-1' }] });
    await publishClientMaterial('pinned');
    await shareVersionSet('pinned', 'abcdefabcdef', 'base', { numpy: '2.2.4', dask: '2024.12.1', distributed: '2024.12.1', Jinja2: '3.1.5', tornado: '6.4.1' });
    await shareVersionSet('pinned', 'abcdefabcdef', 'jupyter', { dask: '2024.12.1', jupyterlab: '4.3.4', tornado: '6.4.2' });
    // WHEN
    const out = path.join(tmp.dir, 'pinned-tls');
    const run = await cli(['tls-client', '--out', out, '--app', 'pinned', '--region', REGION]);
    const json = await cli(['tls-client', '--out', out, '--force', '--app', 'pinned', '--region', REGION, '--json']);
    // THEN
    expect(run.code).toBe(0);
    const requirements = path.join(out, 'requirements.txt');
    expect(fs.readFileSync(requirements, 'utf8')).toBe(
      ['dask==2024.12.1', 'distributed==2024.12.1', 'Jinja2==3.1.5', 'jupyterlab==4.3.4', 'numpy==2.2.4', 'tornado==6.4.1', ''].join('\n'),
    );
    expect(fs.statSync(requirements).mode & 0o777).toBe(0o644);
    expect(fs.readdirSync(out).sort()).toEqual(['.dasklab-out', 'ca.pem', 'client-key.pem', 'client.pem', 'connect.py', 'requirements.txt']);
    expect(run.stdout).toContain(`Wrote ${requirements}: the cluster's Python packages, pinned from its version set /dasklab/pinned/python/abcdefabcdef (dask 2024.12.1, numpy 2.2.4, 6 packages).`);
    expect(run.stdout).toContain(`pip install -r ${requirements}`);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ versionSet: '/dasklab/pinned/python/abcdefabcdef', files: expect.arrayContaining([{ name: 'requirements.txt', mode: '0644' }]) });
  });

  test('a cluster whose scheduler has not published yet: names what is missing, writes nothing', async () => {
    const out = path.join(tmp.dir, 'half-tls');
    const run = await cli(['tls-client', '--out', out, '--app', 'half', '--region', REGION]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('no TLS client material for app half: missing /dasklab/half/cluster/tls/ca-cert, /dasklab/half/cluster/tls/client-cert, /dasklab/half/cluster/tls/client-key');
    expect(fs.existsSync(out)).toBe(false);
  });

  test('an app without a cluster: says tls-client is for clusters', async () => {
    const run = await cli(['tls-client', '--out', path.join(tmp.dir, 'solo-tls'), '--app', 'solo', '--region', REGION]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('app solo has no Dask scheduler: tls-client is for a cluster');
  });
});
