/**
 * `dasklab open NAME`: the trainer runs a student's handout command, the SSH
 * tunnel to their JupyterLab, against moto.
 */
import * as fs from 'fs';
import * as path from 'path';
import { MotoServer, motoSkipReason, startMoto } from './moto-server';
import { cli, CreatedMachine, fakeDeploy, tempDir, useMotoEnvironment } from './support';

const skip = motoSkipReason();
if (skip) console.warn(skip);
const suite = skip ? describe.skip : describe;

suite('open against moto', () => {
  let moto: MotoServer;
  let restoreEnv: () => void;
  let lab: CreatedMachine[];

  beforeAll(async () => {
    moto = await startMoto((line) => console.log(line));
    restoreEnv = useMotoEnvironment(moto.endpoint);
    lab = await fakeDeploy({
      app: 'class',
      machines: [
        { role: 'scheduler', name: 'class-alice-scheduler', student: 'alice', bootstrap: 'ready' },
        { role: 'worker', name: 'class-alice-worker-1', student: 'alice', bootstrap: 'ready' },
      ],
    });
  });

  afterAll(async () => {
    restoreEnv?.();
    await moto?.stop();
  });

  test("open STUDENT --print: the handout's tunnel to the student's scheduler, through Session Manager when port 22 is closed", async () => {
    const run = await cli(['open', 'alice', '--app', 'class', '--print']);
    expect(run.code).toBe(0);
    expect(run.stdout.trim()).toBe(
      'ssh -i class-alice-scheduler.pem -o ProxyCommand=\'aws ssm start-session --region us-east-1 --target %h --document-name AWS-StartSSHSession --parameters portNumber=%p\' ' +
        `-o ExitOnForwardFailure=yes -L 8888:127.0.0.1:8888 -L 8787:127.0.0.1:8787 ubuntu@${lab[0].instanceId}`,
    );
  });

  test('open STUDENT runs ssh with the tunnel, and says clearly when ssh is not installed', async () => {
    const bin = tempDir();
    fs.writeFileSync(path.join(bin.dir, 'ssh'), '#!/bin/sh\nexit 0\n', { mode: 0o755 });
    const ran: string[][] = [];
    try {
      const run = await cli(['open', 'alice', '--app', 'class', '--key', 'keys/alice.pem'], {
        env: { ...process.env, PATH: bin.dir },
        run: async (command, args) => {
          ran.push([command, ...args]);
          return 0;
        },
      });
      expect(run.code).toBe(0);
      expect(ran).toHaveLength(1);
      expect(ran[0].slice(0, 3)).toEqual(['ssh', '-i', 'keys/alice.pem']);
      expect(ran[0].slice(-5)).toEqual(['-L', '8888:127.0.0.1:8888', '-L', '8787:127.0.0.1:8787', `ubuntu@${lab[0].instanceId}`]);
      expect(run.stderr).toContain('http://127.0.0.1:8888/lab?token=');
    } finally {
      bin.remove();
    }
    const without = await cli(['open', 'alice', '--app', 'class'], { env: { ...process.env, PATH: '/nonexistent' } });
    expect(without.code).toBe(1);
    expect(without.stderr).toContain('"ssh" is not installed');
  });

  test('open names a worker: refused, JupyterLab runs on the scheduler', async () => {
    const run = await cli(['open', 'class-alice-worker-1', '--app', 'class', '--print']);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('class-alice-worker-1 is a worker');
  });
});
