import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { onCleanup, removeTree } from './cleanup';
import { adaptUserData, describeDeviations, USER_DATA_LIMIT_BYTES } from './deviations';
import { ensureIndexes } from './indexes';
import { ExecOptions, Machine } from './machine';
import { assignAddresses } from './addresses';
import { AWS_ENDPOINT_URL, HUB_IP, IMDS_IP, machineIp, PIP_INDEX_URL, signalUrl, TwinNetwork } from './network';
import { mustRun, RunResult, sleep } from './proc';
import { ensureRootfs } from './rootfs';
import { ec2Hostname, writeSeed } from './seed';
import { Faults, pipOverlayDir, ReceivedSignal, Services } from './services';
import { loadApp, resolveUserData } from './template';
import { firewallsFor, nftRuleset, readTemplates } from './security-groups';
import { materializeKeyPairs, TwinKeyPair } from './key-pairs';
import { OwnProcStat } from './proc-stat';
import { MOTO_ENDPOINT, TwinMoto } from './moto';
import { s3ObjectGrantsByMachine, ssmGrantsByMachine, ssmGrantsOfRole } from './instance-roles';
import { Builder, ensureImage, imageParameterOf, imageSpecOf, ImageSpec } from './image';
import { fileAssetsOf, publishAssets } from './assets';
import { TwinProxy } from './proxy';
import { WayOut, wayOutRuleset } from './way-out';

/**
 * The twin: boots a synthesized template's EC2 instances as containers, with
 * the services EC2 and CloudFormation would provide around them.
 *
 *   const twin = await Twin.start({ templateDir: 'cdk.out' });
 *   const results = await twin.waitForSignals();
 *   await twin.exec(twin.machines[0], ['cat', '/var/lib/dasklab/ready.json']);
 *   await twin.stop();
 */

export const DEFAULT_STACK = 'dasklab-Machine';
export const TWIN_REGION = 'us-east-1';
const REPO_DIR = path.resolve(__dirname, '..', '..');

export interface TwinOptions {
  /** Directory holding `<stack>.template.json`; omitted: synthesize the app into the run dir. */
  templateDir?: string;
  /** Context passed to `cdk synth` as `-c key=value` (only when synthesizing). */
  context?: Record<string, string>;
  /** @default 'dasklab-Machine' */
  stack?: string;
  /**
   * Several stacks of the app, booted together (a lab): the names, or a pattern
   * selecting every stack that has instances (e.g. /^dasklab-Lab-\d+$/).
   * Fn::ImportValue resolves to the exporting stack's values. Overrides `stack`.
   */
  stacks?: string[] | RegExp;
  faults?: Faults;
  /** Overrides every wait condition's Timeout (seconds). */
  timeoutSeconds?: number;
  /**
   * Give each machine a persistent root (an overlay whose upper layer is in the
   * run dir, removed at stop) so a reboot inside it boots it again with its
   * state, as on EC2; see Twin.reboot. Default: a tmpfs overlay, and a reboot
   * ends the machine.
   */
  persistentRoot?: boolean;
  /**
   * Enforce the template's security groups between the machines (nftables in
   * each machine's namespace; security-groups.ts).
   * @default true
   */
  enforceSecurityGroups?: boolean;
  /**
   * How the machines reach the internet (the apt repository and the pip
   * index): 'direct', 'none' (a private subnet without a way out) or 'proxy'
   * (only through the twin's proxy, TWIN_PROXY_URL, which a config names as
   * `network.proxy`); way-out.ts.
   * @default 'direct'
   */
  wayOut?: WayOut;
  /** Progress output; default: stderr with a [twin] prefix. */
  log?: (msg: string) => void;
}

