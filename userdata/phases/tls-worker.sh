# shellcheck shell=bash
# A phase of userdata/bootstrap.sh, embedded by the renderer only into the
# user data of machines that run it.

# A worker fetches the certificates the scheduler shared, and fetches them
# again when a replaced scheduler has made new ones.

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

# `bootstrap.sh tls-refresh`, from the drop-in below: logged, and never fails the start.
command_tls_refresh() {
  start_logging
  tls_refresh || true
  flush_log
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

tls_obtain() {
  tls_fetch
}

tls_share() {
  tls_install_refresh
}
