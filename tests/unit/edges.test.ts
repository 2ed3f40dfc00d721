/**
 * Each limit of the config, just inside and just outside, with configs the
 * schema otherwise accepts; and the largest user data a valid config can
 * produce, at EC2's limit and one byte over it.
 */
import { addDasklabStacks } from '../../lib/app';
import { validateConfig } from '../../lib/config';
import { DasklabConfigInput } from '../../lib/config/schema';
import { ROUTED_NETWORK } from './network-fixtures';
import { TRAINER_KEY } from './stack-shapes';
import { testApp } from './support';

/** The config problem a value gives, or null when it is accepted. */
function problemOf(input: DasklabConfigInput): string | null {
  try {
    validateConfig(input, 'test');
    return null;
  } catch (error) {
    return (error as Error).message;
  }
}

/** Sets `value` at a dotted path of an otherwise valid config. */
function withValue(base: DasklabConfigInput, field: string, value: unknown): DasklabConfigInput {
  const copy: any = JSON.parse(JSON.stringify(base));
  const keys = field.split('.');
  let at = copy;
  for (const key of keys.slice(0, -1)) at = at[key] ??= {};
  at[keys[keys.length - 1]] = value;
  return copy;
}

describe('numeric limits, just inside and just outside', () => {
  const CLUSTER = { cluster: { workers: 1 } };
  const LAB = { lab: { roster: ['alice'] } };
  test.each<[string, number, number, DasklabConfigInput]>([
    ['cluster.workers', 1, 100, CLUSTER],
    ['machine.diskGiB', 8, 16384, {}],
    ['machine.readyTimeoutMinutes', 5, 720, {}],
    ['lab.workersPerStudent', 0, 8, LAB],
    ['lab.idleStopMinutes', 0, 1440, LAB],
  ])('%s: %d and %d are accepted; one less and one more are refused, naming the field, the value and the range', (field, min, max, base) => {
    expect(problemOf(withValue(base, field, min))).toBeNull();
    expect(problemOf(withValue(base, field, max))).toBeNull();
    for (const outside of [min - 1, max + 1]) {
      const problem = problemOf(withValue(base, field, outside));
      expect(problem).toContain(`${field}: ${outside} is not accepted`);
      expect(problem).toContain(`${min}`);
      expect(problem).toContain(`${max}`);
    }
  });

  test('a roster of 500 students is accepted and one of 501 refused', () => {
    const ids = (n: number) => Array.from({ length: n }, (_, i) => `s${i + 1}`);
    expect(problemOf({ lab: { roster: ids(500) } })).toBeNull();
    expect(problemOf({ lab: { roster: ids(501) } })).toMatch(/lab\.roster.*at most 500 students/s);
  });

  test('roster ids of 32 characters are accepted, of 33 refused', () => {
    const id32 = `z${'9'.repeat(31)}`;
    expect(problemOf({ lab: { roster: [id32] } })).toBeNull();
    expect(problemOf({ lab: { roster: [`${id32}9`] } })).toMatch(/lab\.roster\[0\].*1 to 32 .*it has 33 characters/s);
  });
});

/**
 * User data, as EC2 receives it at deploy, in bytes: the template's parts,
 * with the wait-condition handle's pre-signed URL (unknown before deploy)
 * counted as 1024 bytes and any other deploy-time value (an IP address, a
 * region) as 64. EC2 accepts 16 KB of user data "in raw form, before it is
 * base64-encoded":
 * https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/instancedata-add-user-data.html
 */
const EC2_USER_DATA_LIMIT = 16 * 1024;
const SIGNAL_URL_BYTES = 1024;
const OTHER_TOKEN_BYTES = 64;

function deployedUserDataSizes(input: DasklabConfigInput): number[] {
  const app = testApp();
  addDasklabStacks(app, validateConfig(input, 'test'));
  return app.synth().stacks.flatMap((stack) => {
    const resources = stack.template.Resources ?? {};
    return Object.values<any>(resources)
      .filter((r) => r.Type === 'AWS::EC2::Instance')
      .map((r) => {
        const userData = r.Properties.UserData['Fn::Base64'];
        const parts: unknown[] = typeof userData === 'string' ? [userData] : userData['Fn::Join'][1];
        return parts.reduce<number>((sum, part) => {
          if (typeof part === 'string') return sum + Buffer.byteLength(part, 'utf8');
          const ref = (part as any).Ref;
          return sum + (typeof ref === 'string' && resources[ref]?.Type === 'AWS::CloudFormation::WaitConditionHandle' ? SIGNAL_URL_BYTES : OTHER_TOKEN_BYTES);
        }, 0);
      });
  });
}