/** What tests and the CLI know about a booted machine. */
export interface TwinMachine {
  logicalId: string;
  /** Its private IP: IMDS local-ipv4 and Fn::GetAtt PrivateIp (addresses.ts). */
  ip: string;
  /** Its address on the twin's service subnet (the same as ip unless the template fixes addresses). */
  serviceIp: string;
  /** host0's addresses with prefix lengths. */
  cidrs: string[];
  /** The `dasklab:role` tag. */
  role: string;
  instanceId: string;
  hostname: string;
  /** Container name. */
  name: string;
  /** The wait-condition handle it signals. */
  handle: string;
  timeoutSeconds: number;
  /** What the twin changed in its user data. */
  userDataChanges: string[];
  /** The stack it belongs to. */
  stack: string;
  /** All its tags (dasklab:student, Name, ...). */
  tags: Record<string, string>;
  /** The key pair its KeyName names, installed for `ubuntu` by cloud-init. */
  keyPair?: TwinKeyPair;
  /**
   * The SSM parameter of the baked image it boots from (its launch template's
   * `resolve:ssm:` ImageId; image.ts), or undefined: the rootfs, standing for Canonical's Ubuntu.
   */
  image?: string;
}

/** The outcome of one machine's wait condition. */
export interface SignalResult {
  machine: TwinMachine;
  /** SUCCESS/FAILURE as signalled; TIMEOUT or EXITED (container gone) when no signal came. */
  status: 'SUCCESS' | 'FAILURE' | 'TIMEOUT' | 'EXITED';
  reason: string;
  uniqueId?: string;
  data?: string;
  /** Seconds from container start to the signal (or to giving up). */
  seconds: number;
}

export class Twin {
  private readonly machineByLogicalId = new Map<string, Machine>();
  readonly machines: TwinMachine[] = [];
  /** Seconds spent building the rootfs, the indexes and the baked images in this start (0 when cached). */
  readonly buildSeconds = { rootfs: 0, indexes: 0, image: 0 };
  private stopped = false;
  private readonly procStats: OwnProcStat[] = [];
  /** Each machine's private IP by logical id, for resolving user data. */
  private ips = new Map<string, string>();
  /** Each machine's index (its seed-<k>, user-data-<k>). */
  private readonly indexOf = new Map<string, number>();
  /** The pip index the machines install from (a cached build, never changed). */
  private pipDir = '';

  private constructor(
    readonly runDir: string,
    private readonly network: TwinNetwork,
    readonly log: (msg: string) => void,
    private readonly dropRunDir: () => void,
  ) {}

  get services(): Services {
    return this.servicesRef!;
  }
  private servicesRef?: Services;

  /** moto, the machines' SSM Parameter Store (TLS certificates, version sets) and S3; running only when a machine's role may use them. */
  get moto(): TwinMoto {
    if (!this.motoRef) throw new Error('no machine of this twin uses SSM Parameter Store, so moto is not running');
    return this.motoRef;
  }
  private motoRef?: TwinMoto;

  /** The proxy that is the machines' only way out (twin option wayOut: 'proxy'). */
  get proxy(): TwinProxy {
    if (!this.proxyRef) throw new Error("this twin's machines have no proxy (twin option wayOut: 'proxy')");
    return this.proxyRef;
  }
  private proxyRef?: TwinProxy;

