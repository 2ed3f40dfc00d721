/**
 * The app's file assets in the twin's S3 (moto), as `cdk deploy` publishes
 * them: cdk-assets zips each directory asset of cdk.out (its files only, dot
 * files included, links followed, each file's mode kept, dates reset to
 * 1980-01-01) and uploads it to the CDK's asset bucket under the key the
 * assets manifest names. Only the assets some machine's role may read are
 * published: the others (templates, Lambda code) no machine asks for.
 */
import * as fs from 'fs';
import * as path from 'path';
import { MOTO_ENDPOINT } from './moto';
import { mustRun, run } from './proc';
import { IntrinsicValues, resolve } from './template';

type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any

/** One file asset of the app, with its destination resolved. */
export interface FileAsset {
  /** The asset in cdk.out: a directory (packaging zip) or a file. */
  readonly source: string;
  readonly packaging: 'zip' | 'file';
  readonly bucket: string;
  readonly key: string;
}

/** Every file asset of the app's stacks (their `*.assets.json`), destinations resolved with the twin's account and region. */
export function fileAssetsOf(templateDir: string, values: Omit<IntrinsicValues, 'stackName'>): FileAsset[] {
  const assets: FileAsset[] = [];
  for (const manifest of fs.readdirSync(templateDir).filter((f) => f.endsWith('.assets.json'))) {
    const stackName = manifest.slice(0, -'.assets.json'.length);
    const files: Record<string, Json> = JSON.parse(fs.readFileSync(path.join(templateDir, manifest), 'utf8')).files ?? {};
    for (const file of Object.values(files)) {
      for (const destination of Object.values<Json>(file.destinations)) {
        assets.push({
          source: path.join(templateDir, file.source.path),
          packaging: file.source.packaging === 'zip' ? 'zip' : 'file',
          bucket: resolve({ 'Fn::Sub': destination.bucketName }, { ...values, stackName }),
          key: destination.objectKey,
        });
      }
    }
  }
  return assets;
}

/** Zips a directory as cdk-assets does (aws-cdk's zipDirectory: fast-glob "**" with dot files, files only, following links; mode kept; 1980 dates). */
export async function zipAsCdkAssets(directory: string, zipFile: string): Promise<void> {
  const script = [
    'import os, sys, zipfile',
    'root, out = sys.argv[1:]',
    'with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:',
    '    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):',
    '        dirnames.sort()',
    '        for name in sorted(filenames):',
    '            full = os.path.join(dirpath, name)',
    '            info = zipfile.ZipInfo(os.path.relpath(full, root), date_time=(1980, 1, 1, 0, 0, 0))',
    '            info.external_attr = os.stat(full).st_mode << 16',
    '            info.compress_type = zipfile.ZIP_DEFLATED',
    '            with open(full, "rb") as f:',
    '                z.writestr(info, f.read())',
  ].join('\n');
  await mustRun('python3', ['-c', script, directory, zipFile]);
}

/**
 * Publishes `assets` to moto's S3 in the hub namespace: creates each bucket,
 * zips each directory asset into `runDir` and uploads it.
 */
export async function publishAssets(hubNetns: string, assets: readonly FileAsset[], runDir: string, log: (msg: string) => void): Promise<void> {
  const curl = (args: string[]) => run('ip', ['netns', 'exec', hubNetns, 'curl', '-sS', '--fail-with-body', '-m', '120', ...args]);
  for (const bucket of new Set(assets.map((a) => a.bucket))) {
    const made = await curl(['-X', 'PUT', `${MOTO_ENDPOINT}/${bucket}`]);
    if (made.code !== 0 && !/BucketAlreadyOwnedByYou/.test(made.stdout)) throw new Error(`creating s3://${bucket} in moto: ${made.stdout}${made.stderr}`);
  }
  for (const asset of assets) {
    let file = asset.source;
    if (asset.packaging === 'zip') {
      file = path.join(runDir, `asset-${asset.key}`);
      await zipAsCdkAssets(asset.source, file);
    }
    const put = await curl(['-T', file, `${MOTO_ENDPOINT}/${asset.bucket}/${asset.key}`]);
    if (put.code !== 0) throw new Error(`uploading s3://${asset.bucket}/${asset.key} to moto: ${put.stdout}${put.stderr}`);
    log(`asset ${path.basename(asset.source)} published as s3://${asset.bucket}/${asset.key} (${fs.statSync(file).size} bytes)`);
  }
}
