import { Tags } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';
import { MachineRole } from './bootstrap-user-data';

/**
 * The tag contract: the CLI finds everything an app deployed through these
 * tags, so their keys and values must not change.
 */
export const TAG_APP = 'dasklab:app';
export const TAG_ROLE = 'dasklab:role';
export const TAG_STUDENT = 'dasklab:student';

/** Tags every taggable resource under `scope` as part of the app. */
export function tagApp(scope: IConstruct, app: string): void {
  Tags.of(scope).add(TAG_APP, app);
}

/** Tags a machine (and what it carries) with its role and, in a lab, its student. */
export function tagMachine(scope: IConstruct, role: MachineRole, student?: string): void {
  Tags.of(scope).add(TAG_ROLE, role);
  if (student !== undefined) {
    Tags.of(scope).add(TAG_STUDENT, student);
  }
}

/** Set by each machine on itself: `bootstrapping`, `ready` or `failed:<phase>`. */
export const TAG_BOOTSTRAP = 'dasklab:bootstrap';