  static async start(opts: TwinOptions = {}): Promise<Twin> {
    const log = opts.log ?? ((msg: string) => process.stderr.write(`[twin] ${msg}\n`));
    if (process.getuid?.() !== 0) throw new Error('the twin needs root (debootstrap, network namespaces, systemd-nspawn)');
    log(describeDeviations());
    const stack = opts.stack ?? DEFAULT_STACK;

    removeStaleRunDirs();
    // The PID in the name lets a later run remove it if this process is killed outright.
    const runDir = fs.mkdtempSync(path.join(os.tmpdir(), `dasklab-twin-${process.pid}-`));
    const dropRunDir = onCleanup(`remove ${runDir}`, () => removeTree(runDir));
    let network: TwinNetwork | undefined;
    let twin: Twin | undefined;
    try {
      const templateDir = opts.templateDir ?? (await synth(runDir, opts.context ?? {}, log));
      const template = loadApp(templateDir, opts.stacks ?? [stack]);
      for (const s of template.booted) {
        const t = template.templates.get(s)!;
        log(`${t.file}: ${t.instances.map((i) => `${i.logicalId} (${i.role || 'no role'})`).join(', ') || 'no instances'}`);
      }
      const keyPairs = await materializeKeyPairs(template, template.instances, runDir);

      const rootfs = await ensureRootfs(log);
      const indexes = await ensureIndexes(rootfs.dir, log);
      network = await TwinNetwork.create();
      twin = new Twin(runDir, network, log, dropRunDir);
      twin.buildSeconds.rootfs = rootfs.seconds;
      twin.buildSeconds.indexes = indexes.seconds;
      twin.pipDir = indexes.pipDir;

      const runHex = (process.pid.toString(16) + Date.now().toString(16)).slice(-9);
      const instanceIdOf = (k: number) => `i-twin${runHex}${k.toString(16).padStart(4, '0')}`;
      const noRef = (what: string) => () => {
        throw new Error(`a role's resource refers to ${what}`);
      };
      const twinValues = { region: TWIN_REGION, signalUrl: noRef('a wait-condition handle'), privateIp: noRef('an instance') };
      // The baked images the machines' launch templates name (image.ts), each built on a build instance of its own.
      const imageOf = new Map(template.instances.map((inst) => [inst.logicalId, imageParameterOf(template, inst)]));
      const imageSpecs: ImageSpec[] = [...new Set([...imageOf.values()].filter((p): p is string => !!p))].map((p) => imageSpecOf(template, p, twinValues));
      const builders = imageSpecs.map((spec, j): { spec: ImageSpec; k: number; builder: Builder } => {
        const k = template.instances.length + j;
        const ip = machineIp(k);
        const builder = {
          instanceId: instanceIdOf(k),
          ip,
          cidrs: [`${ip}/24`],
          hostname: ec2Hostname(ip),
          name: `dasklab-${network!.id}-${k}`,
          netnsPath: '',
          ssmGrants: ssmGrantsOfRole(readTemplates(templateDir), spec.stack, spec.buildRole, twinValues),
        };
        log(`image ${spec.parameterName}: ${spec.steps.length} build step(s) of ${spec.name}, built on ${builder.instanceId} (${ip}) as ${spec.stack}/${spec.buildRole}`);
        return { spec, k, builder };
      });
      const addresses = assignAddresses(template.instances.map((i) => i.privateIpAddress), template.vpcCidr);
      const ips = new Map(template.instances.map((inst, k) => [inst.logicalId, addresses[k].privateIp]));
      const specs = template.instances.map((inst, k) => {
        const ip = ips.get(inst.logicalId)!;
        const resolved = resolveUserData(
          inst,
          {
            region: TWIN_REGION,
            stackName: inst.stack!,
            signalUrl,
            privateIp: (id) => {
              const found = ips.get(id);
              if (!found) throw new Error(`Fn::GetAtt ${id}.PrivateIp: ${id} is not an instance`);
              return found;
            },
          },
          template.templates.get(inst.stack!)!.handles,
        );
        const size = Buffer.byteLength(resolved);
        if (size > USER_DATA_LIMIT_BYTES) {
          throw new Error(`user data of ${inst.logicalId} is ${size} bytes; EC2 accepts at most ${USER_DATA_LIMIT_BYTES}`);
        }
        const adapted = adaptUserData(resolved, { pipIndexUrl: PIP_INDEX_URL, awsEndpointUrl: AWS_ENDPOINT_URL });
        const info: TwinMachine = {
          logicalId: inst.logicalId,
          ip,
          serviceIp: addresses[k].serviceIp,
          cidrs: addresses[k].cidrs,
          role: inst.role,
          instanceId: instanceIdOf(k),
          hostname: ec2Hostname(ip),
          name: `dasklab-${network!.id}-${k}`,
          handle: inst.handle,
          timeoutSeconds: opts.timeoutSeconds ?? inst.timeoutSeconds,
          userDataChanges: adapted.changes,
          stack: inst.stack!,
          tags: inst.tags ?? {},
          keyPair: keyPairs.get(inst),
          image: imageOf.get(inst.logicalId),
        };
        log(`${inst.logicalId}: ${info.cidrs.join(' ')} ${info.instanceId}; user data: ${adapted.changes.join('; ') || 'unchanged'}`);
        const parameterPath = adapted.parameters.get('DASKLAB_TLS_PARAMETER_PATH');
        return { info, inst, userData: adapted.script, k, ssmParameterPath: typeof parameterPath === 'string' ? parameterPath : undefined };
      });

      // SSM Parameter Store and S3 (moto) only for machines that use them: it costs a few seconds to start.
      const ssmGrants = ssmGrantsByMachine(readTemplates(templateDir));
      // The TLS certificates and the app's version set: every synthesized machine's role has a parameter path.
      const usesSsm = specs.some(({ inst }) => (ssmGrants.get(`${inst.stack}/${inst.logicalId}`) ?? []).length > 0) ||
        builders.some(({ builder }) => builder.ssmGrants.length > 0);
      const s3Grants = s3ObjectGrantsByMachine(readTemplates(templateDir), twinValues);
      const readable = new Set(specs.flatMap(({ inst }) => s3Grants.get(`${inst.stack}/${inst.logicalId}`) ?? []));
      const usesS3 = readable.size > 0;
      const moto = usesSsm || usesS3 ? TwinMoto.start(network.hub, runDir, log) : undefined;
      moto?.catch(() => undefined); // awaited below; a failure meanwhile must not go unhandled
      twin.ips = ips;
      for (const { userData, k } of specs) fs.writeFileSync(path.join(runDir, `user-data-${k}`), userData);
      // Image Builder gives a build instance no user data of the app.
      for (const { k } of builders) fs.writeFileSync(path.join(runDir, `user-data-${k}`), '');
      twin.servicesRef = await Services.start({
        hubNetns: network.hub,
        aptDir: indexes.aptDir,
        pipDir: indexes.pipDir,
        runDir,
        faults: opts.faults,
        log,
        ssmEndpoint: usesSsm ? MOTO_ENDPOINT : undefined,
        s3Endpoint: usesS3 ? MOTO_ENDPOINT : undefined,
        machines: specs.map(({ info, inst, ssmParameterPath, k }) => ({
          ip: info.ip,
          serviceIp: info.serviceIp,
          instanceId: info.instanceId,
          hostname: info.hostname,
          instanceType: inst.instanceType,
          region: TWIN_REGION,
          ssmParameterPath,
          ssmGrants: ssmGrants.get(`${inst.stack}/${inst.logicalId}`) ?? [],
          s3Objects: s3Grants.get(`${inst.stack}/${inst.logicalId}`) ?? [],
          userDataFile: path.join(runDir, `user-data-${k}`),
        })).concat(builders.map(({ spec, k, builder }) => ({
          ip: builder.ip,
          serviceIp: builder.ip,
          instanceId: builder.instanceId,
          hostname: builder.hostname,
          instanceType: spec.instanceType,
          region: TWIN_REGION,
          ssmParameterPath: undefined,
          ssmGrants: builder.ssmGrants,
          s3Objects: [],
          userDataFile: path.join(runDir, `user-data-${k}`),
        }))),
      });
      twin.motoRef = await moto;
      // What `cdk deploy` uploads before the machines exist: the assets they may read (the course materials).
      if (usesS3) await publishAssets(network.hub, fileAssetsOf(templateDir, twinValues).filter((a) => readable.has(`${a.bucket}/${a.key}`)), runDir, log);
      if (opts.faults?.pipIndex) log(`fault injected: pip index ${JSON.stringify(opts.faults.pipIndex)}`);
      if (opts.faults?.aptRepo) log(`fault injected: apt repository ${JSON.stringify(opts.faults.aptRepo)}`);
      // What `cdk deploy` creates before the machines' stacks go on: their images.
      const imageRoots = new Map<string, string>();
      for (const { spec, k, builder } of builders) {
        builder.netnsPath = await network.addMachine(k);
        const built = await ensureImage(spec, builder, {
          rootfs: rootfs.dir,
          indexesDir: path.dirname(indexes.aptDir),
          runDir,
          services: twin.services,
          moto: twin.motoRef,
          region: TWIN_REGION,
          log,
        });
        imageRoots.set(spec.parameterName, built.rootfs);
        twin.buildSeconds.image += built.seconds;
      }
      const machineFault = machineFaults(runDir, opts.faults);
      if (opts.faults?.aptLockSeconds) log(`fault injected: apt/dpkg locks held for ${opts.faults.aptLockSeconds} s at boot`);

      // The template's security groups, enforced between the machines (security-groups.ts).
      const firewalls = opts.enforceSecurityGroups === false
        ? undefined
        : firewallsFor(readTemplates(templateDir), specs.map(({ info }) => ({ stack: info.stack, logicalId: info.logicalId, ip: info.ip })));
      if (!firewalls) log('security groups: NOT enforced (enforceSecurityGroups: false)');
      const wayOut = opts.wayOut ?? 'direct';
      if (wayOut !== 'direct') log(`way out: ${wayOut}: the apt repository and the pip index are out of the machines' reach${wayOut === 'proxy' ? ' except through the proxy' : ''}`);
      if (wayOut === 'proxy') twin.proxyRef = await TwinProxy.start(network.hub, runDir, log);

      for (const { info, userData, k } of specs) {
        const seedDir = path.join(runDir, `seed-${k}`);
        writeSeed(seedDir, {
          instanceId: info.instanceId,
          hostname: info.hostname,
          cidrs: info.cidrs,
          userData,
          publicKeys: info.keyPair ? [info.keyPair.publicKey] : undefined,
        });
        const netnsPath = await network.addMachine(k);
        if (firewalls) {
          const fw = firewalls[k];
          const script = nftRuleset(fw, [HUB_IP, IMDS_IP]);
          fs.writeFileSync(path.join(runDir, `security-groups-${k}.nft`), script);
          await network.applyFirewall(netnsPath, script);
          log(`${info.logicalId}: security groups ${fw.groups.map((g) => g.split('/').pop()).join(', ')}: ${fw.ingress.length} ingress, ${fw.egress.length} egress rules`);
        }
        if (wayOut !== 'direct') await network.applyFirewall(netnsPath, wayOutRuleset(wayOut));
        // The machine's own CPU counters at /proc/stat (proc-stat.ts).
        const procStat = new OwnProcStat(path.join(runDir, `proc-stat-${k}`));
        twin.procStats.push(procStat);
        const machine = new Machine({
          ...info,
          rootfs: info.image ? imageRoots.get(info.image)! : rootfs.dir,
          netnsPath,
          seedDir,
          consoleLog: path.join(runDir, `console-${k}.log`),
          persistentDir: opts.persistentRoot ? path.join(runDir, `root-${k}`) : undefined,
          ...machineFault,
          bindsRo: [...(machineFault.bindsRo ?? []), ...procStat.binds],
          initArgs: [...(machineFault.initArgs ?? []), ...procStat.initArgs],
        });
        twin.machines.push(info);
        twin.machineByLogicalId.set(info.logicalId, machine);
        twin.indexOf.set(info.logicalId, k);
        await machine.boot();
        procStat.attach(() => machine.leaderPid);
        log(`${info.logicalId}: booting as ${info.name} (nspawn leader pid ${machine.leaderPid})${info.image ? ` from the image ${info.image}` : ''}`);
      }
      return twin;
    } catch (err) {
      if (twin) await twin.stop();
      else {
        network?.remove();
        dropRunDir();
      }
      throw err;
    }
  }

