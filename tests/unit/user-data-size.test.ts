/**
 * User data against EC2's limit, on the renderer directly (no CDK app): the
 * largest user data accepted is exactly 16,384 bytes at deploy, one more byte
 * is refused with what takes the room, and deploy-time values are sized at
 * their longest. `edges.test.ts` proves the same through synthesized stacks;
 * these run in milliseconds, for mutation testing.
 */
import { Lazy, Token } from 'aws-cdk-lib';
import {
  BODY_DELIMITER,
  BootstrapParameters,
  decodeBootstrapBody,
  renderParameters,
  renderBootstrap,
  renderBootstrapSource,
  SIGNAL_URL_ALLOWANCE,
  TOKEN_ALLOWANCE,
  USER_DATA_LIMIT_BYTES,
  userDataParts,
  userDataSize,
} from '../../lib/bootstrap/bootstrap-user-data';

// https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/instancedata-add-user-data.html: "limited to 16 KB" before base64.
const EC2_LIMIT = 16384;

/** The wait-condition handle's URL as synth sees it: a token. */
const SIGNAL_TOKEN = Token.asString(Lazy.string({ produce: () => 'https://cloudformation-waitcondition.example/handle' }));

const STANDALONE: BootstrapParameters = {
  app: 'demo',
  role: 'standalone',
  pythonVersion: '3.12',
  packages: ['numpy', 'dask[complete]'],
  venv: '/opt/dask/venv',
  signalUrl: SIGNAL_TOKEN,
};

/** Among the heaviest machines a config makes: a TLS scheduler with JupyterLab and CodeArtifact, behind a proxy. */
const TLS_SCHEDULER: BootstrapParameters = {
  ...STANDALONE,
  role: 'scheduler',
  codeArtifact: { domain: 'dom', repository: 'repo', domainOwner: null, region: null },
  network: { proxyUrl: 'http://proxy.example:3128', noProxy: ['169.254.169.254', 'localhost'] },
  jupyter: true,
  dask: { schedulerHost: '10.0.0.10', name: 'scheduler', expectedWorkerCount: 3, tls: { parameterPath: '/dasklab/demo/cluster/tls' } },
};

/** Every optional part at once (more than any one config holds, and over the limit): each is weighed. */
const EVERY_PART: BootstrapParameters = {
  ...TLS_SCHEDULER,
  indexUrl: 'https://pypi.example/simple',
  lockFile: { bucket: 'lock-bucket', key: 'lock.txt', sha256: 'ab'.repeat(32) },
  idleStopMinutes: 30,
  trainerPublicKey: 'ssh-ed25519 AAAAC3Nza trainer@example',
};

/**
 * The parameters with 60 more packages, `extra` characters longer in all than
 * at 0: each grows up to 297 characters in turn (a requirement holds at most
 * 300), so each step adds one byte.
 */
const withFiller = (params: BootstrapParameters, extra: number): BootstrapParameters => {
  const filler = Array.from({ length: 60 }, (_, i) => `f${String(i).padStart(2, '0')}${'x'.repeat(Math.max(0, Math.min(293, extra - i * 293)))}z`);
  return { ...params, packages: [...params.packages, ...filler] };
};

const accepts = (params: BootstrapParameters): boolean => {
  try {
    renderBootstrap(params);
    return true;
  } catch {
    return false;
  }
};

/** The longest filler package the renderer accepts (the size grows with it; LZMA takes over where deflate no longer fits). */
function longestAccepted(params: BootstrapParameters): number {
  let [fit, refused] = [0, EC2_LIMIT];
  expect(accepts(withFiller(params, fit))).toBe(true);
  expect(accepts(withFiller(params, refused))).toBe(false);
  while (refused - fit > 1) {
    const middle = Math.floor((fit + refused) / 2);
    if (accepts(withFiller(params, middle))) fit = middle;
    else refused = middle;
  }
  return fit;
}

