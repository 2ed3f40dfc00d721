import { SsmGrant } from './instance-roles';
import { ChildProcess, spawn } from 'child_process';
import { EventEmitter } from 'events';
import * as fs from 'fs';
import * as path from 'path';
import * as readline from 'readline';
import { onCleanup } from './cleanup';
import { HUB_IP, IMDS_IP, PORTS } from './network';

/**
 * Starts services.py (apt repo, pip index, signal receiver, IMDSv2, AWS endpoint) inside the
 * hub namespace and turns its JSON event lines into events.
 */

/** A fault of the pip index, injected by tests. */
export interface PipFault {
  /**
   * 'refused': nothing listens on the port (connection refused); the window
   * starts when the twin starts. An HTTP status ('503', '500', ...): the index
   * answers it; the window starts at the first request to it.
   */
  mode: 'refused' | HttpErrorStatus;
  /** How long the index is down; omitted: always (or see failFirstRequests). */
  downForSeconds?: number;
  /** Only with an HTTP status: answer it to the first N requests, then serve normally (overrides downForSeconds). */
  failFirstRequests?: number;
}

export type HttpErrorStatus = '500' | '502' | '503' | '504';

/** A fault of the apt repository: an HTTP error status from its first request on. */
export interface AptFault {
  mode: HttpErrorStatus;
  /** How long after its first request it answers the error; omitted: always (or see failFirstRequests). */
  downForSeconds?: number;
  /** Answer the error to the first N requests, then serve normally (overrides downForSeconds). */
  failFirstRequests?: number;
}

export interface Faults {
  pipIndex?: PipFault;
  aptRepo?: AptFault;
  /**
   * Inside every machine, a unit started early at boot holds the apt and dpkg
   * locks (fcntl, as apt and unattended-upgrades take them) for this many
   * seconds, as a first-boot unattended-upgrades run does on Ubuntu.
   */
  aptLockSeconds?: number;
}

/** What IMDS answers to one machine. */
export interface ImdsIdentity {
  /** local-ipv4. */
  ip: string;
  /** The source address of its requests to IMDS (its service address). */
  serviceIp: string;
  instanceId: string;
  hostname: string;
  instanceType: string;
  region: string;
  /** The SSM parameter path its bootstrap uses, if any. */
  ssmParameterPath?: string;
  /** What its role allows in SSM Parameter Store (instance-roles.ts). */
  ssmGrants: SsmGrant[];
  /** The S3 objects (`bucket/key`) its role may get (instance-roles.ts). */
  s3Objects: string[];
  /** The file whose content IMDS serves as /latest/user-data (read at each request). */
  userDataFile: string;
}

/** A wait-condition signal as received (CloudFormation's JSON body). */
export interface ReceivedSignal {
  handle: string;
  /** Seconds since the epoch when it arrived. */
  time: number;
  client: string;
  body: { Status?: string; Reason?: string; UniqueId?: string; Data?: string };
}

/** An SSM call the twin's AWS endpoint forwarded to moto, with moto's HTTP status. */
export interface ForwardedSsmCall {
  instanceId: string;
  time: number;
  action: string;
  names: string[];
  status: number;
}

/** An S3 request the twin's AWS endpoint answered for a machine: forwarded to moto (its status), or refused (403). */
export interface S3Request {
  instanceId: string;
  time: number;
  method: string;
  object: string;
  status: number;
}

/** A CreateTags call the twin's EC2 endpoint accepted. */
export interface ReceivedTags {
  instanceId: string;
  time: number;
  tags: Record<string, string>;
}

export interface ServicesOptions {
  hubNetns: string;
  aptDir: string;
  pipDir: string;
  runDir: string;
  machines: ImdsIdentity[];
  /** moto's endpoint inside the hub namespace; SSM requests are refused without it. */
  ssmEndpoint?: string;
  /** moto's endpoint for S3 (the CDK's asset bucket); S3 requests are refused without it. */
  s3Endpoint?: string;
  faults?: Faults;
  log: (msg: string) => void;
}

