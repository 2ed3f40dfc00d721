/** What a check over a template found: which rule, where, and what is wrong. */
export interface Finding {
  /** The rule's id, e.g. `spec-unknown-property`. */
  readonly rule: string;
  /** Logical id of the resource (or output) concerned, if any. */
  readonly logicalId?: string;
  /** Path inside the template, e.g. `Resources.Machine.Properties.BlockDeviceMappings[0].Ebs.Foo`. */
  readonly path: string;
  readonly message: string;
}

/** One line per finding, for test failure messages. */
export function formatFindings(findings: readonly Finding[]): string {
  return findings.map((f) => `${f.rule} at ${f.path}: ${f.message}`).join('\n');
}
