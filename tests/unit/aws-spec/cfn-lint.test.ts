import { CfnLintMatch, cfnLintVersion, failingCfnLintMatches, parseCfnLintJson, runCfnLint } from './cfn-lint';

/** One match as `cfn-lint --format json` prints it. */
function rawMatch(id: string, level: string, message: string): unknown {
  return { Filename: '/scratch/a.json', Level: level, Location: { Path: ['Resources', 'Machine', 'Properties'] }, Message: message, Rule: { Id: id } };
}

describe('which cfn-lint matches fail', () => {
  const matches = parseCfnLintJson(
    JSON.stringify([rawMatch('E3002', 'Error', 'bad property'), rawMatch('W3005', 'Warning', 'obsolete DependsOn'), rawMatch('W2001', 'Warning', 'unused parameter'), rawMatch('I3011', 'Informational', 'a hint')]),
    '/scratch',
  );

  test('parses file, rule, level, message and path', () => {
    expect(matches[0]).toEqual<CfnLintMatch>({ file: 'a.json', rule: 'E3002', level: 'Error', message: 'bad property', path: 'Resources/Machine/Properties' });
  });

  test('errors and unaccepted warnings fail; accepted warnings and informational matches pass', () => {
    expect(failingCfnLintMatches(matches).map((f) => f.rule)).toEqual(['cfn-lint-E3002', 'cfn-lint-W2001']);
  });

  test('an error fails even when its code is listed as accepted', () => {
    expect(failingCfnLintMatches(matches, { E3002: 'no', W2001: 'yes', W3005: 'yes' }).map((f) => f.rule)).toEqual(['cfn-lint-E3002']);
  });

  test('no output is no match', () => {
    expect(parseCfnLintJson('')).toEqual([]);
  });
});

const version = cfnLintVersion();
(version === undefined ? describe.skip : describe)(`cfn-lint itself (${version ?? 'SKIPPED: cfn-lint is not installed on this machine'})`, () => {
  test('reports an unknown property and a missing required property as errors', async () => {
    // GIVEN a template with a misspelt property and a subnet without its VPC
    const template = {
      Resources: {
        Vpc: { Type: 'AWS::EC2::VPC', Properties: { CidrBlock: '10.0.0.0/16', EnableDnsSupportt: true } },
        Subnet: { Type: 'AWS::EC2::Subnet', Properties: { CidrBlock: '10.0.0.0/24' } },
      },
    };
    // WHEN cfn-lint checks it
    const failing = failingCfnLintMatches(await runCfnLint([{ name: 'broken', template }]));
    // THEN both are errors
    expect(failing.map((f) => f.path)).toEqual(expect.arrayContaining([expect.stringContaining('Resources/Vpc/Properties'), expect.stringContaining('Resources/Subnet/Properties')]));
    expect(failing.every((f) => f.rule.startsWith('cfn-lint-E'))).toBe(true);
  }, 300_000);
});
