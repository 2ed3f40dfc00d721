# shellcheck shell=bash
# A phase of userdata/bootstrap.sh, embedded by the renderer only into the
# user data of machines that run it.
#
# Mutual TLS between the cluster's members and its clients. The scheduler makes
# a private certificate authority and the cluster's certificates on the machine
# and shares them as SecureString parameters under $DASKLAB_TLS_PARAMETER_PATH;
# workers fetch them from there. Dask finds them through /etc/dask, its
# system-wide config directory, for the services and the login user alike.

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

tls_openssl_config() {
  cat <<'CNF'
[req]
distinguished_name = dn
[dn]
[ca]
basicConstraints = critical, CA:true, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[member]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth, clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[client]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
CNF
}

new_ec_key() {
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 "$@"
}

# tls_mint DIR: a new CA (EC P-256) and the scheduler's, workers' and clients'
# certificates, in DIR. The CA key exists only in this function's memory and is
# discarded: every certificate the cluster needs is made here at once, so no one
# (not even whoever takes the scheduler over later) can mint another identity
# the members trust. Dask verifies the chain, not host names, so the
# certificates name roles, not addresses. Ten years: the cluster's lifetime.
tls_mint() {
  local dir=$1 ca_key role
  tls_openssl_config >"$dir/openssl.cnf"
  ca_key=$(new_ec_key)
  openssl req -config "$dir/openssl.cnf" -x509 -new -key <(echo "$ca_key") -sha256 -days 3650 \
    -subj "/CN=dasklab $DASKLAB_APP cluster CA" -extensions ca -out "$dir/ca-cert.pem"
  for role in scheduler worker client; do
    new_ec_key -out "$dir/$role-key.pem"
    openssl req -config "$dir/openssl.cnf" -new -key "$dir/$role-key.pem" -subj "/CN=dask-$role $DASKLAB_APP" |
      openssl x509 -req -CA "$dir/ca-cert.pem" -CAkey <(echo "$ca_key") -set_serial "0x$(openssl rand -hex 16)" \
        -sha256 -days 3650 -extfile "$dir/openssl.cnf" -extensions "$([[ $role == client ]] && echo client || echo member)" \
        -out "$dir/$role-cert.pem"
  done
  rm "$dir/openssl.cnf"
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

tls_publish() {
  if ! tls_ssm put "$TLS_DIR"; then
    log "could not publish the certificates: $(tail -n 1 "$STATE_DIR/tls.err")"
    return 1
  fi
  log "published the CA, worker and client certificates under $DASKLAB_TLS_PARAMETER_PATH"
}

# tls_matches_scheduler DIR: whether the scheduler answers with a certificate of
# DIR's CA. Parameters left by an earlier scheduler of the same name would
# otherwise lock this worker out for good. Exit status 3: it answers with
# another CA's certificate; 1: it does not answer.
tls_matches_scheduler() {
  python3 - "$1" "$DASKLAB_SCHEDULER_ADDRESS" 2>"$STATE_DIR/tls.err" <<'PY'
import socket
import ssl
import sys

directory, address = sys.argv[1:]
host, port = address.split("://")[-1].rsplit(":", 1)
context = ssl.create_default_context(cafile=f"{directory}/ca-cert.pem")
context.check_hostname = False
context.load_cert_chain(f"{directory}/worker-cert.pem", f"{directory}/worker-key.pem")
try:
    with socket.create_connection((host, int(port)), timeout=5) as raw, context.wrap_socket(raw):
        pass
except ssl.SSLCertVerificationError as error:
    print(f"the scheduler's certificate is not from the CA in {directory}: {error.verify_message}", file=sys.stderr)
    sys.exit(3)
except OSError as error:
    sys.exit(f"the scheduler at {address} does not answer yet: {error}")
PY
}

# tls_take_published: fetches the published certificates and keeps them in
# $TLS_DIR if the scheduler presents one of their CA; else fails, keeping none.
tls_take_published() {
  local staging
  staging=$(tls_staging)
  if tls_ssm get "$staging" && tls_matches_scheduler "$staging"; then
    tls_place "$staging"
  else
    rm -rf "$staging"
    return 1
  fi
}

# On a worker: waits until the scheduler has published the certificates and
# runs with them, then keeps them. Gives up in time to report why.
tls_fetch() {
  local reason last=
  log "waiting for the certificates under $DASKLAB_TLS_PARAMETER_PATH and a scheduler that holds them"
  until tls_take_published; do
    reason=$(tail -n 1 "$STATE_DIR/tls.err")
    if [[ "$reason" != "$last" ]]; then log "$reason"; fi
    last=$reason
    if (($(seconds_until_deadline) <= 0)); then
      log "giving up before the deadline: no certificates from the scheduler under $DASKLAB_TLS_PARAMETER_PATH ($reason)"
      return 1
    fi
    sleep 5
  done
  log "fetched the certificates; the scheduler presents one of their CA"
}

# Before each start of a worker's Dask service (as root, from a drop-in): when
# the scheduler answers with another CA's certificate, it was replaced and made
# a new CA, so the worker fetches the new certificates. It never blocks the
# start: if the scheduler is down or the fetch fails, the worker fails to join
# and systemd starts it (and this) again.
tls_refresh() {
  local status=0
  tls_matches_scheduler "$TLS_DIR" || status=$?
  if ((status != 3)); then return 0; fi
  log "$(tail -n 1 "$STATE_DIR/tls.err"); fetching the new certificates"
  if tls_take_published; then
    log "certificates refreshed from $DASKLAB_TLS_PARAMETER_PATH"
  else
    log "could not refresh the certificates: $(tail -n 1 "$STATE_DIR/tls.err")"
  fi
}

# On a worker: runs tls_refresh before every start of the Dask service.
tls_install_refresh() {
  local dropin="$UNIT_DIR/$DASKLAB_DASK_UNIT.service.d"
  install -d -m 0755 "$dropin"
  if printf '%s\n' '[Service]' '# dasklab: a replaced scheduler has a new CA; fetch its certificates first.' \
    "ExecStartPre=+$INSTALL_PATH tls-refresh" | write_file "$dropin/dasklab-tls-refresh.conf"; then
    systemctl daemon-reload
  fi
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
  local staging renewed=
  install -d -m 0755 /etc/dask
  # Left by a reboot in the middle of making or fetching; never in use.
  rm -rf /etc/dask/.tls.*
  if tls_in_place; then
    log "certificates in place in $TLS_DIR"
  elif [[ "$DASKLAB_ROLE" == scheduler ]]; then
    staging=$(tls_staging)
    tls_mint "$staging"
    tls_place "$staging"
    renewed=1
    log "made a new cluster CA and certificates in $TLS_DIR"
  else
    tls_fetch
    renewed=1
  fi
  # Every run: a reboot may have come between making and publishing.
  if [[ "$DASKLAB_ROLE" == scheduler ]]; then retry 5 5 tls_publish; else tls_install_refresh; fi
  tls_write_config
  # A Dask service already running holds the old certificates in memory.
  if [[ -n "$renewed" ]] && systemctl is-active --quiet "$DASKLAB_DASK_UNIT.service"; then
    systemctl restart "$DASKLAB_DASK_UNIT.service"
  fi
  log "Dask uses mutual TLS: $TLS_CONFIG"
}
