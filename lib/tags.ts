import { Tags } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';
import { MachineRole } from './bootstrap/bootstrap-user-data';
import { TAG_APP, TAG_ROLE, TAG_STUDENT } from './tag-keys';

export { TAG_APP, TAG_BOOTSTRAP, TAG_JUPYTER, TAG_MARKET, TAG_ROLE, TAG_STUDENT } from './tag-keys';

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
