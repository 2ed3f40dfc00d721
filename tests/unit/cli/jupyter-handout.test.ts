import { connectionOf } from '../../../lib/cli/connection';
import { HandoutContext, HandoutEntry } from '../../../lib/cli/handout-entry';
import { pageGroups, renderHandoutPage } from '../../../lib/cli/handout-page';
import { jupyterTunnelArgv } from '../../../lib/cli/jupyter-handout';
import { machine } from './support';

const context: HandoutContext = {
  app: 'lab1',
  region: 'eu-west-1',
  dir: '/home/trainer/handouts',
  generatedAt: new Date('2026-03-02T08:30:00Z'),
  jupyter: true,
};

function entry(overrides: Parameters<typeof machine>[0], ssh: boolean): HandoutEntry {
  const m = machine(overrides);
  const reach = { ssh, dashboard: false };
  return {
    machine: m,
    reach,
    connection: connectionOf(m, reach, context.region),
    key: { kind: 'generated', keyName: `${m.label}-key`, keyPairId: 'key-1', material: 'secret' },
    keyFile: `${m.label}.pem`,
  };
}

const alice = entry({ instanceId: 'i-a', label: 'alice', role: 'student', student: 'alice', name: 'lab1-alice', publicIp: '198.51.100.7' }, true);
const bob = entry({ instanceId: 'i-bs', label: 'lab1-bob-scheduler', role: 'scheduler', student: 'bob', name: 'lab1-bob-scheduler' }, false);

describe('the JupyterLab tunnel', () => {
  test('direct SSH: one ssh command forwards JupyterLab and the dashboard to loopback and logs in', () => {
    expect(jupyterTunnelArgv(alice.connection, alice.keyFile)).toEqual([
      'ssh', '-i', 'alice.pem', '-o', 'ExitOnForwardFailure=yes', '-L', '8888:127.0.0.1:8888', '-L', '8787:127.0.0.1:8787', 'ubuntu@198.51.100.7',
    ]);
  });

  test('a local port already taken (a Jupyter of the student\'s own on 8888) stops ssh instead of logging in without the tunnel', () => {
    // ssh only warns when a forward fails; the address shown on login would then open whatever holds the port
    for (const e of [alice, bob]) {
      const argv = jupyterTunnelArgv(e.connection, e.keyFile);
      expect(argv[argv.indexOf('ExitOnForwardFailure=yes') - 1]).toBe('-o');
    }
  });

  test('no open SSH port: the same command through Session Manager', () => {
    const argv = jupyterTunnelArgv(bob.connection, bob.keyFile);
    expect(argv.slice(0, 3)).toEqual(['ssh', '-i', 'lab1-bob-scheduler.pem']);
    expect(argv).toContain('-o');
    expect(argv.join(' ')).toContain('AWS-StartSSHSession');
    expect(argv.slice(-5)).toEqual(['-L', '8888:127.0.0.1:8888', '-L', '8787:127.0.0.1:8787', 'ubuntu@i-bs']);
  });
});

describe('the handout page with JupyterLab', () => {
  test('gives the one command, for Linux, macOS and Windows, and the address to open; holds no token', () => {
    // GIVEN a student's page in a lab with JupyterLab
    const page = renderHandoutPage(pageGroups([alice])[0], context);
    // THEN it has a JupyterLab section with the tunnel command and where the address comes from
    expect(page).toMatch(/## \d\. JupyterLab/);
    expect(page).toContain('    ssh -i alice.pem -o ExitOnForwardFailure=yes -L 8888:127.0.0.1:8888 -L 8787:127.0.0.1:8787 ubuntu@198.51.100.7');
    expect(page).toMatch(/Linux, macOS.*Windows/);
    expect(page).toContain('http://127.0.0.1:8888/lab?token=');
    expect(page).toContain('dasklab-jupyter-url');
    // AND no token of any machine: the page is made without one
    expect(page).not.toMatch(/token=[0-9a-f]{8}/);
  });

  test('without JupyterLab in the config, no such section', () => {
    expect(renderHandoutPage(pageGroups([alice])[0], { ...context, jupyter: false })).not.toMatch(/JupyterLab/);
  });
});