  /** Whether the machine's container is still running (false once it powered off). */
  isRunning(m: TwinMachine | string): boolean {
    return this.machine(m).running;
  }

  /** Resolves when the machine's container is gone for good (powered off or stopped). */
  exited(m: TwinMachine | string): Promise<number> {
    return this.machine(m).exited;
  }

  /** The hub network namespace (bridge with the services; every machine is reachable from it). */
  get hubNetns(): string {
    return this.network.hub;
  }

  private machine(m: TwinMachine | string): Machine {
    const id = typeof m === 'string' ? m : m.logicalId;
    const found = this.machineByLogicalId.get(id);
    if (!found) throw new Error(`no machine ${id}`);
    return found;
  }

  /** Runs a command in a machine (as root unless opts.user). */
  exec(m: TwinMachine | string, cmd: string[], opts: ExecOptions = {}): Promise<RunResult> {
    return this.machine(m).exec(cmd, opts);
  }

  /**
   * Reboots a machine from inside (`systemctl reboot`) and waits until it is
   * booting again. Needs persistentRoot; without it a reboot would end the machine.
   */
  async reboot(m: TwinMachine | string, timeoutMs = 120000, whileDown?: () => void): Promise<void> {
    const machine = this.machine(m);
    if (!machine.spec.persistentDir) throw new Error('Twin.reboot needs the twin option persistentRoot');
    const before = machine.reboots;
    if (whileDown) machine.beforeNextBoot = whileDown;
    await machine.exec(['systemctl', 'reboot', '--no-block']);
    const deadline = Date.now() + timeoutMs;
    while (!(machine.reboots > before && machine.running && machine.leaderPid)) {
      if (Date.now() > deadline) {
        const console = fs.readFileSync(machine.spec.consoleLog, 'utf8').split('\n').slice(-15).join('\n');
        throw new Error(`${machine.spec.name} did not boot again within ${timeoutMs / 1000} s (reboots ${machine.reboots}, running ${machine.running}); console tail:\n${console}`);
      }
      await sleep(200);
    }
    this.log(`${machine.logicalId}: rebooted (boot ${machine.reboots + 1}, nspawn leader pid ${machine.leaderPid})`);
  }

