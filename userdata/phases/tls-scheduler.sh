# shellcheck shell=bash
# A phase of userdata/bootstrap.sh, embedded by the renderer only into the
# user data of machines that run it.

# The scheduler makes the cluster's CA and certificates and shares them.

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

tls_publish() {
  if ! tls_ssm put "$TLS_DIR"; then
    log "could not publish the certificates: $(tail -n 1 "$STATE_DIR/tls.err")"
    return 1
  fi
  log "published the CA, worker and client certificates under $DASKLAB_TLS_PARAMETER_PATH"
}

tls_obtain() {
  local staging
  staging=$(tls_staging)
  tls_mint "$staging"
  tls_place "$staging"
  log "made a new cluster CA and certificates in $TLS_DIR"
}

tls_share() {
  retry 5 5 tls_publish
}
