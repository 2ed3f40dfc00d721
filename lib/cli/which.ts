/** Finding programs on PATH, to say clearly when one is missing before running it. */
import * as fs from 'fs';
import * as path from 'path';

/** The full path of `program` on `pathVariable`, or undefined. */
export function which(program: string, pathVariable: string | undefined): string | undefined {
  for (const dir of (pathVariable ?? '').split(path.delimiter)) {
    if (dir === '') continue;
    const candidate = path.join(dir, program);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      if (fs.statSync(candidate).isFile()) return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}
