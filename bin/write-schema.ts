/**
 * Writes dasklab.schema.json at the repository root from the zod config schema.
 * Run with `npm run schema` after changing lib/config/schema.ts; the unit
 * tests fail until the committed file matches.
 */
import * as fs from 'fs';
import * as path from 'path';
import { renderJsonSchema } from '../lib/config/json-schema';

const target = path.join(__dirname, '..', 'dasklab.schema.json');
fs.writeFileSync(target, renderJsonSchema());
console.log(`wrote ${path.relative(process.cwd(), target) || target}`);
