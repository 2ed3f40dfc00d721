/** `dasklab preflight`: does a deploy of the config fit the region? */
import { Command } from 'commander';
import { CommandContext } from '../context';
import { deployPlan } from '../preflight/deploy-plan';
import { labPlanInputOf } from '../preflight/lab-plan-input';
import { formatChecks, preflightExitCode, runPreflight } from '../preflight/preflight';
import { actionOf, CommandKit, examples } from './kit';

async function preflight(ctx: CommandContext): Promise<number> {
  const config = ctx.config();
  const app = ctx.app();
  const region = await ctx.region();
  const plan = deployPlan(config, labPlanInputOf(config));
  ctx.note(`Preflight of ${ctx.configFile()} (app "${app}", ${plan.machines.length} machine${plan.machines.length === 1 ? '' : 's'}) in ${region}:`);
  const checks = await runPreflight(ctx.clients(), plan, app);
  const code = preflightExitCode(checks);
  if (ctx.json) {
    ctx.printJson({ app, region, ok: code === 0, checks });
    return code;
  }
  for (const line of formatChecks(checks)) ctx.print(line);
  const count = (status: string) => checks.filter((c) => c.status === status).length;
  ctx.print(`${code === 0 ? 'OK' : 'NOT OK'}: ${count('PASS')} passed, ${count('WARN')} warnings, ${count('FAIL')} failed`);
  return code;
}

/** Adds `preflight` to the program. */
export function registerPreflight(program: Command, kit: CommandKit): void {
  program
    .command('preflight')
    .description(
      'before class: check the vCPU quotas, the instance types offered in the VPC\'s availability zones and the other quotas a deploy of the config needs; exits 1 on a FAIL',
    )
    .addHelpText('after', examples('npx dasklab preflight --region eu-west-1', 'npx dasklab preflight --config configs/course-b.json'))
    .action(actionOf(kit, (ctx) => preflight(ctx)));
}