  /**
   * What a deploy that changes a machine's UserData does to it: CloudFormation
   * stops the instance, sets the new user data and starts it again ("Update
   * requires: Some interruptions"). The machine's user data becomes that of
   * the same instance in another synthesis of the app (`templateDir`), resolved
   * with the machine's addresses: IMDS serves it and the NoCloud seed holds it,
   * as EC2's datasource would (cloud-init does not run it again: same
   * instance-id). The machine then signals the handle of that user data. The
   * stop and start is a reboot of the persistent root (needs persistentRoot);
   * the twin keeps the machine's addresses, where EC2 gives a new public IP.
   */
  async replaceUserData(m: TwinMachine | string, templateDir: string): Promise<void> {
    const info = this.machines.find((x) => x.logicalId === (typeof m === 'string' ? m : m.logicalId));
    if (!info) throw new Error(`no machine ${typeof m === 'string' ? m : m.logicalId}`);
    const app = loadApp(templateDir, [info.stack]);
    const inst = app.instances.find((i) => i.logicalId === info.logicalId);
    if (!inst) throw new Error(`${templateDir} has no ${info.logicalId} in ${info.stack}: the deploy would replace the machine, not update it`);
    const resolved = resolveUserData(
      inst,
      {
        region: TWIN_REGION,
        stackName: info.stack,
        signalUrl,
        privateIp: (id) => {
          const found = this.ips.get(id);
          if (!found) throw new Error(`Fn::GetAtt ${id}.PrivateIp: ${id} is not an instance`);
          return found;
        },
      },
      app.templates.get(info.stack)!.handles,
    );
    const size = Buffer.byteLength(resolved);
    if (size > USER_DATA_LIMIT_BYTES) throw new Error(`user data of ${info.logicalId} is ${size} bytes; EC2 accepts at most ${USER_DATA_LIMIT_BYTES}`);
    const adapted = adaptUserData(resolved, { pipIndexUrl: PIP_INDEX_URL, awsEndpointUrl: AWS_ENDPOINT_URL });
    const k = this.indexOf.get(info.logicalId)!;
    const machine = this.machine(info.logicalId);
    await this.reboot(info, 120000, () => {
      fs.writeFileSync(path.join(this.runDir, `user-data-${k}`), adapted.script);
      fs.writeFileSync(path.join(machine.spec.seedDir, 'user-data'), adapted.script);
    });
    this.log(`${info.logicalId}: user data replaced from ${templateDir} (handle ${info.handle} -> ${inst.handle}), stopped and started`);
    info.handle = inst.handle;
    info.timeoutSeconds = inst.timeoutSeconds;
  }

