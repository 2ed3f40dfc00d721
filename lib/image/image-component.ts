/**
 * The Image Builder component that bakes an app's image: one build step that
 * runs the machines' own bootstrap with its `bake` command (userdata/bootstrap.sh,
 * bake_image), so that the image and a cold machine install by one path.
 *
 * The document is YAML, the component document format:
 * https://docs.aws.amazon.com/imagebuilder/latest/userguide/toe-use-documents.html
 * ExecuteBash runs its commands as one bash script, as root, and a non-zero exit fails the build:
 * https://docs.aws.amazon.com/imagebuilder/latest/userguide/toe-action-modules.html#action-modules-executebash
 */

/** Where the build writes the bootstrap before it runs it, and removes it after. */
export const IMAGE_BUILD_DIR = '/var/lib/dasklab-image-build';

/** The heredoc delimiter of the bootstrap in the build step; the bootstrap never holds it. */
const DELIMITER = 'DASKLAB_IMAGE_BOOTSTRAP';

/**
 * An inline component document is at most 16,000 characters (CreateComponent's `data`):
 * https://docs.aws.amazon.com/imagebuilder/latest/APIReference/API_CreateComponent.html
 */
export const COMPONENT_DATA_LIMIT = 16000;

/** The build step's bash script: writes the rendered bootstrap and runs its bake. */
export function imageBuildScript(bootstrap: string): string {
  if (bootstrap.split('\n').includes(DELIMITER)) throw new Error(`the bootstrap holds the line ${DELIMITER}`);
  return [
    'set -euo pipefail',
    `install -d -m 0700 ${IMAGE_BUILD_DIR}`,
    `cat >${IMAGE_BUILD_DIR}/bootstrap.sh <<'${DELIMITER}'`,
    bootstrap.replace(/\n$/, ''),
    DELIMITER,
    `bash ${IMAGE_BUILD_DIR}/bootstrap.sh bake`,
    `rm -rf ${IMAGE_BUILD_DIR}`,
  ].join('\n');
}

/**
 * The component document: a build phase of one ExecuteBash step whose only
 * command is `script`, as a YAML literal block (every character of it is
 * content; only the indentation is YAML's).
 */
export function imageComponentDocument(script: string, description: string): string {
  const indent = ' '.repeat(14);
  const block = script
    .split('\n')
    .map((line) => (line === '' ? '' : indent + line))
    .join('\n');
  const document = [
    'name: dasklab-image',
    `description: ${JSON.stringify(description)}`,
    'schemaVersion: 1.0',
    'phases:',
    '  - name: build',
    '    steps:',
    '      - name: InstallPythonAndDask',
    '        action: ExecuteBash',
    '        inputs:',
    '          commands:',
    '            - |',
    block,
    '',
  ].join('\n');
  if (document.length > COMPONENT_DATA_LIMIT) {
    throw new Error(
      `the image's build component is ${document.length} characters; Image Builder accepts at most ${COMPONENT_DATA_LIMIT} inline. ` +
        'Shorten python.packages.',
    );
  }
  return document;
}