/** `count` distinct pip requirements whose lengths add up to `count` × 7 + `extra` characters (each at most 300). */
function fillerPackages(extra: number, count: number): string[] {
  return Array.from({ length: count }, (_, i) => {
    const add = Math.max(0, Math.min(293, extra - i * 293));
    return `fill${String(i).padStart(2, '0')}${'x'.repeat(add)}z`;
  });
}

describe('user data at EC2\'s limit', () => {
  // The configs with the most user data besides the packages: a lab
  // scheduler with eight workers to wait for, idle stop and a trainer key,
  // with the longest name, ids, venv and index URL; a TLS cluster's
  // scheduler; the standalone machine.
  const LONGEST: Array<[string, DasklabConfigInput]> = [
    [
      'a lab scheduler with every option at its longest',
      {
        name: `a${'b'.repeat(22)}c`,
        python: { venv: `/opt/${'v'.repeat(118)}`, indexUrl: `https://${'m'.repeat(200)}.example/simple/` },
        lab: { roster: [`s${'t'.repeat(31)}`], workersPerStudent: 8, idleStopMinutes: 1440, trainerPublicKey: TRAINER_KEY },
      },
    ],
    ['a cluster scheduler with TLS', { cluster: { workers: 100 } }],
    [
      'a TLS scheduler of 100 workers with JupyterLab and CodeArtifact, behind a proxy in an existing network with endpoints, every name at its longest',
      {
        name: `a${'b'.repeat(22)}c`,
        cluster: { workers: 100, jupyter: true },
        python: { codeArtifact: { domain: `d${'o'.repeat(48)}m`, repository: `r${'e'.repeat(98)}o`, domainOwner: '123456789012', region: 'eu-central-1' } },
        network: { ...ROUTED_NETWORK, proxy: `http://${'p'.repeat(200)}.example:3128`, endpoints: 'create' },
      },
    ],
    [
      'a lab scheduler with JupyterLab, idle stop and a trainer key, behind a proxy in an existing network',
      {
        lab: { roster: [`s${'t'.repeat(31)}`], workersPerStudent: 8, idleStopMinutes: 1440, trainerPublicKey: TRAINER_KEY, jupyter: true },
        network: { ...ROUTED_NETWORK, proxy: `http://${'p'.repeat(200)}.example:3128`, endpoints: 'existing' },
      },
    ],
    ['the standalone machine', {}],
  ];

  test.each(LONGEST)('%s: the largest user data synth accepts is exactly 16384 bytes at deploy; one byte more is refused at synth', (_name, base) => {
    // dask[complete] and 40 more packages; the heaviest machine has room for 12.
    const count = /every name at its longest/.test(_name) ? 12 : 40;
    const withPackages = (extra: number) => withValue(base, 'python.packages', ['dask[complete]', ...fillerPackages(extra, count)]);
    // GIVEN the config's user data with short packages, measured at deploy size
    const start = Math.max(...deployedUserDataSizes(withPackages(0)));
    expect(start).toBeLessThan(EC2_USER_DATA_LIMIT);
    // WHEN the packages grow to the most synth accepts (found by bisection: a body is deflated while that
    // fits and LZMA-compressed after, so the size is not one line in the packages' length)
    const synthAccepts = (extra: number): boolean => {
      try {
        deployedUserDataSizes(withPackages(extra));
        return true;
      } catch {
        return false;
      }
    };
    let [fit, refused] = [0, count * 293];
    expect(synthAccepts(refused)).toBe(false);
    while (refused - fit > 1) {
      const middle = Math.floor((fit + refused) / 2);
      if (synthAccepts(middle)) fit = middle;
      else refused = middle;
    }
    // THEN the largest machine's user data is then exactly 16384 bytes
    expect(problemOf(withPackages(fit))).toBeNull();
    expect(Math.max(...deployedUserDataSizes(withPackages(fit)))).toBe(EC2_USER_DATA_LIMIT);
    // AND one byte more is refused at synth, naming the size, the limit and what takes the room
    expect(() => deployedUserDataSizes(withPackages(fit + 1))).toThrow(`the rendered user data is ${EC2_USER_DATA_LIMIT + 1} bytes; EC2 accepts at most ${EC2_USER_DATA_LIMIT}`);
    expect(() => deployedUserDataSizes(withPackages(fit + 1))).toThrow(/holds, beyond the bootstrap itself: .*python\.packages \(\d+ bytes\)/);
  });
});