/** Where releases published during a run go (Twin.publishRelease); the pip service reads it before the index. */
export function pipOverlayDir(runDir: string): string {
  return path.join(runDir, 'pip-overlay');
}

export class Services extends EventEmitter {
  readonly signals: ReceivedSignal[] = [];
  readonly tagCalls: ReceivedTags[] = [];
  readonly ssmCalls: ForwardedSsmCall[] = [];
  readonly s3Requests: S3Request[] = [];
  readonly accessLog: string;
  private constructor(
    private readonly child: ChildProcess,
    accessLog: string,
    private readonly unregister: () => void,
  ) {
    super();
    this.accessLog = accessLog;
  }

  static async start(opts: ServicesOptions): Promise<Services> {
    const accessLog = path.join(opts.runDir, 'services-access.log');
    const configFile = path.join(opts.runDir, 'services.json');
    fs.writeFileSync(
      configFile,
      JSON.stringify({
        hubIp: HUB_IP,
        imdsIp: IMDS_IP,
        ports: PORTS,
        aptDir: opts.aptDir,
        pipDir: opts.pipDir,
        pipOverlayDir: pipOverlayDir(opts.runDir),
        accessLog,
        ssmEndpoint: opts.ssmEndpoint ?? null,
        s3Endpoint: opts.s3Endpoint ?? null,
        pipFault: opts.faults?.pipIndex ?? null,
        aptFault: opts.faults?.aptRepo ?? null,
        // Keyed by every address a machine may call from.
        imds: Object.fromEntries(opts.machines.flatMap((m) => [[m.ip, m], [m.serviceIp, m]])),
      }),
    );
    // setpriv --pdeathsig: the services die with us even if we are SIGKILLed.
    const child = spawn(
      'setpriv',
      ['--pdeathsig', 'SIGKILL', 'ip', 'netns', 'exec', opts.hubNetns,
        // The served dirs are on the command line too, so a build in use is never pruned (cache.ts).
        '/usr/bin/python3', path.join(__dirname, 'services.py'), configFile, opts.aptDir, opts.pipDir],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const pid = child.pid!;
    const unregister = onCleanup(`kill services (pid ${pid})`, () => killQuietly(pid));
    const services = new Services(child, accessLog, unregister);
    const errors = fs.createWriteStream(path.join(opts.runDir, 'services-stderr.log'));
    child.stderr!.pipe(errors);

    const ready = new Promise<void>((resolve, reject) => {
      child.on('exit', (code) => reject(new Error(`services.py exited (${code}); see ${opts.runDir}/services-stderr.log`)));
      readline.createInterface({ input: child.stdout! }).on('line', (line) => {
        const ev = JSON.parse(line);
        if (ev.event === 'ready') resolve();
        else if (ev.event === 'signal') {
          const sig: ReceivedSignal = { handle: ev.handle, time: ev.time, client: ev.client, body: ev.body };
          services.signals.push(sig);
          services.emit('signal', sig);
        } else if (ev.event === 'tags') {
          services.tagCalls.push({ instanceId: ev.instanceId, time: ev.time, tags: ev.tags });
        } else if (ev.event === 's3') {
          services.s3Requests.push({ instanceId: ev.instanceId, time: ev.time, method: ev.method, object: ev.object, status: ev.status });
        } else if (ev.event === 'ssm') {
          services.ssmCalls.push({ instanceId: ev.instanceId, time: ev.time, action: ev.action, names: ev.names, status: ev.status });
        } else if (ev.event === 'bad-signal') {
          opts.log(`malformed signal for ${ev.handle} from ${ev.client}: ${ev.body}`);
        } else if (ev.event !== 'listening') {
          opts.log(`services: ${line}`);
        }
      });
    });
    await ready;
    return services;
  }

  stop(): void {
    this.unregister();
    this.child.removeAllListeners('exit');
  }
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    /* already gone */
  }
}
