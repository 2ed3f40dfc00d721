import { App, AppProps, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { addDasklabStacks } from '../../lib/app';
import { decodeBootstrapBody } from '../../lib/bootstrap/bootstrap-user-data';
import * as path from 'path';
import { validateConfig } from '../../lib/config/load';
import { ConfigSchema, DasklabConfig, DasklabConfigInput } from '../../lib/config/schema';

/** Where a test config's files (lab.materials) are read from: the repository root. */
export const TEST_CONFIG_DIR = path.join(__dirname, '..', '..');

/**
 * A validated config from partial input, defaults filled in as the loader
 * does; a `lab.materials` folder and a `python.lockFile` are read as the loader reads them, relative to
 * the repository root (e.g. "tests/fixtures/materials").
 */
export function configOf(input: DasklabConfigInput = {}): DasklabConfig {
  if (typeof input.lab?.materials === 'string' || typeof input.python?.lockFile === 'string') return validateConfig(input, 'test config', TEST_CONFIG_DIR);
  return ConfigSchema.parse(input);
}

/**
 * An app for template tests. It skips the esbuild bundling of the custom
 * resources' Lambda code (1 to 2 s per stack); the test of the bundle itself
 * uses a plain App.
 */
export function testApp(props: AppProps = {}): App {
  return new App({ ...props, context: { ...props.context, 'aws:cdk:bundling-stacks': [] } });
}

/** Synthesizes the app for a config and returns its stacks by name. */
export function synthApp(input: DasklabConfigInput = {}): Map<string, Stack> {
  const app = testApp();
  addDasklabStacks(app, configOf(input));
  return new Map(app.node.children.filter((c): c is Stack => c instanceof Stack).map((s) => [s.stackName, s]));
}

/** The template of one stack of the app. */
export function templateOf(stackName: string, input: DasklabConfigInput = {}): Template {
  const stack = synthApp(input).get(stackName);
  if (!stack) {
    throw new Error(`no stack ${stackName}; have ${[...synthApp(input).keys()].join(', ')}`);
  }
  return Template.fromStack(stack);
}

/** The only resource of a type (that matches `filter`), with its logical id. */
export function onlyResource(template: Template, type: string, filter: (resource: any) => boolean = () => true): { id: string; resource: any } {
  const resources = Object.entries(template.findResources(type)).filter(([, r]) => filter(r));
  if (resources.length !== 1) {
    throw new Error(`expected one ${type}, found ${resources.length}`);
  }
  const [id, resource] = resources[0];
  return { id, resource };
}

/** Every ingress rule in a template, inline or standalone, as {cidr, from, to}. */
export function ingressRules(template: Template): Array<{ cidr?: string; from?: number; to?: number; source?: unknown }> {
  const rules: Array<any> = [];
  for (const sg of Object.values(template.findResources('AWS::EC2::SecurityGroup'))) {
    rules.push(...((sg as any).Properties.SecurityGroupIngress ?? []));
  }
  for (const rule of Object.values(template.findResources('AWS::EC2::SecurityGroupIngress'))) {
    rules.push((rule as any).Properties);
  }
  return rules.map((r) => ({
    cidr: r.CidrIp ?? r.CidrIpv6,
    from: r.FromPort,
    to: r.ToPort,
    source: r.SourceSecurityGroupId,
  }));
}

/**
 * A machine's user data as the machine sees it: the template's Fn::Join parts
 * (tokens shown as their JSON), with the compressed bootstrap body decoded
 * after the parameters.
 */
export function userDataOf(instance: any): string {
  const userData = instance.Properties.UserData['Fn::Base64'];
  const parts: unknown[] = typeof userData === 'string' ? [userData] : userData['Fn::Join'][1];
  const text = parts.map((p) => (typeof p === 'string' ? p : JSON.stringify(p))).join('');
  return `${text}\n${decodeBootstrapBody(text)}`;
}

/** Every policy statement attached to a role (by its logical id), with single actions unwrapped. */
export function policyStatementsOf(template: Template, roleLogicalId: string): any[] {
  return Object.values(template.findResources('AWS::IAM::Policy'))
    .filter((p: any) => p.Properties.Roles.some((r: any) => r.Ref === roleLogicalId))
    .flatMap((p: any) => p.Properties.PolicyDocument.Statement);
}