  /**
   * A newer release of `projects` on the pip index, as the package index gets
   * one weeks after a deploy: the same code under `version`, each project
   * pinning the others at it (tests/twin/republish-wheels.py). Returns the new
   * wheels' file names.
   */
  async publishRelease(version: string, projects: readonly string[]): Promise<string[]> {
    const script = path.join(__dirname, 'republish-wheels.py');
    const result = await mustRun('/usr/bin/python3', [script, this.pipDir, pipOverlayDir(this.runDir), version, ...projects]);
    const wheels = result.trim().split('\n');
    this.log(`published ${wheels.join(', ')} on the pip index`);
    return wheels;
  }

  /**
   * What `dasklab reset` has EC2 do: the machine's root volume replaced with
   * its launch state, in place (same instance id, addresses, user data and
   * key), and the machine rebooted on it; cloud-init finds a fresh disk and
   * runs the user data again. Needs persistentRoot. Resolves once the machine
   * is booting again (its bootstrap then runs from the start).
   */
  async replaceRootVolume(m: TwinMachine | string, timeoutMs = 300000): Promise<void> {
    const machine = this.machine(m);
    await this.reboot(m, timeoutMs, () => machine.resetPersistentRoot());
    this.log(`${machine.logicalId}: root volume replaced with its launch state`);
  }

