/**
 * `stop`/`start` with the SDK's waiters, and `tunnel`, against moto.
 */
import { DescribeInstancesCommand, EC2Client } from '@aws-sdk/client-ec2';
import * as fs from 'fs';
import * as path from 'path';
import { MotoServer, motoSkipReason, startMoto } from './moto-server';
import { cli, CreatedMachine, fakeDeploy, REGION, tempDir, useMotoEnvironment } from './support';

const skip = motoSkipReason();
if (skip) console.warn(skip);
const suite = skip ? describe.skip : describe;

suite('stop, start and tunnel against moto', () => {
  let moto: MotoServer;
  let restoreEnv: () => void;
  let lab: CreatedMachine[];
  let cluster: CreatedMachine[];
  let ec2: EC2Client;

  /** The EC2 state of each instance, by id. */
  async function states(ids: string[]): Promise<string[]> {
    const out = await ec2.send(new DescribeInstancesCommand({ InstanceIds: ids }));
    const byId = new Map(out.Reservations!.flatMap((r) => r.Instances!).map((i) => [i.InstanceId!, i.State!.Name!]));
    return ids.map((id) => byId.get(id)!);
  }

  beforeAll(async () => {
    moto = await startMoto((line) => console.log(line));
    restoreEnv = useMotoEnvironment(moto.endpoint);
    ec2 = new EC2Client({ region: REGION, endpoint: moto.endpoint });
    lab = await fakeDeploy({
      app: 'lab1',
      machines: [
        { role: 'student', name: 'lab1-alice', student: 'alice', bootstrap: 'ready' },
        { role: 'student', name: 'lab1-bob', student: 'bob', bootstrap: 'ready' },
        { role: 'student', name: 'lab1-carol', student: 'carol', bootstrap: 'ready' },
      ],
    });
    cluster = await fakeDeploy({
      app: 'team',
      machines: [
        { role: 'scheduler', name: 'team-scheduler', bootstrap: 'ready' },
        { role: 'worker', name: 'team-worker-1', bootstrap: 'ready' },
        { role: 'worker', name: 'team-worker-2', bootstrap: 'ready' },
      ],
    });
  });

  afterAll(async () => {
    ec2?.destroy();
    restoreEnv?.();
    await moto?.stop();
  });

  test('stop by student id and by Name waits until stopped, with a line per state change', async () => {
    // WHEN
    const run = await cli(['stop', 'alice', 'lab1-bob', '--app', 'lab1', '--region', REGION]);
    // THEN
    expect(run.code).toBe(0);
    expect(await states(lab.map((m) => m.instanceId))).toEqual(['stopped', 'stopped', 'running']);
    expect(run.stdout.trim().split('\n')).toEqual([
      expect.stringMatching(/^MACHINE\s+INSTANCE\s+RESULT$/),
      expect.stringMatching(new RegExp(`^alice\\s+${lab[0].instanceId}\\s+stopped$`)),
      expect.stringMatching(new RegExp(`^bob\\s+${lab[1].instanceId}\\s+stopped$`)),
    ]);
    expect(run.stderr).toContain('Stopping 2 machines of app "lab1" (us-east-1):');
    expect(run.stderr).toMatch(new RegExp(`alice \\(${lab[0].instanceId}\\): running -> stopped`));
    // Not a terminal: no redrawn status line
    expect(run.stderr).not.toContain('\r');
  });

  test('stop again: already stopped; start --all: started, already running for the running one', async () => {
    const again = await cli(['stop', 'alice', '--app', 'lab1', '--json']);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toEqual([{ label: 'alice', instanceId: lab[0].instanceId, before: 'stopped', outcome: 'already stopped' }]);

    const start = await cli(['start', '--all', '--app', 'lab1', '--json']);
    expect(start.code).toBe(0);
    expect(JSON.parse(start.stdout).map((r: { label: string; outcome: string }) => [r.label, r.outcome])).toEqual([
      ['alice', 'started'],
      ['bob', 'started'],
      ['carol', 'already running'],
    ]);
    expect(await states(lab.map((m) => m.instanceId))).toEqual(['running', 'running', 'running']);
    expect(start.stderr).toContain('Public IPs change when a machine starts');
  });

  test('stop without ids or --all is refused and lists the machines', async () => {
    const run = await cli(['stop', '--app', 'lab1']);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('Name the machines (student id, Name or instance id), or pass --all. Valid: alice');
  });

  test('tunnel: the Session Manager port forward to the scheduler', async () => {
    const run = await cli(['tunnel', '--app', 'team']);
    expect(run.code).toBe(0);
    expect(run.stdout.trim()).toBe(
      `aws ssm start-session --region us-east-1 --target ${cluster[0].instanceId} --document-name AWS-StartPortForwardingSession --parameters portNumber=8787,localPortNumber=8787`,
    );
    expect(run.stderr).toContain('open http://localhost:8787/status');
  });

  test('tunnel NAME with another local port, as JSON', async () => {
    const run = await cli(['tunnel', 'team-worker-2', '--app', 'team', '--local-port', '9999', '--json']);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({
      machine: 'team-worker-2',
      instanceId: cluster[2].instanceId,
      via: 'ssm',
      url: 'http://localhost:9999/status',
      argv: ['aws', 'ssm', 'start-session', '--region', 'us-east-1', '--target', cluster[2].instanceId, '--document-name', 'AWS-StartPortForwardingSession', '--parameters', 'portNumber=8787,localPortNumber=9999'],
    });
  });

  test('tunnel --open runs the aws CLI, and says clearly when it is not installed', async () => {
    // GIVEN an "aws" program on PATH (a stub: the run is recorded, not spawned)
    const bin = tempDir();
    fs.writeFileSync(path.join(bin.dir, 'aws'), '#!/bin/sh\nexit 0\n', { mode: 0o755 });
    const ran: string[][] = [];
    try {
      const withAws = await cli(['tunnel', '--app', 'team', '--open'], {
        env: { ...process.env, PATH: bin.dir },
        run: async (command, args) => {
          ran.push([command, ...args]);
          return 0;
        },
      });
      // THEN the port forward is run
      expect(withAws.code).toBe(0);
      expect(ran).toEqual([['aws', 'ssm', 'start-session', '--region', 'us-east-1', '--target', cluster[0].instanceId, '--document-name', 'AWS-StartPortForwardingSession', '--parameters', 'portNumber=8787,localPortNumber=8787']]);
      expect(withAws.stderr).toContain('warning: session-manager-plugin is not on PATH');
    } finally {
      bin.remove();
    }
    // GIVEN a PATH without aws
    const without = await cli(['tunnel', '--app', 'team', '--open'], { env: { ...process.env, PATH: '/nonexistent' } });
    // THEN one clear line, exit 1
    expect(without.code).toBe(1);
    expect(without.stderr).toContain('dasklab: "aws" is not installed (not on PATH): install the AWS CLI v2 and its Session Manager plugin');
  });

  test('tunnel direct: ssh -L when port 22 is open', async () => {
    await fakeDeploy({ app: 'open', sshOpen: true, machines: [{ role: 'standalone', name: 'open-machine', bootstrap: 'ready' }] });
    const status = JSON.parse((await cli(['status', '--app', 'open', '--json'])).stdout);
    const run = await cli(['tunnel', '--app', 'open']);
    expect(run.code).toBe(0);
    expect(run.stdout.trim()).toBe(`ssh -i open-machine.pem -N -L 8787:localhost:8787 ubuntu@${status[0].publicIp}`);
  });
});
