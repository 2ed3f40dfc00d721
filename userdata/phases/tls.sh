# shellcheck shell=bash
# A phase of userdata/bootstrap.sh, embedded by the renderer only into the
# user data of machines that run it.
#
# Mutual TLS between the cluster's members and its clients. The scheduler makes
# a private certificate authority and the cluster's certificates on the machine
# and shares them as SecureString parameters under $DASKLAB_TLS_PARAMETER_PATH;
# workers fetch them from there. Dask finds them through /etc/dask, its
# system-wide config directory, for the services and the login user alike.
# What only one role does (tls_obtain, tls_share) is in tls-scheduler.sh and
# tls-worker.sh; a machine's user data holds its own role's part only.

readonly TLS_DIR=/etc/dask/tls
readonly TLS_CONFIG=/etc/dask/dasklab-tls.yaml
# What the scheduler publishes as <path>/<name>; every member keeps <name>.pem.
readonly -a TLS_SHARED=(ca-cert worker-cert worker-key client-cert client-key)

# The files this machine keeps in $TLS_DIR, without .pem.
tls_files() {
  printf '%s\n' "${TLS_SHARED[@]}"
  if [[ "$DASKLAB_ROLE" == scheduler ]]; then printf '%s\n' scheduler-cert scheduler-key; fi
}

tls_in_place() {
  local name
  for name in $(tls_files); do
    [[ -s "$TLS_DIR/$name.pem" ]] || return 1
  done
}

# A root-only directory next to $TLS_DIR, so that it can be renamed into place.
tls_staging() {
  mktemp -d /etc/dask/.tls.XXXXXX
}

# tls_place DIR: certificates readable by all, keys by root and the Dask user
# only; then DIR becomes $TLS_DIR in one rename, so a reboot never leaves half.
tls_place() {
  local dir=$1
  chmod 0644 "$dir"/*-cert.pem
  chmod 0640 "$dir"/*-key.pem
  chown root:"$DASKLAB_USER" "$dir" "$dir"/*-key.pem
  chmod 0750 "$dir"
  rm -rf "$TLS_DIR"
  mv "$dir" "$TLS_DIR"
}

# tls_ssm put|get DIR: publishes DIR's files as the cluster's parameters, or
# fetches them into DIR; get fails while any is missing. The reason of a
# failure is the last line of $STATE_DIR/tls.err.
tls_ssm() {
  local region
  region=$(imds_get meta-data/placement/region) || return
  AWS_ENDPOINT_URL="$DASKLAB_AWS_ENDPOINT_URL" python3 - "$1" "$2" "$DASKLAB_TLS_PARAMETER_PATH" "$region" \
    "${TLS_SHARED[@]}" 2>"$STATE_DIR/tls.err" <<'PY'
import os
import sys

import boto3
from botocore.config import Config

mode, directory, path, region, *names = sys.argv[1:]
config = Config(connect_timeout=5, read_timeout=15, retries={"max_attempts": 4, "mode": "standard"})
ssm = boto3.client("ssm", region_name=region, config=config)
if mode == "put":
    for name in names:
        with open(os.path.join(directory, name + ".pem")) as pem:
            ssm.put_parameter(Name=f"{path}/{name}", Value=pem.read(), Type="SecureString", Overwrite=True)
    sys.exit()
found = ssm.get_parameters(Names=[f"{path}/{name}" for name in names], WithDecryption=True)
if found["InvalidParameters"]:
    sys.exit("not published yet: " + " ".join(sorted(found["InvalidParameters"])))
for parameter in found["Parameters"]:
    with open(os.path.join(directory, parameter["Name"].rsplit("/", 1)[1] + ".pem"), "w") as pem:
        pem.write(parameter["Value"])
PY
}

tls_write_config() {
  local role
  {
    printf '%s\n' "# dasklab: mutual TLS between the cluster's members and clients." \
      distributed: '  comm:' '    require-encryption: true' '    tls:' "      ca-file: $TLS_DIR/ca-cert.pem"
    for role in scheduler worker client; do
      if [[ -s "$TLS_DIR/$role-cert.pem" ]]; then
        printf '%s\n' "      $role:" "        cert: $TLS_DIR/$role-cert.pem" "        key: $TLS_DIR/$role-key.pem"
      fi
    done
  } | write_file "$TLS_CONFIG" || true
}

phase_tls() {
  local renewed=
  install -d -m 0755 /etc/dask
  # Left by a reboot in the middle of making or fetching; never in use.
  rm -rf /etc/dask/.tls.*
  if tls_in_place; then
    log "certificates in place in $TLS_DIR"
  else
    tls_obtain
    renewed=1
  fi
  # Every run: a reboot may have come between making and publishing.
  tls_share
  tls_write_config
  # A Dask service already running holds the old certificates in memory.
  if [[ -n "$renewed" ]] && systemctl is-active --quiet "$DASKLAB_DASK_UNIT.service"; then
    systemctl restart "$DASKLAB_DASK_UNIT.service"
  fi
  log "Dask uses mutual TLS: $TLS_CONFIG"
}
