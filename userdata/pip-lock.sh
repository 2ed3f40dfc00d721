# shellcheck shell=bash
# Part of userdata/bootstrap.sh's pip phase, embedded by the renderer only into
# the user data of machines of an app with python.lockFile, after the phase's
# own functions, some of which it replaces.
#
# pip installs exactly the lock file in hash-checking mode, which also refuses
# any dependency the file does not pin with a hash
# (https://pip.pypa.io/en/stable/topics/secure-installs/); the lock pins every
# package on every machine, so the version sets pin nothing more.

# python.lockFile: the app's lock file, an object in the CDK's asset bucket
# that the machine's role may read; it must be the very file synth checked.
readonly PIP_LOCK="$STATE_DIR/pip-lock.txt"
fetch_pip_lock() {
  local region digest
  region=$(imds_get meta-data/placement/region) || return
  AWS_ENDPOINT_URL="$DASKLAB_AWS_ENDPOINT_URL" python3 - "$region" "$DASKLAB_PIP_LOCK_BUCKET" "$DASKLAB_PIP_LOCK_KEY" "$PIP_LOCK.new" <<'PY' || return
import sys

import boto3

region, bucket, key, file = sys.argv[1:]
try:
    boto3.client("s3", region_name=region).download_file(bucket, key, file)
except Exception as error:
    # Without s3:ListBucket, S3 answers 403 for a missing object too.
    hint = " (the role's grant, the asset not published: deploy the stack that owns it, or a KMS key policy)" if "403" in str(error) else ""
    sys.exit(f"the lock file s3://{bucket}/{key}: {error}{hint}")
PY
  digest=$(sha256sum <"$PIP_LOCK.new" | cut -d' ' -f1)
  if [[ "$digest" != "$DASKLAB_PIP_LOCK_SHA256" ]]; then
    rm -f "$PIP_LOCK.new"
    log "the lock file s3://$DASKLAB_PIP_LOCK_BUCKET/$DASKLAB_PIP_LOCK_KEY has sha256 $digest, not that of the file synth checked ($DASKLAB_PIP_LOCK_SHA256)"
    return 1
  fi
  chmod 0644 "$PIP_LOCK.new"
  mv "$PIP_LOCK.new" "$PIP_LOCK"
  log "the lock file pins $(grep -c -E '^[A-Za-z0-9]' "$PIP_LOCK") packages; pip installs it with --require-hashes"
}

# shellcheck disable=SC2034 # pip_install's (bootstrap.sh)
PIP_PACKAGES=(--require-hashes --requirement "$PIP_LOCK")

# In place of the version sets' pins: the lock, and no constraint beside it.
version_pins() {
  rm -f "$VERSION_PINS"
  fetch_pip_lock
}

# The lock pins every package on every machine: no set pins anything more.
pip_align() { :; }
