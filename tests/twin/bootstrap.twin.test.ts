import { SignalResult, Twin } from './launcher';
import { diagnostics, report, twinDescribe } from './support';

/**
 * The default app, synthesized from this repo, boots in the twin and its
 * bootstrap verifies itself: what a student does by hand works.
 */
twinDescribe('twin: default standalone machine', () => {
  let twin: Twin;
  let result: SignalResult;

  beforeAll(async () => {
    twin = await Twin.start({ timeoutSeconds: 900 });
    [result] = await twin.waitForSignals();
    await report(twin, [result]);
  });

  afterAll(async () => {
    await twin?.stop();
  });

  const sh = async (cmd: string, user?: string) => {
    const r = await twin.exec(twin.machines[0], ['bash', '-c', cmd], { user });
    if (r.code !== 0) throw new Error(`"${cmd}" exited ${r.code}\n${r.stdout}\n${r.stderr}`);
    return r.stdout.trim();
  };

  test('the template has one standalone machine and it signals SUCCESS', async () => {
    expect(twin.machines.map((m) => m.role)).toEqual(['standalone']);
    if (result.status !== 'SUCCESS') throw new Error(`${result.status}: ${result.reason}\n${await diagnostics(twin)}`);
    // The UniqueId comes from IMDSv2, which the twin answers per machine.
    expect(result.uniqueId).toBe(twin.machines[0].instanceId);
    // It tagged itself through the EC2 API with its instance-role credentials.
    expect(twin.bootstrapTags(twin.machines[0])).toEqual(['bootstrapping', 'ready']);
  });

  test('ready.json reports ready, and its versions are what the venv imports', async () => {
    const ready = await twin.readyJson(twin.machines[0]);
    expect(ready.status).toBe('ready');
    expect(Object.keys(ready.phases)).toEqual(expect.arrayContaining(['apt', 'venv', 'pip', 'verify']));
    const imported = JSON.parse(
      await sh(
        `/opt/dask/venv/bin/python -c 'import json, platform, numpy, dask; ` +
          `print(json.dumps({"python": platform.python_version(), "numpy": numpy.__version__, "dask": dask.__version__}))'`,
        'ubuntu',
      ),
    );
    expect(ready.versions).toMatchObject(imported);
  });

  test('ubuntu can make a venv of their own with python3 -m venv', async () => {
    await sh('cd ~ && python3 -m venv my-env && my-env/bin/python -m pip --version && rm -rf my-env', 'ubuntu');
  });

  test("ubuntu's login shell finds the dask venv", async () => {
    expect(await sh("su - ubuntu -c 'command -v python'")).toBe('/opt/dask/venv/bin/python');
    expect(await sh(`su - ubuntu -c 'python -c "import dask, numpy; print(dask.__name__)"'`)).toBe('dask');
  });

  test('the twin is what EC2 promises: IMDSv2 only, no way out', async () => {
    // HttpTokens: required: a GET without a token is refused.
    expect(await sh('curl -s -o /dev/null -w "%{http_code}" http://169.254.169.254/latest/meta-data/instance-id')).toBe('401');
    expect(await sh('ip route show default')).toBe('');
    expect(await sh('hostname')).toBe(twin.machines[0].hostname);
  });

  test('running the bootstrap again succeeds and changes nothing in the venv', async () => {
    const fingerprint = () =>
      sh(
        'cd /opt/dask/venv && find . -printf "%p %m %u %s %T@\\n" | sort | sha256sum && ' +
          'find . -type f -print0 | sort -z | xargs -0 sha256sum | sha256sum && ' +
          'sha256sum /etc/profile.d/dasklab-venv.sh /etc/systemd/system/dasklab-bootstrap.service',
      );
    const before = await fingerprint();
    const signalsBefore = twin.services.signals.length;
    await sh('systemctl restart dasklab-bootstrap.service');
    expect(await sh('systemctl is-active dasklab-bootstrap.service')).toBe('active');
    expect((await twin.readyJson(twin.machines[0])).status).toBe('ready');
    expect(await fingerprint()).toBe(before);
    // It signals again; CloudFormation would ignore a second SUCCESS from the same UniqueId.
    const again = twin.services.signals.slice(signalsBefore);
    expect(again.map((s) => s.body.Status)).toEqual(['SUCCESS']);
  });
});
