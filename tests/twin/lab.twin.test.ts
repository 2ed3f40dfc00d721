import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { SignalResult, Twin } from './launcher';
import { newKey, ssh } from './ssh';
import { diagnostics, report, twinDescribe } from './support';

/**
 * A 3-student lab, synthesized once and booted from its `dasklab-Lab-<k>`
 * stacks (the instances import the shared stack's values): every student's
 * machine is ready, and over real SSH each accepts its own student's generated
 * key pair and the trainer's key, and refuses the other students' keys.
 */
const ROSTER = ['alice', 'bob', 'carol'];

twinDescribe('twin: a 3-student lab', () => {
  let twin: Twin;
  let results: SignalResult[];
  let keysDir: string;
  let trainerKey: string;

  beforeAll(async () => {
    keysDir = fs.mkdtempSync(path.join(os.tmpdir(), 'dasklab-lab-test-'));
    trainerKey = await newKey(keysDir, 'trainer');
    const config = path.join(keysDir, 'lab.config.json');
    fs.writeFileSync(config, JSON.stringify({
      name: 'dasklab',
      // The trainer and the students connect from the twin's hub (10.213.0.1).
      access: { sshCidrs: ['10.213.0.1/32'] },
      lab: {
        roster: ROSTER,
        idleStopMinutes: 0,
        trainerPublicKey: fs.readFileSync(`${trainerKey}.pub`, 'utf8').trim(),
      },
    }));
    twin = await Twin.start({
      stacks: /^dasklab-Lab-\d+$/,
      context: { config },
      timeoutSeconds: 600,
    });
    results = await twin.waitForSignals();
    await report(twin, results);
  });

  afterAll(async () => {
    await twin?.stop();
    if (keysDir) fs.rmSync(keysDir, { recursive: true, force: true });
  });

  test('one student machine per student, from the stacks their ids hash to, all ready', async () => {
    const students = twin.machines.map((m) => m.tags['dasklab:student']).sort();
    expect(students).toEqual(ROSTER);
    expect(twin.machines.every((m) => m.role === 'student' && /^dasklab-Lab-\d+$/.test(m.stack))).toBe(true);
    const failed = results.filter((r) => r.status !== 'SUCCESS');
    if (failed.length) {
      throw new Error(`${failed.map((r) => `${r.machine.logicalId}: ${r.status}: ${r.reason}`).join('\n')}\n${await diagnostics(twin)}`);
    }
    for (const m of twin.machines) expect((await twin.readyJson(m))?.status).toBe('ready');
  });

  test("each machine accepts its student's key and the trainer's, and refuses the other students' keys", async () => {
    const keyOf = new Map(twin.machines.map((m) => [m.tags['dasklab:student'], m.keyPair?.privateKeyPath]));
    for (const id of ROSTER) expect(keyOf.get(id)).toBeTruthy();
    const outcomes: string[] = [];
    const expected: string[] = [];
    for (const m of twin.machines) {
      const owner = m.tags['dasklab:student'];
      for (const [who, key] of [...ROSTER.map((id) => [id, keyOf.get(id)!]), ['trainer', trainerKey]]) {
        const r = await ssh(twin, m, key, 'id -un; python3 -V');
        outcomes.push(`${owner}'s machine, ${who}'s key: ${r.code === 0 ? `in as ${r.stdout.split('\n')[0]}` : `refused (${r.code}: ${r.stderr.trim()})`}`);
        expected.push(`${owner}'s machine, ${who}'s key: ${who === owner || who === 'trainer' ? 'in as ubuntu' : 'refused'}`);
      }
    }
    expect(outcomes.map((o) => o.replace(/^(.*: refused).*$/, '$1'))).toEqual(expected);
  });
});
