#!/usr/bin/env node
/**
 * The operator and trainer CLI: `npx dasklab <command>` (through the shim
 * bin/dasklab). See lib/cli/program.ts for the commands.
 */
import { runCli } from '../lib/cli/main';

// The SDK warns on every run that its 2027 releases will need Node 22; the
// trainer can do nothing about it mid-class. An explicit setting wins.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

runCli(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
