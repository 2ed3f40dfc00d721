import { ChildProcess, spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { ensureMotoRoot } from '../moto/moto-server';
import { onCleanup } from './cleanup';
import { run, RunResult } from './proc';

/**
 * moto, the twin's SSM Parameter Store and S3 (the CDK's asset bucket): the moto server of the CLI's tests
 * (tests/moto/moto-server.ts: a cached Debian trixie tree with python3-moto,
 * entered with chroot) run inside the hub namespace on its loopback, where the
 * twin's AWS endpoint (services.py) forwards the machines' SSM and S3 requests. Nothing
 * outside the hub namespace can reach it.
 */

/** moto's port on the hub namespace's loopback. */
export const MOTO_PORT = 8084;
export const MOTO_ENDPOINT = `http://127.0.0.1:${MOTO_PORT}`;

/** The tree's Python must not see the host's settings. */
const CLEAN_ENV = { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C.UTF-8', HOME: '/root' };

/** A decrypted SSM parameter as GetParameters returns it. */
export interface SsmParameter {
  name: string;
  type: string;
  value: string;
}

export class TwinMoto {
  private constructor(
    private readonly hubNetns: string,
    private readonly root: string,
    private readonly child: ChildProcess,
    private readonly unregister: () => void,
  ) {}

  /** Starts moto in the hub namespace and waits until it answers. */
  static async start(hubNetns: string, runDir: string, log: (msg: string) => void): Promise<TwinMoto> {
    const root = ensureMotoRoot(log);
    const output = fs.openSync(path.join(runDir, 'moto.log'), 'a');
    // setpriv --pdeathsig: moto dies with us even if we are SIGKILLed.
    const child = spawn(
      'setpriv',
      ['--pdeathsig', 'SIGKILL', 'ip', 'netns', 'exec', hubNetns, 'chroot', root, 'moto_server', '-H', '127.0.0.1', '-p', String(MOTO_PORT)],
      { stdio: ['ignore', output, output], env: CLEAN_ENV },
    );
    fs.closeSync(output);
    const pid = child.pid!;
    const unregister = onCleanup(`kill moto (pid ${pid})`, () => {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    });
    const moto = new TwinMoto(hubNetns, root, child, unregister);
    const started = Date.now();
    const ready = await moto.python(
      [
        'import time, urllib.request',
        'for _ in range(300):',
        '    try:',
        `        urllib.request.urlopen("${MOTO_ENDPOINT}/moto-api/", timeout=2).read()`,
        '        break',
        '    except OSError:',
        '        time.sleep(0.2)',
        'else:',
        '    raise SystemExit("moto did not answer within 60 s")',
      ].join('\n'),
    );
    if (ready.code !== 0) {
      moto.stop();
      throw new Error(`moto in ${hubNetns}: ${ready.stderr}\nsee ${path.join(runDir, 'moto.log')}`);
    }
    log(`moto (SSM Parameter Store, S3) serving in the hub namespace after ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return moto;
  }

  /** Runs a python script in the moto tree, in the hub namespace (boto3 is there). */
  python(script: string, args: string[] = []): Promise<RunResult> {
    return run('ip', ['netns', 'exec', this.hubNetns, 'chroot', this.root, 'python3', '-', ...args], {
      input: script,
      env: { ...CLEAN_ENV, AWS_ACCESS_KEY_ID: 'twin', AWS_SECRET_ACCESS_KEY: 'twin', AWS_ENDPOINT_URL: MOTO_ENDPOINT },
      timeoutMs: 90_000,
    });
  }

  /** Reads parameters straight from moto, decrypted, as an operator's SDK would. Missing ones are left out. */
  async getParameters(region: string, names: string[]): Promise<SsmParameter[]> {
    const script = [
      'import json, sys, boto3',
      'ssm = boto3.client("ssm", region_name=sys.argv[1])',
      'found = ssm.get_parameters(Names=sys.argv[2:], WithDecryption=True)["Parameters"]',
      'print(json.dumps([{"name": p["Name"], "type": p["Type"], "value": p["Value"]} for p in found]))',
    ].join('\n');
    const out = await mustRunPython(this, script, [region, ...names]);
    return JSON.parse(out);
  }

  stop(): void {
    this.unregister();
    this.child.removeAllListeners();
  }
}

async function mustRunPython(moto: TwinMoto, script: string, args: string[]): Promise<string> {
  const r = await moto.python(script, args);
  if (r.code !== 0) throw new Error(`python in the moto tree exited ${r.code}: ${r.stderr.slice(-2000)}`);
  return r.stdout;
}
