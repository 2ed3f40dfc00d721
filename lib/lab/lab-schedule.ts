import { Aws, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import { Construct } from 'constructs';
import { DaskMachine } from '../machine/dask-machine';

/** A lab's daily schedule, as in the config. */
export interface LabScheduleSettings {
  /** "HH:MM": stop the machines. @default - no daily stop */
  readonly stop?: string;
  /** "HH:MM": start the machines. @default - no daily start */
  readonly start?: string;
  /** IANA time zone of the times, e.g. "Europe/Berlin". */
  readonly timezone: string;
  /** Days of the week, "MON".."SUN". @default - every day */
  readonly days?: readonly string[];
}

/** Properties of {@link LabSchedule}. */
export interface LabScheduleProps {
  readonly schedule: LabScheduleSettings;
  readonly instances: readonly DaskMachine[];
  /** The app's name, for descriptions. */
  readonly app: string;
}

/** `cron(M H ? * DAYS *)` for EventBridge Scheduler. */
export function dailyCron(time: string, days?: readonly string[]): string {
  const [hours, minutes] = time.split(':').map(Number);
  const dayField = days && days.length > 0 && days.length < 7 ? days.join(',') : '*';
  return `cron(${minutes} ${hours} ? * ${dayField} *)`;
}

/**
 * Stops (and starts) a stack's lab machines at fixed times of day with
 * EventBridge Scheduler calling the EC2 API directly: no Lambda function to
 * maintain. The schedule's role may stop and start exactly these instances.
 */
export class LabSchedule extends Construct {
  constructor(scope: Construct, id: string, props: LabScheduleProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const instanceIds = props.instances.map((m) => m.instanceId);
    const role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID } },
      }),
      description: `dasklab ${props.app}: daily stop and start of lab machines`,
    });
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['ec2:StopInstances', 'ec2:StartInstances'],
        resources: instanceIds.map((instanceId) =>
          stack.formatArn({ service: 'ec2', resource: 'instance', resourceName: instanceId }),
        ),
      }),
    );
    const input = stack.toJsonString({ InstanceIds: instanceIds });
    const add = (name: 'Stop' | 'Start', time: string | undefined, action: string) => {
      if (!time) return;
      new scheduler.CfnSchedule(this, name, {
        description: `dasklab ${props.app}: ${name.toLowerCase()} lab machines at ${time} ${props.schedule.timezone}`,
        scheduleExpression: dailyCron(time, props.schedule.days),
        scheduleExpressionTimezone: props.schedule.timezone,
        flexibleTimeWindow: { mode: 'OFF' },
        target: { arn: `arn:${Aws.PARTITION}:scheduler:::aws-sdk:ec2:${action}`, roleArn: role.roleArn, input },
      });
    };
    add('Stop', props.schedule.stop, 'stopInstances');
    add('Start', props.schedule.start, 'startInstances');
  }
}
