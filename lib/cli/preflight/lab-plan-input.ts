/** The lab part of the deploy plan, from the loaded config's `lab` section. */
import { DasklabConfig } from '../../config';
import { LabPlanInput } from './deploy-plan';

/**
 * The lab plan input, or undefined when the config has no lab. The loader has
 * read the roster (`lab.students`) and resolved `lab.instanceType`.
 */
export function labPlanInputOf(config: DasklabConfig): LabPlanInput | undefined {
  const lab = config.lab;
  if (lab === undefined) return undefined;
  return {
    studentIds: lab.students.map((s) => s.id),
    workersPerStudent: lab.workersPerStudent,
    instanceType: lab.instanceType,
  };
}
