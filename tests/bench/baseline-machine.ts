import * as fs from 'fs';
import * as path from 'path';

/**
 * The baseline: a fresh machine on which a person types the manual sequence.
 * The bench adds it to a copy of a synthesized template, next to the app's own
 * machine, so that both boot in the same twin run. Its user data does nothing
 * but signal its wait condition once cloud-init runs it (the machine is up and
 * a person could log in); the person's commands are then timed through the
 * twin.
 *
 * The twin rewrites a few parameters of every machine's user data
 * (tests/twin/deviations.ts) and needs them present, so the baseline carries
 * the same parameter block; nothing reads it.
 */

export const BASELINE_ID = 'BenchBaselineInstance';
export const BASELINE_ROLE = 'baseline';
const WAIT_ID = 'BenchBaselineReady';
const HANDLE_ID = 'BenchBaselineHandle';

/** The baseline's user data: a parameter block, then one signal. */
function baselineUserData(): unknown {
  const lines = [
    '#!/bin/bash',
    '# dasklab bench: a fresh machine for the manual sequence; it only says it is up.',
    '# >>> dasklab parameters',
    "DASKLAB_PYTHON_VERSION='3.12'",
    "DASKLAB_PIP_INDEX_URL=''",
    "DASKLAB_PIP_PACKAGES=('numpy' 'dask[complete]')",
    '# <<< dasklab parameters',
    'set -eu',
    `body='{"Status":"SUCCESS","Reason":"baseline machine up","UniqueId":"baseline","Data":""}'`,
    "curl -fsS --max-time 30 --retry 5 --retry-all-errors -X PUT -H 'Content-Type:' --data-binary \"$body\" \"$SIGNAL_URL\"",
    '',
  ];
  const [first, ...rest] = lines;
  // SIGNAL_URL is the handle's URL, which the twin resolves like any wait-condition handle.
  return { 'Fn::Base64': { 'Fn::Join': ['', [`${first}\nSIGNAL_URL='`, { Ref: HANDLE_ID }, `'\n${rest.join('\n')}`]] } };
}

/**
 * Copies `<fromDir>/<stack>.template.json` into `toDir` with the baseline
 * machine added (same instance type, subnet and launch template as the
 * template's first machine), and returns `toDir`.
 */
export function addBaselineMachine(fromDir: string, stack: string, toDir: string): string {
  const file = `${stack}.template.json`;
  const template = JSON.parse(fs.readFileSync(path.join(fromDir, file), 'utf8'));
  const resources = template.Resources as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  const first = Object.values(resources).find((r) => r.Type === 'AWS::EC2::Instance');
  if (!first) throw new Error(`${file} has no AWS::EC2::Instance to stand next to`);
  resources[HANDLE_ID] = { Type: 'AWS::CloudFormation::WaitConditionHandle' };
  resources[WAIT_ID] = {
    Type: 'AWS::CloudFormation::WaitCondition',
    Properties: { Count: 1, Handle: { Ref: HANDLE_ID }, Timeout: '1800' },
    DependsOn: [BASELINE_ID],
  };
  resources[BASELINE_ID] = {
    Type: 'AWS::EC2::Instance',
    Properties: {
      InstanceType: first.Properties.InstanceType,
      SubnetId: first.Properties.SubnetId,
      // The same image, disk and instance profile as the machine beside it.
      LaunchTemplate: first.Properties.LaunchTemplate,
      UserData: baselineUserData(),
      Tags: [
        { Key: 'Name', Value: 'bench-baseline' },
        { Key: 'dasklab:role', Value: BASELINE_ROLE },
      ],
    },
  };
  fs.mkdirSync(toDir, { recursive: true });
  fs.writeFileSync(path.join(toDir, file), JSON.stringify(template, null, 1));
  return toDir;
}
