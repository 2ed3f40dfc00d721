/**
 * Refuses package URLs (`python.indexUrl`, `name @ URL` requirements) that
 * carry a credential. Everything in the config reaches the machines' user data,
 * which anyone who may describe the instance can read, and the bootstrap log.
 *
 * What counts as a credential: user info ("user:token@host"), any query string
 * (where tokens and signatures such as S3's X-Amz-Signature travel), and path
 * segments shaped like a token (the prefixes of well-known token formats, or a
 * long random-looking mix of upper case, lower case and digits). The shape
 * test is a guard, not a proof: no check can know every token format.
 */

/** Prefixes of well-known token formats: PyPI, GitHub, GitLab, AWS access keys, JWTs (CodeArtifact), npm, Slack. */
const TOKEN_PREFIXES = ['pypi-', 'ghp_', 'gho_', 'ghs_', 'ghu_', 'github_pat_', 'glpat-', 'AKIA', 'ASIA', 'eyJ', 'npm_', 'xox'];

/** Hash fragments pip checks a download against ("#sha256=<hex>"); no other fragment is accepted in a requirement URL. */
const HASH_FRAGMENT = /^#(md5|sha1|sha224|sha256|sha384|sha512)=[0-9a-f]+$/i;

/** Shown where a credential was found: what to do instead. */
const INSTEAD = 'the URL is visible in the instance user data and the bootstrap log; for a private index use python.codeArtifact';

/**
 * Why `url` carries (or may carry) a credential, or null. Phrased to follow
 * "expected ... URL ...; ".
 *
 * @param options.hashFragment accept a "#sha256=<hex>" fragment (requirement URLs)
 */
export function urlCredentialProblem(url: URL, options: { hashFragment: boolean }): string | null {
  if (url.username !== '' || url.password !== '' || /^[a-z+.-]+:\/\/[^/]*@/i.test(url.href)) {
    return `without credentials in it (user info before "@": ${INSTEAD})`;
  }
  // `URL.search` is "" for both "x" and "x?"; the href tells them apart.
  if (url.search !== '' || url.href.replace(/#.*$/, '').includes('?')) {
    return `without a query string ("?..." is where tokens and signatures travel: ${INSTEAD})`;
  }
  const fragment = url.hash !== '' || url.href.includes('#') ? url.href.slice(url.href.indexOf('#')) : '';
  if (fragment !== '') {
    if (!options.hashFragment) {
      return 'without a fragment ("#...")';
    }
    if (!HASH_FRAGMENT.test(fragment)) {
      return 'with no fragment but a "#sha256=<hex>" hash';
    }
  }
  const token = url.pathname.split('/').map(decodeSegment).find(looksLikeToken);
  if (token !== undefined) {
    return `without a token in its path (the segment "${token.slice(0, 4)}..." looks like a token: ${INSTEAD})`;
  }
  return null;
}

/** True for a path segment shaped like a secret. */
function looksLikeToken(segment: string): boolean {
  if (TOKEN_PREFIXES.some((prefix) => segment.startsWith(prefix) && segment.length >= prefix.length + 16)) {
    return true;
  }
  // Random tokens mix cases and digits; names, versions, hex hashes and GUIDs do not.
  return segment.length >= 20 && /^[A-Za-z0-9]+$/.test(segment) && /[a-z]/.test(segment) && /[A-Z]/.test(segment) && /[0-9]/.test(segment);
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
