/**
 * Validation of `access.publicKey`: one OpenSSH public key line, as found in
 * `~/.ssh/id_ed25519.pub`: `<type> <base64 key blob> [comment]`.
 *
 * Only `ssh-ed25519` and `ssh-rsa` are accepted because those are the key
 * types EC2 can import as a key pair. The base64 blob is decoded and its
 * embedded type must match the prefix, which catches truncated or mangled
 * copy-pastes at synth time rather than as a failed login after deploy.
 */

/** Key types EC2 imports. */
export const SUPPORTED_KEY_TYPES = ['ssh-ed25519', 'ssh-rsa'] as const;

/** Smallest RSA modulus accepted, in bits (what ssh-keygen and NIST consider safe). */
export const MIN_RSA_BITS = 2048;

const EXPECTED = 'expected one OpenSSH public key line, "ssh-ed25519 AAAA... [comment]" or "ssh-rsa AAAA... [comment]" (the content of a .pub file)';

/**
 * True if `s` looks like a private key (PEM, OpenSSH or PuTTY format). The
 * config validator uses this both for a clear message and to keep the value
 * out of error output.
 */
export function looksLikePrivateKey(s: string): boolean {
  return (
    /PRIVATE KEY/i.test(s) ||
    /-----BEGIN /.test(s) ||
    s.includes('b3BlbnNzaC1rZXktdjE') || // base64 of "openssh-key-v1", the private key container
    /PuTTY-User-Key-File/i.test(s)
  );
}

/**
 * Why `s` is not an OpenSSH public key dasklab accepts, or `null` if it is one.
 * Phrased to follow "<field>: <value> is not accepted; ".
 */
export function publicKeyProblem(s: string): string | null {
  if (looksLikePrivateKey(s)) {
    return 'this looks like a PRIVATE key. Never put a private key in config; ' +
      'give the public key instead, the one line in the matching .pub file (e.g. ~/.ssh/id_ed25519.pub)';
  }
  if (/[\r\n]/.test(s)) {
    return `${EXPECTED}; it must be a single line`;
  }
  const match = /^(\S+) (\S+)(?: (.*))?$/.exec(s);
  if (match === null) {
    return EXPECTED;
  }
  const [, type, blob, comment] = match;
  if (!(SUPPORTED_KEY_TYPES as readonly string[]).includes(type)) {
    return `${EXPECTED}; "${type}" keys cannot be imported into EC2, only ssh-ed25519 and ssh-rsa`;
  }
  const data = decodeBase64Strict(blob);
  if (data === null) {
    return `${EXPECTED}; the key data is not valid base64 (was the line cut or wrapped?)`;
  }
  const problem = checkBlob(type, data);
  if (problem !== null) {
    return `${EXPECTED}; ${problem}`;
  }
  if (comment !== undefined && /[\u0000-\u001f\u007f`$\\'"]/.test(comment)) {
    // The key is written into files on the machine by a shell script; keep the
    // comment to plain text.
    return `${EXPECTED}; the comment may not contain quotes, backticks, "$", backslashes or control characters`;
  }
  return null;
}

/** Decodes standard base64, refusing anything Buffer.from would silently skip. */
function decodeBase64Strict(text: string): Buffer | null {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text) || text.length % 4 !== 0) {
    return null;
  }
  const data = Buffer.from(text, 'base64');
  return data.toString('base64') === text ? data : null;
}

/**
 * Checks the SSH wire-format key blob (RFC 4253 section 6.6, RFC 8709): a
 * sequence of length-prefixed strings starting with the key type.
 */
function checkBlob(type: string, data: Buffer): string | null {
  const reader = new WireReader(data);
  const embeddedType = reader.string()?.toString('latin1');
  if (embeddedType !== type) {
    return embeddedType === undefined
      ? 'the key data is too short'
      : `the key data is a ${JSON.stringify(embeddedType)} key but the line starts with "${type}"`;
  }
  if (type === 'ssh-ed25519') {
    const key = reader.string();
    if (key === undefined || key.length !== 32 || !reader.atEnd()) {
      return 'the ssh-ed25519 key data is malformed (expected a 32-byte key)';
    }
    return null;
  }
  // ssh-rsa: exponent e, then modulus n, both as mpint.
  const e = reader.string();
  const n = reader.string();
  if (e === undefined || n === undefined || e.length === 0 || n.length === 0 || !reader.atEnd()) {
    return 'the ssh-rsa key data is malformed';
  }
  const bits = bitLength(n);
  if (bits < MIN_RSA_BITS) {
    return `an RSA key needs at least ${MIN_RSA_BITS} bits; this one has ${bits}. Use ssh-ed25519, or ssh-keygen -t rsa -b 4096`;
  }
  return null;
}

/** Number of significant bits of a big-endian unsigned integer (mpint may have a leading zero byte). */
function bitLength(bytes: Buffer): number {
  let i = 0;
  while (i < bytes.length && bytes[i] === 0) i++;
  if (i === bytes.length) return 0;
  return (bytes.length - i - 1) * 8 + (32 - Math.clz32(bytes[i]));
}

/** Reads length-prefixed strings from an SSH wire-format buffer. */
class WireReader {
  private offset = 0;

  constructor(private readonly data: Buffer) {}

  /** The next string, or undefined if the buffer ends too early. */
  string(): Buffer | undefined {
    if (this.offset + 4 > this.data.length) return undefined;
    const length = this.data.readUInt32BE(this.offset);
    const start = this.offset + 4;
    if (start + length > this.data.length) return undefined;
    this.offset = start + length;
    return this.data.subarray(start, start + length);
  }

  /** True when every byte has been read. */
  atEnd(): boolean {
    return this.offset === this.data.length;
  }
}
