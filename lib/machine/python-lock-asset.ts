import { Aws } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3assets from 'aws-cdk-lib/aws-s3-assets';
import { Construct } from 'constructs';
import type { LockFileLocation } from '../bootstrap/bootstrap-user-data';
import type { PythonLockFile } from '../config/lock-file';

/** Properties of {@link PythonLockAsset}. */
export interface PythonLockAssetProps {
  /** The lock file, as the loader read and checked it (lib/config/lock-file.ts). */
  readonly lock: PythonLockFile;
}

/**
 * The app's lock file (python.lockFile) as a CDK asset: `cdk deploy` uploads
 * it to the CDK's asset bucket under a key that is the hash of its content.
 * A lock of dask[complete] with its hashes is tens of kilobytes, beyond what
 * user data (16 KB) or an SSM parameter (8 KB) holds; the user data names only
 * the object and the sha256 of the file synth checked, which the machine
 * compares before pip reads it. The bucket's requirements (TLS, its KMS key)
 * are those of the course materials (lib/lab/course-materials-asset.ts).
 */
export class PythonLockAsset extends Construct {
  public readonly location: LockFileLocation;

  constructor(scope: Construct, id: string, props: PythonLockAssetProps) {
    super(scope, id);
    const asset = new s3assets.Asset(this, 'Asset', { path: props.lock.file, displayName: 'Python lock file' });
    this.location = { bucket: asset.s3BucketName, key: asset.s3ObjectKey, sha256: props.lock.sha256 };
  }
}

/** Lets `role` read the lock file's object, and nothing else of the bucket. */
export function grantLockFileRead(role: iam.IRole, location: LockFileLocation): void {
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      sid: 'ReadPythonLockFile',
      actions: ['s3:GetObject'],
      resources: [`arn:${Aws.PARTITION}:s3:::${location.bucket}/${location.key}`],
    }),
  );
}
