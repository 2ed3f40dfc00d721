/**
 * The printable page (Markdown) each student, or each machine outside a lab,
 * gets: their machine, how to connect, and the first steps of the course:
 * `python3 -V`, the ready venv, a venv of their own, `import numpy`, `import dask`.
 */
import { dashboardTunnelArgv, shellJoin, sshCommand } from './connection';
import { DASK_PORTS } from '../cluster/dask-ports';
import { HandoutContext, HandoutEntry } from './handout-entry';
import { jupyterSection, runsJupyter } from './jupyter-handout';

/** The machines one page is about: a student's machines, or one machine. */
export interface PageGroup {
  /** The page's file name without `.md`: the student id, or the machine's label. */
  readonly id: string;
  readonly student?: string;
  /** The main machine first (the one the student logs in to), then the rest. */
  readonly entries: readonly HandoutEntry[];
}

/**
 * One group per student (their machines together) and one per machine that
 * belongs to no student, in the order of `entries`.
 */
export function pageGroups(entries: readonly HandoutEntry[]): PageGroup[] {
  const groups: PageGroup[] = [];
  const byStudent = new Map<string, HandoutEntry[]>();
  for (const entry of entries) {
    const student = entry.machine.student;
    if (student === undefined) {
      groups.push({ id: entry.machine.label, entries: [entry] });
      continue;
    }
    let list = byStudent.get(student);
    if (list === undefined) {
      list = [];
      byStudent.set(student, list);
      groups.push({ id: student.replace(/[^A-Za-z0-9._-]+/g, '-'), student, entries: list });
    }
    list.push(entry);
  }
  return groups;
}

/** Renders one page. */
export function renderHandoutPage(group: PageGroup, context: HandoutContext): string {
  const [main, ...others] = group.entries;
  const { machine, connection } = main;
  const title = group.student !== undefined ? `${group.student}: your dasklab machine` : `${machine.label}: dasklab machine`;
  const out: string[] = [`# ${title}`, ''];
  out.push('| | |', '|---|---|');
  out.push(`| Machine | \`${machine.name ?? machine.label}\` (${machine.instanceId}), ${machine.instanceType ?? '?'}, region ${context.region} |`);
  out.push(`| User | \`${connection.user}\` |`);
  out.push(`| Address | ${connection.viaSsm ? `${connection.host} (through AWS Session Manager)` : connection.host} |`);
  out.push(`| Key | ${keyDescription(main)} |`);
  out.push('');

  let step = 1;
  if (main.keyFile !== undefined) {
    out.push(`## ${step++}. Save your key`, '');
    out.push(`Save \`${main.keyFile}\` in the folder you open your terminal in, and make it readable only by you (ssh refuses a key that others can read):`, '');
    out.push(`    chmod 600 ${main.keyFile}`, '');
  }
  out.push(`## ${step++}. Connect`, '');
  out.push(...connectSection(main));
  if (machine.state !== 'running') {
    out.push(`This machine was **${machine.state}** when this page was made. Ask your trainer to start it; its public address may change when it starts.`, '');
  }

  if (runsJupyter(main, context.jupyter)) {
    out.push(`## ${step++}. JupyterLab`, '');
    out.push(...jupyterSection(main));
  }

  out.push(`## ${step++}. First steps`, '');
  const venv = context.venv === undefined ? 'a ready virtual environment' : `a ready virtual environment (\`${context.venv}\`)`;
  out.push(`Python${context.pythonVersion ? ` ${context.pythonVersion}` : ''} and ${venv} with numpy and dask are installed, checked and ready. Every login shell starts with that environment active.`, '');
  out.push(`    python3 -V${context.pythonVersion ? `                 # Python ${context.pythonVersion}.x` : ''}`);
  out.push('    python3 -c "import numpy, dask; print(numpy.__version__, dask.__version__)"', '');
  out.push('Your own virtual environment, as on any computer:', '');
  out.push('    python3 -m venv my-env');
  out.push('    source my-env/bin/activate');
  out.push('    pip install numpy dask');
  out.push('    python3 -c "import numpy; import dask; print(\'numpy and dask work\')"', '');

  out.push(`## ${step++}. The Dask dashboard`, '');
  out.push(...dashboardSection(main));

  if (others.length > 0) {
    out.push('## Your other machines', '');
    for (const other of others) {
      out.push(`- \`${other.machine.name ?? other.machine.label}\` (${other.machine.role ?? 'machine'}, ${other.machine.instanceId}):`, '');
      out.push(`      ${connectLine(other)}`, '');
    }
  }
  out.push('---', `dasklab app "${context.app}", made ${context.generatedAt.toISOString().slice(0, 16).replace('T', ' ')} UTC.`, '');
  return out.join('\n');
}

/** The key row of the table. */
function keyDescription(entry: HandoutEntry): string {
  if (entry.keyFile !== undefined) return `\`${entry.keyFile}\` (handed out with this page)`;
  if (entry.key.kind === 'imported') return 'your own SSH key (the private key of the public key given to dasklab)';
  return 'none: connect through AWS Session Manager';
}

/** How to connect, with what the connection needs. */
function connectSection(entry: HandoutEntry): string[] {
  const out: string[] = [];
  if (entry.key.kind === 'none') {
    out.push('This machine has no SSH key. Open a shell through AWS Session Manager (needs the AWS CLI, its Session Manager plugin and AWS credentials from your trainer):', '');
    out.push(`    aws ssm start-session --region ${entry.connection.region} --target ${entry.connection.instanceId}`, '');
    return out;
  }
  if (entry.connection.viaSsm) {
    out.push('The machine has no open SSH port: ssh goes through AWS Session Manager. You need the AWS CLI v2, its Session Manager plugin, and AWS credentials from your trainer. Then:', '');
  }
  out.push(`    ${connectLine(entry)}`, '');
  if (entry.key.kind === 'imported') {
    out.push('ssh uses your default key (for example `~/.ssh/id_ed25519`); add `-i PATH` for another one.', '');
  }
  out.push('The first time, ssh shows the machine\'s key fingerprint and asks whether to continue: answer `yes`.', '');
  return out;
}

/** The ssh command for an entry. */
function connectLine(entry: HandoutEntry): string {
  if (entry.key.kind === 'none') return `aws ssm start-session --region ${entry.connection.region} --target ${entry.connection.instanceId}`;
  return sshCommand(entry.connection, entry.keyFile);
}

/** How to see the dashboard of the main machine. */
function dashboardSection(entry: HandoutEntry): string[] {
  const port = DASK_PORTS.dashboard;
  const out: string[] = [];
  const role = entry.machine.role;
  out.push(
    role === 'scheduler' || role === 'student'
      ? `The Dask scheduler's dashboard listens on port ${port}.`
      : `When you start a Dask cluster in Python (\`from dask.distributed import Client; client = Client()\`), its dashboard listens on port ${port}.`,
    '',
  );
  if (entry.reach.dashboard && entry.machine.publicIp !== undefined) {
    out.push(`Open http://${entry.machine.publicIp}:${port}/status in your browser.`, '');
    return out;
  }
  if (entry.key.kind === 'none' && !entry.connection.viaSsm) return out;
  out.push(`Forward it to your computer (leave this running), then open http://localhost:${port}/status:`, '');
  out.push(`    ${shellJoin(dashboardTunnelArgv(entry.connection, { keyFile: entry.keyFile }))}`, '');
  return out;
}