describe('user data at EC2\'s limit, on the renderer', () => {
  test('the limit is EC2\'s 16 KB of user data, and a signal URL is counted at 1 KB', () => {
    expect(USER_DATA_LIMIT_BYTES).toBe(EC2_LIMIT);
    expect(SIGNAL_URL_ALLOWANCE).toBe(1024);
    expect(TOKEN_ALLOWANCE).toBe(64);
  });

  test.each<[string, BootstrapParameters]>([
    ['a standalone machine', STANDALONE],
    ['a TLS scheduler with JupyterLab and CodeArtifact, behind a proxy', TLS_SCHEDULER],
  ])('%s: the largest user data accepted is exactly 16384 bytes at deploy; one byte more is refused, naming what takes the room', (_name, params) => {
    // GIVEN the longest extra package the renderer accepts
    const fit = longestAccepted(params);
    // WHEN its user data is sized at deploy (the signal URL at its longest)
    const script = renderBootstrap(withFiller(params, fit));
    // THEN it is exactly EC2's limit
    expect(userDataSize(script, SIGNAL_TOKEN)).toBe(EC2_LIMIT);
    // AND its body still decodes to the bootstrap
    expect(decodeBootstrapBody(script)).toBe(renderBootstrapSource(params).body);
    // AND one byte more is refused with the size, the limit, the machine's role and the parts largest first
    const over = withFiller(params, fit + 1);
    const parts = userDataParts(over);
    expect(() => renderBootstrap(over)).toThrow(
      `the rendered user data is ${EC2_LIMIT + 1} bytes; EC2 accepts at most ${EC2_LIMIT}. ` +
        `This ${params.role} machine's user data holds, beyond the bootstrap itself: ${parts.map((p) => `${p.field} (${p.bytes} bytes)`).join(', ')}. ` +
        'Shorten python.packages or leave out one of the others.',
    );
  });

  test('the parts: each option present, largest first, each weighing what leaving it out saves', () => {
    // GIVEN parameters with every optional part, the packages far the largest
    const params = withFiller(EVERY_PART, 3000);
    // WHEN its optional parts are weighed
    const parts = userDataParts(params);
    // THEN every option is named once
    expect(parts.map((p) => p.field).sort()).toEqual(
      [
        'python.packages',
        'python.indexUrl',
        'python.codeArtifact',
        'python.lockFile',
        'network',
        'cluster.jupyter or lab.jupyter',
        'cluster.tls',
        'lab.idleStopMinutes',
        'lab.trainerPublicKey',
      ].sort(),
    );
    // AND largest first, each saving something
    expect(parts[0].field).toBe('python.packages');
    expect(parts.map((p) => p.bytes)).toEqual([...parts.map((p) => p.bytes)].sort((a, b) => b - a));
    for (const part of parts) expect(part.bytes).toBeGreaterThan(0);
  });

  test('a part weighs the bytes leaving it out saves at deploy', () => {
    // GIVEN a machine that fits, with an index URL
    const params: BootstrapParameters = { ...withFiller(STANDALONE, 500), indexUrl: 'https://pypi.example/simple' };
    const size = userDataSize(renderBootstrap(params), SIGNAL_TOKEN);
    // WHEN its parts are weighed
    const parts = Object.fromEntries(userDataParts(params).map((p) => [p.field, p.bytes]));
    // THEN each is the difference in deploy size without it
    expect(parts['python.packages']).toBe(size - userDataSize(renderBootstrap({ ...params, packages: [] }), SIGNAL_TOKEN));
    expect(parts['python.indexUrl']).toBe(size - userDataSize(renderBootstrap({ ...params, indexUrl: undefined }), SIGNAL_TOKEN));
    expect(Object.keys(parts)).toEqual(['python.packages', 'python.indexUrl']);
  });

  test('a machine without options lists only what it has: its packages', () => {
    expect(userDataParts(STANDALONE).map((p) => p.field)).toEqual(['python.packages']);
  });

  test('user data over the limit with nothing optional in it says so', () => {
    // GIVEN no packages and a venv path long enough to pass the limit alone
    const params: BootstrapParameters = { ...STANDALONE, packages: [], venv: `/opt/${'v'.repeat(EC2_LIMIT)}` };
    // THEN the refusal names no part
    expect(() => renderBootstrap(params)).toThrow("This standalone machine's user data holds, beyond the bootstrap itself: nothing optional.");
  });
});

describe('sizing deploy-time values', () => {
  test('the signal URL counts as 1024 bytes wherever it appears, and each other token as 64', () => {
    // GIVEN a script with the signal URL twice and one other token
    const other = Token.asString(Lazy.string({ produce: () => '10.0.0.1' }));
    const script = `a=${SIGNAL_TOKEN}\nb=${SIGNAL_TOKEN}\nc=${other}\n`;
    // WHEN it is sized
    // THEN each is counted at its allowance, the rest at its UTF-8 bytes
    expect(userDataSize(script, SIGNAL_TOKEN)).toBe('a=\nb=\nc=\n'.length + 2 * 1024 + 64);
  });

  test('without a signal URL every token counts as 64 bytes, the signal URL among them', () => {
    expect(userDataSize(`x${SIGNAL_TOKEN}`)).toBe(1 + 64);
  });

  test('a plain signal URL counts at its own length', () => {
    const url = 'https://signal.example/handle';
    expect(userDataSize(`x${url}`, url)).toBe(1 + url.length);
  });

  test('bytes, not characters: a non-ASCII character counts at its UTF-8 length', () => {
    expect(userDataSize('é€')).toBe(5);
  });
});

describe('the user data\'s layout', () => {
  test('the parameters in plain text, then the body, deflated where that fits, and nothing after it', () => {
    // GIVEN the standalone machine's user data
    const script = renderBootstrap(STANDALONE);
    const [head, rest] = script.split(`<<'${BODY_DELIMITER}'\n`);
    // THEN the head is the shebang, the parameters and the line that runs the decoded body, each as written
    expect(head).toBe(
      [
        '#!/bin/bash',
        '# shellcheck disable=SC2034 # the parameters are read by the compressed body',
        renderParameters(STANDALONE),
        '# The dasklab bootstrap (userdata/bootstrap.sh), compressed to fit in user data.',
        '# shellcheck source=/dev/null',
        "source <(python3 -c 'import base64,sys,zlib;sys.stdout.buffer.write(zlib.decompress(base64.b85decode(sys.stdin.read().strip())))' ",
      ].join('\n'),
    );
    // AND the body is one line of base85, closed by the delimiter and the process substitution, with nothing after
    expect(rest).toMatch(new RegExp(`^[^\\n]+\\n${BODY_DELIMITER}\\n\\)\\n$`));
  });
});
