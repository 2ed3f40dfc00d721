# shellcheck shell=bash
# A phase of userdata/bootstrap.sh, embedded by the renderer only into the
# user data of machines in an existing VPC (network in the config). It runs
# first: it routes everything that follows through network.proxy when one is
# set, and checks that the package index and the apt archive can be reached,
# so that a network without a way out fails the deploy within a minute, with
# a reason that names the network, rather than with apt's or pip's errors
# after their own timeouts.

APT_PROXY_CONF=${APT_PROXY_CONF:-/etc/apt/apt.conf.d/90dasklab-proxy}
PROFILE_PROXY=${PROFILE_PROXY:-/etc/profile.d/dasklab-proxy.sh}
APT_SOURCES_DIR=${APT_SOURCES_DIR:-/etc/apt}
# Ubuntu's SSM agent is a snap; its unit reads a proxy from its environment
# (https://docs.aws.amazon.com/systems-manager/latest/userguide/configure-proxy-ssm-agent.html).
SSM_AGENT_UNIT=snap.amazon-ssm-agent.amazon-ssm-agent.service
SSM_AGENT_PROXY_DIR=${SSM_AGENT_PROXY_DIR:-/etc/systemd/system/$SSM_AGENT_UNIT.d}
# Read (EnvironmentFile=-) by the services that reach out after the bootstrap:
# JupyterLab (pip in a notebook), a worker's Dask service (its TLS refresh).
PROXY_ENV=${PROXY_ENV:-/etc/dasklab/proxy.env}
NETWORK_ERROR=

# use_proxy: exports the proxy for curl (the readiness signal), pip and boto3
# (the self-tag, CodeArtifact), which read these variables, and tells apt,
# login shells, later services and the SSM agent; removes what an earlier
# proxy left.
use_proxy() {
  local proxy=$DASKLAB_PROXY_URL
  if [[ -z "$proxy" ]]; then
    rm -f "$APT_PROXY_CONF" "$PROFILE_PROXY" "$PROXY_ENV"
    if [[ -e "$SSM_AGENT_PROXY_DIR/dasklab-proxy.conf" ]]; then
      rm -f "$SSM_AGENT_PROXY_DIR/dasklab-proxy.conf"
      restart_ssm_agent
    fi
    return 0
  fi
  export http_proxy=$proxy https_proxy=$proxy no_proxy=$DASKLAB_NO_PROXY
  export HTTP_PROXY=$proxy HTTPS_PROXY=$proxy NO_PROXY=$DASKLAB_NO_PROXY
  write_file "$APT_PROXY_CONF" <<APT || true
Acquire::http::Proxy "$proxy";
Acquire::https::Proxy "$proxy";
APT
  write_file "$PROFILE_PROXY" <<PROFILE || true
# dasklab: the way out of this network is network.proxy.
export http_proxy='$proxy' https_proxy='$proxy' no_proxy='$DASKLAB_NO_PROXY'
export HTTP_PROXY='$proxy' HTTPS_PROXY='$proxy' NO_PROXY='$DASKLAB_NO_PROXY'
PROFILE
  mkdir -p "${PROXY_ENV%/*}" "$SSM_AGENT_PROXY_DIR"
  # The variables exported above, as EnvironmentFile= reads them. Services
  # already running (a deploy that changed the proxy) take it up at their next start.
  env | grep -i _proxy= | write_file "$PROXY_ENV" || true
  if write_file "$SSM_AGENT_PROXY_DIR/dasklab-proxy.conf" <<UNIT; then
[Service]
Environment="http_proxy=$proxy"
Environment="https_proxy=$proxy"
Environment="no_proxy=$DASKLAB_NO_PROXY"
UNIT
    restart_ssm_agent
  fi
}

restart_ssm_agent() {
  systemctl daemon-reload
  systemctl try-restart "$SSM_AGENT_UNIT" || log "could not restart the SSM agent"
}

# head_request URL [direct]: whether URL answers. Directly, any HTTP status
# will do (the network is there; the phase that uses it reports what it
# says); through the proxy, not the statuses with which a proxy refuses or
# fails to reach a site. Keeps the reason in NETWORK_ERROR.
head_request() {
  local url=$1 status
  local options=(-sS -o /dev/null --head --connect-timeout 10 --max-time 20 -w '%{http_code}')
  if [[ "${2:-}" == direct ]]; then options+=(--noproxy '*'); fi
  if ! status=$(curl "${options[@]}" "$url" 2>&1); then
    # curl's error line, then the status it writes anyway (000).
    NETWORK_ERROR=$(grep -m 1 '^curl:' <<<"$status" || echo "$status")
    return 1
  fi
  if [[ "${2:-}" != direct && -n "$DASKLAB_PROXY_URL" && "$status" =~ ^(403|407|502|503|504)$ ]]; then
    NETWORK_ERROR="the proxy answered HTTP $status"
    return 1
  fi
}

# The first http(s) URI of the apt sources (deb822 .sources files and one-line .list files).
apt_archive_url() {
  local files=("$APT_SOURCES_DIR"/sources.list "$APT_SOURCES_DIR"/sources.list.d/*.list "$APT_SOURCES_DIR"/sources.list.d/*.sources)
  grep -hoE 'https?://[^ ]+' "${files[@]}" 2>/dev/null | head -n 1 || true
}

# check_reach WHAT URL: fails, naming the network, when URL does not answer.
check_reach() {
  local what=$1 url=$2 how=
  if retry 3 5 head_request "$url"; then
    log "network: reached $what $url"
    return 0
  fi
  if [[ -n "$DASKLAB_PROXY_URL" ]]; then
    log "network: cannot reach $what $url through the proxy $DASKLAB_PROXY_URL (network.proxy): ${NETWORK_ERROR}. The proxy must allow it."
  else
    how="a machine without a public IP reaches it through a NAT gateway in its subnet's route table, or through an HTTP(S) proxy named in network.proxy"
    log "network: cannot reach $what $url: ${NETWORK_ERROR}. This subnet has no way to it: $how"
  fi
  return 1
}

phase_network() {
  local archive
  use_proxy
  if [[ -n "$DASKLAB_PROXY_URL" ]] && ! retry 3 5 head_request "$DASKLAB_PROXY_URL" direct; then
    log "network: the proxy $DASKLAB_PROXY_URL (network.proxy) is unreachable from this subnet: ${NETWORK_ERROR}. Check its address, the route to it and that it accepts connections from the machines' subnet"
    return 1
  fi
  # CodeArtifact is reached through AWS's API (a VPC endpoint or the way out); its phase reports it.
  if [[ -z "${DASKLAB_CODEARTIFACT_DOMAIN:-}" ]]; then
    check_reach "the package index" "${DASKLAB_PIP_INDEX_URL:-https://pypi.org/simple/}"
  fi
  archive=$(apt_archive_url)
  if [[ -n "$archive" ]]; then check_reach "the apt archive" "$archive"; fi
}