  /** How many times a machine has rebooted. */
  reboots(m: TwinMachine | string): number {
    return this.machine(m).reboots;
  }

  /** The machine's /var/lib/dasklab/ready.json, or undefined if it has none. */
  async readyJson(m: TwinMachine | string): Promise<any> { // eslint-disable-line @typescript-eslint/no-explicit-any
    const r = await this.exec(m, ['cat', '/var/lib/dasklab/ready.json']);
    return r.code === 0 ? JSON.parse(r.stdout) : undefined;
  }

  /** The dasklab:bootstrap tag values a machine set on itself, in order. */
  bootstrapTags(m: TwinMachine): string[] {
    return this.selfTags(m, 'dasklab:bootstrap');
  }

  /** The values of one tag a machine set on itself, in order. */
  selfTags(m: TwinMachine, key: string): string[] {
    return this.services.tagCalls
      .filter((t) => t.instanceId === m.instanceId && key in t.tags)
      .map((t) => t.tags[key]);
  }

  /** Path of the machine's console log (systemd and cloud-init output). */
  consoleLog(m: TwinMachine | string): string {
    return this.machine(m).spec.consoleLog;
  }

  /**
   * Waits until every machine has signalled its wait-condition handle, as
   * CloudFormation does: the first signal decides; none within the timeout is a
   * TIMEOUT; a container that stops first is EXITED.
   */
  async waitForSignals(): Promise<SignalResult[]> {
    return Promise.all(this.machines.map((m) => this.waitForSignal(m)));
  }

  async waitForSignal(m: TwinMachine): Promise<SignalResult> {
    const machine = this.machine(m);
    const deadline = machine.startedAt + m.timeoutSeconds * 1000;
    let exited = false;
    void machine.exited.then(() => (exited = true));
    for (;;) {
      const sig: ReceivedSignal | undefined = this.services.signals.find((s) => s.handle === m.handle);
      const elapsed = (Date.now() - machine.startedAt) / 1000;
      if (sig) {
        const status = sig.body.Status === 'SUCCESS' ? 'SUCCESS' : 'FAILURE';
        return {
          machine: m,
          status,
          reason: sig.body.Reason ?? '',
          uniqueId: sig.body.UniqueId,
          data: sig.body.Data,
          seconds: sig.time - machine.startedAt / 1000,
        };
      }
      if (exited) return { machine: m, status: 'EXITED', reason: 'the container stopped before signalling', seconds: elapsed };
      if (Date.now() > deadline) {
        return { machine: m, status: 'TIMEOUT', reason: `no signal within ${m.timeoutSeconds} s`, seconds: elapsed };
      }
      await sleep(500);
    }
  }

