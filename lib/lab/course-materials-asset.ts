import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3assets from 'aws-cdk-lib/aws-s3-assets';
import { Construct } from 'constructs';
import type { MaterialsLocation } from '../bootstrap/bootstrap-user-data';
import { CourseMaterials, MATERIALS_EXCLUDED_NAMES } from '../config/course-materials';

/** Properties of {@link CourseMaterialsAsset}. */
export interface CourseMaterialsAssetProps {
  /** The folder, as the loader read and checked it (lib/config/course-materials.ts). */
  readonly materials: CourseMaterials;
}

/**
 * A lab's course materials as one CDK asset: `cdk deploy` zips the folder and
 * uploads it once to the CDK's asset bucket (the bootstrap stack's), under a
 * key that is the hash of its content, for the whole class. Each student's
 * machine downloads it with the lab machines' role, which may read that one
 * object and nothing else of the bucket ({@link grantRead}).
 *
 * What else the bucket needs, from the CDK's bootstrap template
 * (aws-cdk/lib/api/bootstrap/bootstrap-template.yaml): its policy denies
 * requests without TLS (boto3 uses HTTPS); it is encrypted with KMS, by
 * default with the AWS managed key aws/s3
 * (https://docs.aws.amazon.com/cdk/v2/guide/bootstrapping-customizing.html),
 * whose key policy lets every principal of the account use it through S3
 * (https://docs.aws.amazon.com/kms/latest/developerguide/concepts.html#aws-managed-key),
 * or with `--bootstrap-customer-key` the template's own key, whose policy
 * allows the same (kms:CallerAccount and kms:ViaService s3). Either way the
 * role needs no KMS permission of its own. A key of the user's own
 * (`--bootstrap-kms-key-id`) must allow the same for the materials to be read.
 */
export class CourseMaterialsAsset extends Construct {
  public readonly asset: s3assets.Asset;

  constructor(scope: Construct, id: string, props: CourseMaterialsAssetProps) {
    super(scope, id);
    this.asset = new s3assets.Asset(this, 'Asset', {
      path: props.materials.folder,
      // The loader counted the files without these; the zip holds none of them either.
      exclude: [...MATERIALS_EXCLUDED_NAMES],
      displayName: 'course materials',
    });
  }

  /** Where the machines find the zip. */
  public get location(): MaterialsLocation {
    return { bucket: this.asset.s3BucketName, key: this.asset.s3ObjectKey };
  }

  /** Lets `role` read the materials' object, and nothing else (no listing, no other key of the bucket). */
  public grantRead(role: iam.IRole): void {
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'ReadCourseMaterials',
        actions: ['s3:GetObject'],
        resources: [this.asset.bucket.arnForObjects(this.asset.s3ObjectKey)],
      }),
    );
  }
}
