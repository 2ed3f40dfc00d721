import { connectionOf } from '../../../lib/cli/connection';
import { HandoutContext, HandoutEntry } from '../../../lib/cli/handout-entry';
import { pageGroups, renderHandoutPage } from '../../../lib/cli/handout-page';
import { renderHandouts } from '../../../lib/cli/handouts';
import { csvField, renderRosterCsv } from '../../../lib/cli/roster-csv';
import { renderSshConfig } from '../../../lib/cli/ssh-config';
import { machine } from './support';

const context: HandoutContext = {
  app: 'lab1',
  region: 'eu-west-1',
  dir: '/home/trainer/handouts',
  generatedAt: new Date('2026-03-02T08:30:00Z'),
  pythonVersion: '3.12',
  venv: '/opt/dask/venv',
};

/** An entry with a generated key, reached through Session Manager unless `ssh`. */
function entry(overrides: Parameters<typeof machine>[0], ssh = false): HandoutEntry {
  const m = machine(overrides);
  const reach = { ssh, dashboard: false };
  return {
    machine: m,
    reach,
    connection: connectionOf(m, reach, context.region),
    key: { kind: 'generated', keyName: `${m.label}-key`, keyPairId: 'key-1', material: '-----BEGIN OPENSSH PRIVATE KEY-----\nsecret\n-----END OPENSSH PRIVATE KEY-----\n' },
    keyFile: `${m.label}.pem`,
  };
}

const alice = entry({ instanceId: 'i-a', label: 'alice', role: 'student', student: 'alice', name: 'lab1-alice', publicIp: '198.51.100.7' }, true);
const bobScheduler = entry({ instanceId: 'i-bs', label: 'lab1-bob-scheduler', role: 'scheduler', student: 'bob', name: 'lab1-bob-scheduler' });
const bobWorker = entry({ instanceId: 'i-bw', label: 'lab1-bob-worker-1', role: 'worker', student: 'bob', name: 'lab1-bob-worker-1' });

describe('ssh_config', () => {
  test('a Host per machine: direct by IP, or through Session Manager by instance id', () => {
    // WHEN
    const text = renderSshConfig([alice, bobScheduler], context);
    // THEN
    expect(text).toContain(
      'Host alice\n  # student, student alice, lab1-alice, i-a\n  HostName 198.51.100.7\n  User ubuntu\n  IdentityFile /home/trainer/handouts/alice.pem\n  IdentitiesOnly yes\n\n',
    );
    expect(text).toContain(
      'Host lab1-bob-scheduler\n  # scheduler, student bob, lab1-bob-scheduler, i-bs\n  HostName i-bs\n  User ubuntu\n  IdentityFile /home/trainer/handouts/lab1-bob-scheduler.pem\n  IdentitiesOnly yes\n  ProxyCommand aws ssm start-session --region eu-west-1 --target %h --document-name AWS-StartSSHSession --parameters portNumber=%p\n',
    );
    expect(text).toContain('# Connect with: ssh -F /home/trainer/handouts/ssh_config HOST');
  });

  test('paths with spaces are quoted', () => {
    expect(renderSshConfig([alice], { ...context, dir: '/home/my trainer/out' })).toContain('IdentityFile "/home/my trainer/out/alice.pem"');
  });
});