  /** Stops every container, the services and the network, and removes the run dir. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await Promise.all([...this.machineByLogicalId.values()].map((m) => m.stop()));
    for (const p of this.procStats) p.stop();
    this.servicesRef?.stop();
    this.motoRef?.stop();
    this.proxyRef?.stop();
    this.network.remove();
    this.dropRunDir();
  }
}

/**
 * What machine-side faults add to every container: a unit holding the apt and
 * dpkg locks from early boot (faults.aptLockSeconds), bound into
 * /etc/systemd/system and pulled in with `systemd.wants=` on the container's
 * init command line.
 */
function machineFaults(runDir: string, faults?: Faults): { bindsRo?: Array<[string, string]>; initArgs?: string[] } {
  const seconds = faults?.aptLockSeconds;
  if (!seconds) return {};
  const dir = path.join(runDir, 'faults');
  fs.mkdirSync(dir, { recursive: true });
  const unit = 'dasklab-twin-apt-lock.service';
  const script = '/usr/local/lib/dasklab-twin/hold-apt-locks.py';
  fs.writeFileSync(path.join(dir, 'hold-apt-locks.py'), [
    '# Holds the locks apt and dpkg take (fcntl write locks, as unattended-upgrades holds them).',
    'import fcntl, os, socket, sys, time',
    'held = []',
    'for path in ("/var/lib/dpkg/lock-frontend", "/var/lib/dpkg/lock", "/var/lib/apt/lists/lock", "/var/cache/apt/archives/lock"):',
    '    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o640)',
    '    fcntl.lockf(fd, fcntl.LOCK_EX)',
    '    held.append(fd)',
    'print(f"holding the apt and dpkg locks for {sys.argv[1]} s", flush=True)',
    'addr = os.environ.get("NOTIFY_SOCKET")',
    'if addr:',
    '    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)',
    '    sock.sendto(b"READY=1", "\\0" + addr[1:] if addr.startswith("@") else addr)',
    'time.sleep(float(sys.argv[1]))',
    'print("released the apt and dpkg locks", flush=True)',
    '',
  ].join('\n'));
  fs.writeFileSync(path.join(dir, unit), [
    '[Unit]',
    `Description=dasklab twin fault: hold the apt and dpkg locks for ${seconds} s, as a first-boot unattended-upgrades run does`,
    'DefaultDependencies=no',
    'After=local-fs.target',
    'Before=cloud-init.service cloud-config.service cloud-final.service',
    '',
    '[Service]',
    'Type=notify',
    `ExecStart=/usr/bin/python3 ${script} ${seconds}`,
    '',
  ].join('\n'));
  return {
    bindsRo: [[path.join(dir, 'hold-apt-locks.py'), script], [path.join(dir, unit), `/etc/systemd/system/${unit}`]],
    initArgs: [`systemd.wants=${unit}`],
  };
}

/** Removes run dirs of twins whose process is gone (killed with SIGKILL, say). */
function removeStaleRunDirs(): void {
  for (const name of fs.readdirSync(os.tmpdir())) {
    const m = /^dasklab-twin-(\d+)-/.exec(name);
    if (!m) continue;
    try {
      process.kill(Number(m[1]), 0);
    } catch {
      removeTree(path.join(os.tmpdir(), name));
    }
  }
}

/** Runs `cdk synth` for the repo's app into the run dir and returns the output dir. */
async function synth(runDir: string, context: Record<string, string>, log: (msg: string) => void): Promise<string> {
  const out = path.join(runDir, 'cdk.out');
  const args = ['--no-install', 'cdk', 'synth', '--quiet', '--output', out];
  for (const [k, v] of Object.entries(context)) args.push('-c', `${k}=${v}`);
  log(`npx ${args.join(' ')}`);
  const started = Date.now();
  await mustRun('npx', args, { cwd: REPO_DIR, timeoutMs: 5 * 60 * 1000 });
  log(`synthesized in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  return out;
}

/** A human-readable summary: status, reason and phase timings per machine. */
export async function formatResults(twin: Twin, results: SignalResult[]): Promise<string> {
  const lines: string[] = [];
  for (const r of results) {
    const m = r.machine;
    lines.push(`${m.logicalId} [${m.role || 'no role'}] ${m.ip} ${m.instanceId}: ${r.status} after ${r.seconds.toFixed(1)} s (container start to signal)`);
    lines.push(`  reason: ${r.reason.split('\n').slice(-15).join('\n          ')}`);
    const ready = await twin.readyJson(m).catch(() => undefined);
    if (!ready) {
      lines.push('  ready.json: none');
      continue;
    }
    lines.push(`  ready.json: status ${ready.status}${ready.failedPhase ? `, failed phase ${ready.failedPhase}` : ''}, versions ${JSON.stringify(ready.versions ?? {})}`);
    const phases = Object.entries<{ seconds: number }>(ready.phases ?? {});
    const total = phases.reduce((t, [, p]) => t + p.seconds, 0);
    const boot = r.seconds - (ready.totalSeconds ?? total);
    lines.push(`  boot until the bootstrap ran: ${boot.toFixed(1)} s`);
    for (const [name, p] of phases) {
      lines.push(`  phase ${name.padEnd(8)} ${String(p.seconds).padStart(5)} s  ${total ? ((100 * p.seconds) / total).toFixed(0) : 0}%`);
    }
  }
  return lines.join('\n');
}
