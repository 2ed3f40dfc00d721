import { createHash } from 'crypto';
import type * as imagebuilder from 'aws-cdk-lib/aws-imagebuilder';
import { TAG_APP } from '../tag-keys';
import { BootstrapParameters, renderBootstrap } from '../bootstrap/bootstrap-user-data';
import { UbuntuArchitecture, UbuntuImage } from '../machine/ubuntu-image';
import { imageBuildScript, imageComponentDocument } from './image-component';

/** What goes into an app's baked image, besides its CPU architecture and Ubuntu release: its package config. */
export type ImageBootstrapParameters = Pick<
  BootstrapParameters,
  'app' | 'pythonVersion' | 'packages' | 'indexUrl' | 'codeArtifact' | 'lockFile' | 'venv' | 'user' | 'awsEndpointUrl' | 'jupyter'
>;

/**
 * The image's part of a machine's bootstrap parameters: what its install
 * phases read, and nothing per machine (a trainer key, idle stop, a proxy),
 * whose change must not rebuild the image.
 */
export function imageBootstrapOf(params: Omit<BootstrapParameters, 'role'>, jupyter: boolean): ImageBootstrapParameters {
  const { app, pythonVersion, packages, indexUrl, codeArtifact, lockFile, venv, user, awsEndpointUrl } = params;
  return { app, pythonVersion, packages, indexUrl, codeArtifact, lockFile, venv, user, awsEndpointUrl, jupyter };
}

/** One baked image of an app, as a pure value: the same in every stack that names it. */
export interface ImageDefinition {
  /** The Image Builder component document that installs everything. */
  readonly document: string;
  /** The Canonical SSM parameter of the parent image. */
  readonly parentParameter: string;
  /** Every property of the component but its name. */
  readonly component: Omit<imagebuilder.CfnComponentProps, 'name'>;
  /** Every property of the recipe but its name and its component's ARN. */
  readonly recipe: Omit<imagebuilder.CfnImageRecipeProps, 'name' | 'components'>;
  /** 12 hex digits of a digest of everything that goes into the image. */
  readonly digest: string;
  /** The name of the component and the recipe: a new name for new content, since both are immutable. */
  readonly name: string;
  /** The SSM parameter that holds the built AMI's id, which launch templates name. */
  readonly parameterName: string;
}

/** The image's own settings, beside the package config. */
export interface ImageShape {
  readonly architecture: UbuntuArchitecture;
  /** @default '24.04' */
  readonly ubuntuRelease?: string;
  /** The root volume's size, which the recipe sets. */
  readonly diskGiB: number;
}

/**
 * The image of an app for an architecture. Everything that goes into it is in
 * the component (the rendered bootstrap with the app's package config) or the
 * recipe (the parent image's name, the root volume), so their digest changes
 * exactly when the image must be built again; it names the component, the recipe and the AMI's
 * parameter, so that a new image is a new resource and the launch templates
 * that name it change (and with them, the machines).
 */
export function imageDefinitionOf(params: ImageBootstrapParameters, image: ImageShape): ImageDefinition {
  const { architecture, ubuntuRelease, diskGiB } = image;
  const key = JSON.stringify([params, architecture, ubuntuRelease ?? null, diskGiB]);
  let definition = definitions.get(key);
  if (definition) return definition;
  const parentParameter = new UbuntuImage({ release: ubuntuRelease, architecture }).parameterName;
  // No wait condition and no proxy: the build reports through Image Builder, and its subnet reaches out directly.
  const bootstrap = renderBootstrap({ ...params, role: 'standalone', imageBuild: true });
  const document = imageComponentDocument(imageBuildScript(bootstrap), `dasklab ${params.app}: Python ${params.pythonVersion}, the venv and its packages`);
  const component = {
    version: '1.0.0',
    platform: 'Linux',
    description: `dasklab ${params.app}: Python, the venv and the app's packages`,
    data: document,
  };
  const recipe = {
    version: '1.0.0',
    parentImage: `ssm:${parentParameter}`,
    // The AMI, which the stack's tags do not reach, is the app's too.
    amiTags: { [TAG_APP]: params.app },
    blockDeviceMappings: [
      {
        // The root device of Canonical's images, as in the launch template.
        deviceName: '/dev/sda1',
        ebs: { volumeSize: diskGiB, volumeType: 'gp3', encrypted: true, deleteOnTermination: true },
      },
    ],
  };
  // Every property of the component and the recipe replaces them, and a replaced resource needs a new name:
  // https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-imagebuilder-component.html
  // https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-name.html
  // The lock file's bucket is a token (its name holds the account and region), whose text varies from one
  // synth to the next; the file's sha256, in the document too, names what matters of it.
  let digested = JSON.stringify([component, recipe]);
  if (params.lockFile) digested = digested.split(params.lockFile.bucket).join('cdk-asset-bucket');
  const digest = createHash('sha256').update(digested).digest('hex').slice(0, 12);
  definition = {
    document,
    parentParameter,
    component,
    recipe,
    digest,
    name: `dasklab-${params.app}-${architecture}-${digest}`,
    parameterName: `/dasklab/${params.app}/image/${architecture}-${digest}`,
  };
  definitions.set(key, definition);
  return definition;
}

/** Rendering is costly (LZMA, where deflate does not fit); every stack of a lab asks for the same definitions. */
const definitions = new Map<string, ImageDefinition>();