describe('roster.csv', () => {
  test('header and one row per machine, CRLF, quoted where needed', () => {
    const text = renderRosterCsv([alice, bobScheduler]);
    const lines = text.split('\r\n');
    expect(lines[0]).toBe('student,host,user,key_file,ssh_command,machine,role,instance_id');
    expect(lines[1]).toBe('alice,198.51.100.7,ubuntu,alice.pem,ssh -i alice.pem ubuntu@198.51.100.7,alice,student,i-a');
    expect(lines[2]).toContain("bob,i-bs,ubuntu,lab1-bob-scheduler.pem,ssh -i lab1-bob-scheduler.pem -o ProxyCommand='aws ssm");
    expect(lines[3]).toBe('');
  });

  test('CSV fields', () => {
    expect(csvField('plain')).toBe('plain');
    expect(csvField('Doe, Jane')).toBe('"Doe, Jane"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
  });
});

describe('pages', () => {
  test('one page per student (their machines together), one per machine outside a lab', () => {
    const solo = entry({ instanceId: 'i-s', label: 'dasklab-machine', role: 'standalone', name: 'dasklab-machine' });
    const groups = pageGroups([alice, bobScheduler, bobWorker, solo]);
    expect(groups.map((g) => [g.id, g.entries.map((e) => e.machine.instanceId)])).toEqual([
      ['alice', ['i-a']],
      ['bob', ['i-bs', 'i-bw']],
      ['dasklab-machine', ['i-s']],
    ]);
  });

  test("a student's page: key, connection and the course's first steps", () => {
    // WHEN
    const page = renderHandoutPage(pageGroups([alice])[0], context);
    // THEN
    expect(page).toContain('# alice: your dasklab machine');
    expect(page).toContain('| Machine | `lab1-alice` (i-a), t3.medium, region eu-west-1 |');
    expect(page).toContain('    chmod 600 alice.pem');
    expect(page).toContain('    ssh -i alice.pem ubuntu@198.51.100.7');
    expect(page).toContain('Python 3.12 and a ready virtual environment (`/opt/dask/venv`) with numpy and dask');
    const steps = ['python3 -V', 'import numpy, dask', 'python3 -m venv my-env', 'source my-env/bin/activate', 'pip install numpy dask', 'import numpy; import dask'];
    let at = 0;
    for (const step of steps) {
      const next = page.indexOf(step, at);
      expect(next).toBeGreaterThan(at); // present, and in this order
      at = next;
    }
    expect(page).toContain('    ssh -i alice.pem -N -L 8787:localhost:8787 ubuntu@198.51.100.7');
    expect(page).not.toContain('secret');
  });

  test("a student with a cluster: the scheduler first, the workers listed, the dashboard through Session Manager", () => {
    const page = renderHandoutPage(pageGroups([bobScheduler, bobWorker])[0], context);
    expect(page).toContain('# bob: your dasklab machine');
    expect(page).toContain('The machine has no open SSH port: ssh goes through AWS Session Manager.');
    expect(page).toContain("The Dask scheduler's dashboard listens on port 8787.");
    expect(page).toContain('aws ssm start-session --region eu-west-1 --target i-bs --document-name AWS-StartPortForwardingSession');
    expect(page).toContain('## Your other machines');
    expect(page).toContain('`lab1-bob-worker-1` (worker, i-bw)');
  });

  test('a stopped machine is flagged on its page', () => {
    const stopped = entry({ instanceId: 'i-x', label: 'x', state: 'stopped' });
    expect(renderHandoutPage(pageGroups([stopped])[0], context)).toContain('This machine was **stopped** when this page was made.');
  });
});

describe('the handout files', () => {
  test('keys 0600 with the key material, the rest 0644', () => {
    const files = renderHandouts([alice, bobScheduler, bobWorker], context);
    expect(files.map((f) => [f.name, f.mode.toString(8)])).toEqual([
      ['alice.pem', '600'],
      ['lab1-bob-scheduler.pem', '600'],
      ['lab1-bob-worker-1.pem', '600'],
      ['ssh_config', '644'],
      ['roster.csv', '644'],
      ['alice.md', '644'],
      ['bob.md', '644'],
    ]);
    expect(files[0].content).toContain('BEGIN OPENSSH PRIVATE KEY');
    // The key is only in its own file
    expect(files.filter((f) => f.content.includes('secret')).map((f) => f.name)).toEqual(['alice.pem', 'lab1-bob-scheduler.pem', 'lab1-bob-worker-1.pem']);
  });
});
