/**
 * The tag contract's keys: the CLI finds everything an app deployed through
 * them, so they must not change. Free of imports, so that the functions that
 * run in Lambda can share them without loading the CDK.
 */
export const TAG_APP = 'dasklab:app';
export const TAG_ROLE = 'dasklab:role';
export const TAG_STUDENT = 'dasklab:student';
/** Set by each machine on itself: `bootstrapping`, `ready` or `failed:<phase>`. */
export const TAG_BOOTSTRAP = 'dasklab:bootstrap';
/** Set by a machine with JupyterLab on itself, when it changes: `answers` or `not answering`. */
export const TAG_JUPYTER = 'dasklab:jupyter';
/** `spot` or `on-demand`: what capacity a spot worker was launched on. */
export const TAG_MARKET = 'dasklab:market';
