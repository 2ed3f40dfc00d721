/**
 * The JSON Schema of the config, generated from the zod schema so the two can
 * never disagree. It ships as `dasklab.schema.json` (written by
 * `npm run schema`); a unit test fails if the committed file drifts.
 */
import { z } from 'zod';
import { ConfigSchema } from './schema';

/** `$id` of the generated schema: a stable name, not a URL anyone must serve. */
export const SCHEMA_ID = 'urn:dasklab:config-schema';

/**
 * The JSON Schema document for `dasklab.config.json`, as the exact text of
 * `dasklab.schema.json`: pretty-printed with 2 spaces and a trailing newline.
 *
 * Generated for the input side (`io: 'input'`), so fields with a default are
 * optional, as they are for the user writing the file. Draft-07 because it is
 * the draft editors (VS Code, JetBrains) support best. Refinements (CIDR host
 * bits, key decoding, ...) cannot be expressed in JSON Schema; the descriptions
 * state them and `cdk synth` enforces them.
 */
export function renderJsonSchema(): string {
  const generated = z.toJSONSchema(ConfigSchema, { io: 'input', target: 'draft-07' }) as Record<string, unknown>;
  // Put the identifying keys first, where a reader of the file looks for them.
  const { $schema, ...rest } = generated;
  const document = {
    $schema,
    $id: SCHEMA_ID,
    title: 'dasklab config',
    description:
      'Configuration of a dasklab deployment (dasklab.config.json, or the file given with `cdk synth -c config=FILE`): ' +
      'Ubuntu EC2 machines with Python and Dask ready, optionally a Dask cluster. Every field is optional; defaults give one standalone t3.medium machine.',
    ...rest,
  };
  return `${JSON.stringify(document, null, 2)}\n`;
}
