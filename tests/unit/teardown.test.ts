import { addDasklabStacks } from '../../lib/app';
import { testApp } from './support';
import { DasklabConfigInput } from '../../lib/config/schema';
import { validateConfig } from '../../lib/config';

/** Every resource of every stack of an app, with its stack name. */
function resourcesOf(input: DasklabConfigInput): Array<{ stack: string; id: string; resource: any }> {
  const app = testApp();
  addDasklabStacks(app, validateConfig(input, 'test'));
  return app.synth().stacks.flatMap((stack) =>
    Object.entries(stack.template.Resources as Record<string, any>).map(([id, resource]) => ({ stack: stack.stackName, id, resource })),
  );
}

describe('cdk destroy leaves nothing behind', () => {
  test.each<[string, DasklabConfigInput]>([
    ['machine', {}],
    ['cluster', { cluster: { workers: 2, spot: true } }],
    ['lab', { lab: { roster: ['alice', 'bob'], workersPerStudent: 1, schedule: { stop: '18:00', timezone: 'UTC' } } }],
  ])('%s: no resource is retained or snapshotted on delete or replacement', (_name, input) => {
    // GIVEN every resource the app creates
    const resources = resourcesOf(input);
    // THEN none keeps data after the stack is gone
    const kept = resources.filter(
      ({ resource }) => ['Retain', 'RetainExceptOnCreate', 'Snapshot'].includes(resource.DeletionPolicy) ||
        ['Retain', 'Snapshot'].includes(resource.UpdateReplacePolicy),
    );
    expect(kept.map(({ stack, id }) => `${stack}/${id}`)).toEqual([]);
    // AND every root volume is deleted with its instance
    for (const { resource } of resources.filter((r) => r.resource.Type === 'AWS::EC2::LaunchTemplate')) {
      for (const mapping of resource.Properties.LaunchTemplateData.BlockDeviceMappings) {
        expect(mapping.Ebs.DeleteOnTermination).toBe(true);
      }
    }
    // AND the log group is deleted with the stack
    for (const { resource } of resources.filter((r) => r.resource.Type === 'AWS::Logs::LogGroup')) {
      expect(resource.DeletionPolicy).toBe('Delete');
    }
  });
});
