#!/bin/bash
# dasklab bootstrap: makes an Ubuntu machine ready for Python and Dask.
#
# Run by cloud-init as user-data, it installs itself as dasklab-bootstrap.service
# and starts it; the service runs on every boot, so a bootstrap cut short by a
# reboot finishes on the next one. Each phase skips work that is already done:
# running it again on a ready machine changes nothing and succeeds. On every
# boot it first reads the machine's current user data from EC2: when a deploy
# changed it, that bootstrap, with its parameters, runs instead (see
# adopt_current_user_data).
#
# Result: /var/lib/dasklab/ready.json. Log: /var/log/dasklab/bootstrap.log.
# The outcome is reported to CloudFormation through a wait-condition handle.
set -Eeuo pipefail

# The machine's parameters (DASKLAB_*) come first in the user data; see
# lib/bootstrap-user-data.ts, which renders it.

readonly LOG_DIR=/var/log/dasklab
readonly LOG_FILE="$LOG_DIR/bootstrap.log"
readonly STATE_DIR=/var/lib/dasklab
readonly READY_FILE="$STATE_DIR/ready.json"
readonly PACKAGES_STAMP="$STATE_DIR/pip-packages.stamp"
readonly INSTALL_DIR=/usr/local/lib/dasklab
readonly INSTALL_PATH="$INSTALL_DIR/bootstrap.sh"
readonly UNIT_DIR=/etc/systemd/system
readonly PROFILE_SCRIPT=/etc/profile.d/dasklab-venv.sh
readonly IMDS=http://169.254.169.254
readonly PYTHON="python${DASKLAB_PYTHON_VERSION}"

export DEBIAN_FRONTEND=noninteractive
# Ubuntu 24.04's needrestart, run by apt after every install, restarts affected
# services even when apt runs non-interactively
# (https://discourse.ubuntu.com/t/needrestart-changes-in-ubuntu-24-04-service-restarts/44671);
# (l)ist only: the bootstrap restarts nothing behind the machine's back.
# needrestart reads NEEDRESTART_MODE (l|i|a) before its config
# (https://github.com/liske/needrestart/blob/master/needrestart).
export NEEDRESTART_MODE=l
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1

CURRENT_PHASE=start
PHASE_TIMES=()
LOG_PID=
VERSIONS_JSON='{}'
STARTED_AT=$(date -u +%FT%TZ)
SECONDS=0

log() {
  printf '%s [%s] %s\n' "$(date -u +%FT%TZ)" "$CURRENT_PHASE" "$*" >&2
}

# retry ATTEMPTS FIRST_DELAY COMMAND...: runs COMMAND until it succeeds, doubling
# the delay between attempts (at most 60 s); returns the last failure.
retry() {
  local attempts=$1 delay=$2 attempt=1 status
  shift 2
  while true; do
    if "$@"; then return 0; else status=$?; fi
    if ((attempt >= attempts)); then
      log "giving up after $attempt attempts (exit $status): $*"
      return "$status"
    fi
    log "attempt $attempt of $attempts failed (exit $status), retrying in ${delay}s: $*"
    sleep "$delay"
    attempt=$((attempt + 1))
    delay=$((delay * 2 > 60 ? 60 : delay * 2))
  done
}

# run_phase NAME FUNCTION: runs one phase and records how long it took.
run_phase() {
  local name=$1 started=$SECONDS
  CURRENT_PHASE=$name
  log "phase started"
  "$2"
  PHASE_TIMES+=("$name=$((SECONDS - started))")
  log "phase done in $((SECONDS - started))s"
}

imds_get() {
  local token
  token=$(curl -fsS --max-time 5 -X PUT "$IMDS/latest/api/token" \
    -H 'X-aws-ec2-metadata-token-ttl-seconds: 300')
  curl -fsS --max-time 5 -H "X-aws-ec2-metadata-token: $token" "$IMDS/latest/$1"
}

instance_id() {
  retry 5 2 imds_get meta-data/instance-id || hostname
}

# tag_instance KEY VALUE: sets a tag of this instance, which the CLI reads. The
# instance role may set only dasklab:bootstrap and dasklab:jupyter, only on
# this instance. Fails when it could not.
tag_instance() {
  local region instance
  if ! region=$(imds_get meta-data/placement/region) || ! instance=$(imds_get meta-data/instance-id); then
    log "cannot read instance metadata; not tagging"
    return 1
  fi
  if AWS_ENDPOINT_URL="$DASKLAB_AWS_ENDPOINT_URL" python3 - "$region" "$instance" "$1" "$2" 2>"$STATE_DIR/tag.err" <<'PY'; then
import sys

import boto3
from botocore.config import Config

region, instance, key, value = sys.argv[1:]
config = Config(connect_timeout=5, read_timeout=15, retries={"max_attempts": 4, "mode": "standard"})
boto3.client("ec2", region_name=region, config=config).create_tags(
    Resources=[instance], Tags=[{"Key": key, "Value": value}]
)
PY
    log "tagged $1=$2"
  else
    # The last line of Python's error says why; the traceback would bury the log.
    log "could not tag $1=$2: $(tail -n 1 "$STATE_DIR/tag.err")"
    return 1
  fi
}

# tag_self VALUE: sets the dasklab:bootstrap tag. Best effort: a machine that
# cannot tag itself is still a working machine.
tag_self() {
  tag_instance dasklab:bootstrap "$1" || true
}

# Seconds left before CloudFormation stops waiting, less a margin to report in
# (for the phases that wait for other machines).
seconds_until_deadline() {
  local uptime
  uptime=$(cut -d. -f1 /proc/uptime)
  echo $((DASKLAB_READY_TIMEOUT_SECONDS - uptime - 90))
}

as_user() {
  runuser -u "$DASKLAB_USER" -- "$@"
}

# --- installation as a service ------------------------------------------------

install_service() {
  install -d -m 0755 "$INSTALL_DIR" "$LOG_DIR" "$STATE_DIR"
  install -m 0700 "$0" "$INSTALL_PATH"
  cat >"$UNIT_DIR/dasklab-bootstrap.service" <<'UNIT'
# @@BOOTSTRAP_UNIT@@
UNIT
  systemctl daemon-reload
  systemctl enable dasklab-bootstrap.service
  # Queued, not awaited: the unit is ordered after cloud-final, which runs us.
  systemctl start --no-block dasklab-bootstrap.service
  log "installed dasklab-bootstrap.service; it continues in the background"
}

# --- the machine's current user data -------------------------------------------

# CloudFormation applies a UserData change by stopping and starting the instance
# ("Update requires: Some interruptions",
# https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-ec2-instance.html#cfn-ec2-instance-userdata),
# and cloud-init runs user data only on an instance's first boot
# (https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/user-data.html). IMDS
# serves the user data the instance has now; when it differs from the installed
# bootstrap, it becomes the bootstrap. Its parameters (packages, index, trainer
# key) and its wait-condition handle are the deploy's; every phase applies them.
# Succeeds only when the installed bootstrap was replaced.
adopt_current_user_data() {
  local current="$STATE_DIR/user-data.current" status=1
  if retry 5 2 imds_get user-data >"$current" && ! cmp -s "$current" "$INSTALL_PATH" &&
    grep -qx '# >>> dasklab parameters' "$current" && bash -n "$current"; then
    install -m 0700 "$current" "$INSTALL_PATH"
    log "the machine's user data changed since the bootstrap was installed: running the new one"
    status=0
  fi
  rm -f "$current"
  return "$status"
}

# --- phases -------------------------------------------------------------------

# How long apt and dpkg wait for a lock that another process (unattended-upgrades
# on a fresh Ubuntu machine) holds.
readonly DPKG_LOCK_TIMEOUT_SECONDS=900

apt_get() {
  apt-get -q -y -o DPkg::Lock::Timeout="$DPKG_LOCK_TIMEOUT_SECONDS" -o Acquire::Retries=3 \
    -o Dpkg::Options::=--force-confold "$@"
}

# with_dpkg_lock COMMAND...: runs a dpkg COMMAND once the dpkg frontend lock is
# free, waiting for it as apt-get's DPkg::Lock::Timeout does; dpkg itself fails
# at once on a held lock. dpkg's frontend protocol: take /var/lib/dpkg/lock-frontend
# (an fcntl lock), then run dpkg with DPKG_FRONTEND_LOCKED set so that it does
# not take it again (https://red-bean.com/doc/dpkg/spec/frontend-api.txt, dpkg's
# doc/frontend.txt). The lock stays held through exec.
with_dpkg_lock() {
  python3 - "$DPKG_LOCK_TIMEOUT_SECONDS" "$@" <<'PY'
import fcntl, os, sys, time

lock = os.open("/var/lib/dpkg/lock-frontend", os.O_RDWR | os.O_CREAT, 0o640)
start = time.monotonic()
while True:
    try:
        fcntl.lockf(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        break
    except OSError:
        if time.monotonic() - start > float(sys.argv[1]):
            sys.exit("the dpkg frontend lock stayed held")
        time.sleep(1)
if time.monotonic() - start >= 1:
    print(f"waited {time.monotonic() - start:.0f} s for the dpkg frontend lock: {' '.join(sys.argv[2:])}", file=sys.stderr)
os.set_inheritable(lock, True)
os.execvpe(sys.argv[2], sys.argv[2:], {**os.environ, "DPKG_FRONTEND_LOCKED": "1"})
PY
}

# packages_installed PACKAGE...: every PACKAGE is installed.
packages_installed() {
  local package
  for package in "$@"; do
    dpkg-query -W -f='${db:Status-Status}' "$package" 2>/dev/null | grep -qx installed || return 1
  done
}

# The self-tag and the failure report need boto3, which apt-tools installs.
apt_tools_installed() {
  packages_installed "${DASKLAB_APT_TOOLS[@]}"
}

# apt-get update exits 0 when a repository is down; Error-Mode=any makes that
# an error, so that update and install are retried together.
apt_update_install() {
  apt_get -o APT::Update::Error-Mode=any update &&
    apt_get install --no-install-recommends "$@"
}

# Installs with the package lists at hand (the apt phase has just fetched
# them), and fetches them again only when that fails.
apt_install() {
  apt_get install --no-install-recommends "$@" || apt_update_install "$@"
}

# Python and its venv module: all that the venv and pip phases need.
phase_apt() {
  if packages_installed "${DASKLAB_APT_PACKAGES[@]}"; then
    log "already installed: ${DASKLAB_APT_PACKAGES[*]}"
    return 0
  fi
  # A reboot in the middle of an install leaves dpkg half-configured.
  retry 3 5 with_dpkg_lock dpkg --configure -a
  retry 6 5 apt_update_install "${DASKLAB_APT_PACKAGES[@]}"
}

# pip for the login user's own use and boto3 for the self-tag, installed while
# the venv and pip phases run (see BACKGROUND_PHASES).
phase_apt_tools() {
  apt_tools_installed || {
    retry 3 5 with_dpkg_lock dpkg --configure -a
    retry 6 5 apt_install "${DASKLAB_APT_TOOLS[@]}"
  }
  tag_self bootstrapping
}

venv_healthy() {
  [[ -x "$DASKLAB_VENV/bin/python" ]] &&
    "$DASKLAB_VENV/bin/python" -c 'import sys; sys.exit(sys.version_info[:2] != tuple(map(int, sys.argv[1].split("."))))' \
      "$DASKLAB_PYTHON_VERSION" &&
    "$DASKLAB_VENV/bin/python" -m pip --version >/dev/null
}

# Marks a venv the bootstrap made, before anything is put in it, so that only
# such a venv (or nothing, or an empty directory) is ever replaced: python.venv
# could name a directory that holds someone's files.
readonly VENV_MARKER=.dasklab-venv

venv_replaceable() {
  if [[ -L "$DASKLAB_VENV" ]]; then
    log "refusing to replace $DASKLAB_VENV: it is a symbolic link; python.venv must name a directory of its own"
    return 1
  fi
  if [[ ! -e "$DASKLAB_VENV" ]]; then return 0; fi
  if [[ -d "$DASKLAB_VENV" && -f "$DASKLAB_VENV/$VENV_MARKER" && ! -L "$DASKLAB_VENV/$VENV_MARKER" ]]; then return 0; fi
  if [[ -d "$DASKLAB_VENV" && -z "$(ls -A "$DASKLAB_VENV")" ]]; then return 0; fi
  log "refusing to replace $DASKLAB_VENV: it is not a venv the bootstrap made (no $VENV_MARKER in it); move it away or choose another python.venv"
  return 1
}

phase_venv() {
  if venv_healthy; then
    log "venv $DASKLAB_VENV is in place"
    return 0
  fi
  venv_replaceable
  log "creating venv $DASKLAB_VENV"
  rm -rf "$DASKLAB_VENV"
  install -d -m 0755 "$(dirname "$DASKLAB_VENV")"
  install -d -m 0755 -o "$DASKLAB_USER" -g "$DASKLAB_USER" "$DASKLAB_VENV"
  : >"$DASKLAB_VENV/$VENV_MARKER"
  as_user "$PYTHON" -m venv "$DASKLAB_VENV"
  rm -f "$PACKAGES_STAMP"
  : >"$VENV_NEW"
}

# What the venv should hold; when it matches the stamp, pip has nothing to do.
# The version set is part of it: a machine installed before it had one shares
# its versions (or takes the set's) on its next run; and the set's name holds
# a digest of the lock file, if any (lib/machine/version-set.ts).
packages_fingerprint() {
  {
    printf '%s\n' "$DASKLAB_PIP_INDEX_URL" "${DASKLAB_PIP_PACKAGES[@]}" "${DASKLAB_VERSION_SETS[@]}"
    if [[ -n "${DASKLAB_CODEARTIFACT_DOMAIN:-}" ]]; then
      printf 'codeartifact %s\n' "$DASKLAB_CODEARTIFACT_DOMAIN" "$DASKLAB_CODEARTIFACT_REPOSITORY" \
        "$DASKLAB_CODEARTIFACT_DOMAIN_OWNER" "$DASKLAB_CODEARTIFACT_REGION"
    fi
  } | sha256sum | cut -d' ' -f1
}

# Hides the user info and the query of every URL passing through, so that no
# token reaches the log, even one the config checks missed.
redact_urls() {
  sed -u -E -e 's#([A-Za-z][A-Za-z0-9+.-]*://)[^/@[:space:]]+@#\1***@#g' \
    -e 's#([A-Za-z][A-Za-z0-9+.-]*://[^?[:space:]]*)[?][^#[:space:]]*#\1?***#g'
}

# codeartifact_index_url, where python.codeArtifact is set (userdata/codeartifact.sh):
# @@CODEARTIFACT@@

# What pip installs (a lock file replaces it: userdata/pip-lock.sh).
PIP_PACKAGES=("${DASKLAB_PIP_PACKAGES[@]}")

pip_install() {
  local args=(install --prefer-binary --progress-bar off) index_url=
  [[ -n "$DASKLAB_PIP_INDEX_URL" ]] && args+=(--index-url "$DASKLAB_PIP_INDEX_URL")
  [[ -s "$VERSION_PINS" ]] && args+=(--constraint "$VERSION_PINS")
  if [[ -n "${DASKLAB_CODEARTIFACT_DOMAIN:-}" ]]; then
    index_url=$(codeartifact_index_url) || return 1
  fi
  # A token reaches pip in its environment: never on a command line, which
  # every user sees, nor in the log.
  (
    if [[ -n "$index_url" ]]; then export PIP_INDEX_URL=$index_url; fi
    as_user "$DASKLAB_VENV/bin/python" -m pip "${args[@]}" "${PIP_PACKAGES[@]}"
  ) 2>&1 | redact_urls
}

# The app's version set (lib/machine/version-set.ts): what the first machine
# of each kind installed, kept as the SSM parameters $DASKLAB_VERSION_SETS (the
# JupyterLab kind's, then the base kind's, which wins for the packages both
# name; this machine's kind is number $DASKLAB_VERSION_SET_OWN), so that a
# machine replaced or reset weeks later installs the same versions as the rest
# of its app. $VENV_NEW: the venv was made in this run, so what pip installed
# is this config's packages only, not a user's additions.
readonly VERSION_PINS="$STATE_DIR/version-pins.txt" VERSION_FREEZE="$STATE_DIR/pip-freeze.txt" VENV_NEW="$STATE_DIR/venv-new"
# A plain pin, as pip freeze writes one: no option, URL or marker reaches pip.
readonly PIN_PATTERN='[A-Za-z0-9][A-Za-z0-9._-]*==[A-Za-z0-9][A-Za-z0-9.+!_-]*'

# version_set get NAME... | put NAME FILE: get prints the values of the NAMEs
# that exist, in order; put stores FILE as NAME, and exits 3 when NAME exists
# (Overwrite defaults to false: ParameterAlreadyExists,
# https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_PutParameter.html). Intelligent-Tiering makes a set over the
# standard tier's 4 KB an advanced parameter (8 KB):
# https://docs.aws.amazon.com/systems-manager/latest/userguide/parameter-store-advanced-parameters.html
version_set() {
  local region
  region=$(imds_get meta-data/placement/region) || return
  AWS_ENDPOINT_URL="$DASKLAB_AWS_ENDPOINT_URL" python3 - "$region" "$@" <<'PY'
import sys

import boto3
from botocore.config import Config

region, mode, *names = sys.argv[1:]
ssm = boto3.client("ssm", region_name=region, config=Config(connect_timeout=5, read_timeout=15, retries={"max_attempts": 6, "mode": "standard"}))
try:
    if mode == "put":
        ssm.put_parameter(Name=names[0], Value=open(names[1]).read(), Type="String", Tier="Intelligent-Tiering")
    else:
        found = {p["Name"]: p["Value"] for p in ssm.get_parameters(Names=names)["Parameters"]}
        print("\n".join(found.get(name, "") for name in names))
except ssm.exceptions.ParameterAlreadyExists:
    sys.exit(3)
except Exception as error:
    sys.exit(f"the version set {names[0].rsplit('/', 1)[0]}: {error}")
PY
}

# Writes the set's pins to $VERSION_PINS, one per project (named as pip
# compares names), the later kind's winning; a line that is not a plain
# name==version pin (a pip option, say) is dropped.
version_pins() {
  local sets
  # Apart, so that a failure fails this function also where it runs as a condition (retry).
  sets=$(version_set get "${DASKLAB_VERSION_SETS[@]}") || return
  awk -v pin="^$PIN_PATTERN\$" '$0 ~ pin { name = tolower($0); sub(/==.*/, "", name); gsub(/[-_.]+/, "-", name); pins[name] = $0 } END { for (name in pins) print pins[name] }' <<<"$sets" |
    sort >"$VERSION_PINS"
  log "the version set ${DASKLAB_VERSION_SETS[0]%/*} pins $(wc -l <"$VERSION_PINS") packages"
}

pip_freeze() {
  as_user "$DASKLAB_VENV/bin/python" -m pip freeze | { grep -F == || true; } >"$VERSION_FREEZE"
}

# pip_align: installs the set's pins where this venv differs from them.
pip_align() {
  retry 3 5 version_pins
  if [[ -s "$VERSION_PINS" ]] && grep -qvxFf "$VERSION_PINS" "$VERSION_FREEZE"; then
    retry 5 5 pip_install
    pip_freeze
  fi
}

phase_pip() {
  local fingerprint status=0
  fingerprint=$(packages_fingerprint)
  if [[ -f "$PACKAGES_STAMP" && "$(cat "$PACKAGES_STAMP")" == "$fingerprint" ]]; then
    log "packages already installed: ${DASKLAB_PIP_PACKAGES[*]}"
    return 0
  fi
  retry 3 5 version_pins
  retry 5 5 pip_install
  pip_freeze
  # The first machine of its kind with a new venv shares what it installed.
  if [[ -e "$VENV_NEW" && -s "$VERSION_FREEZE" ]]; then
    version_set put "${DASKLAB_VERSION_SETS[$DASKLAB_VERSION_SET_OWN]}" "$VERSION_FREEZE" || status=$?
    if ((status == 0)); then log "shared this machine's versions as its kind's set"; fi
    # Not shared (too large, say): the machine works; the next one of its kind shares.
    if ((status != 0 && status != 3)); then log "could not share this machine's versions"; fi
  fi
  # Another machine of this kind shared first, or the base kind pins what both install.
  pip_align
  rm -f "$VENV_NEW"
  echo "$fingerprint" >"$PACKAGES_STAMP"
}

# The lock file's part, where python.lockFile is set (userdata/pip-lock.sh):
# @@PIP_LOCK@@

# write_file DEST [MODE] < CONTENT: writes DEST unless it already holds
# CONTENT; succeeds only when DEST changed.
write_file() {
  cat >"$1.new"
  chmod "${2:-0644}" "$1.new"
  if cmp -s "$1.new" "$1"; then
    rm -f "$1.new"
    return 1
  fi
  mv "$1.new" "$1"
}

phase_profile() {
  write_file "$PROFILE_SCRIPT" <<PROFILE || true
# dasklab: login shells start with the Dask venv active.
if [ -z "\${VIRTUAL_ENV:-}" ] && [ -r $DASKLAB_VENV/bin/activate ]; then
  . $DASKLAB_VENV/bin/activate
fi
PROFILE
}

# Imports numpy and dask and runs a small dask computation in the venv.
verify_venv() {
  as_user "$DASKLAB_VENV/bin/python" - <<'PY'
import json
import platform

import dask
import dask.array as da
import numpy

total = da.ones((400, 400), chunks=100).sum().compute()
assert total == 160000, f"dask computed {total}, expected 160000"
versions = {"python": platform.python_version(), "numpy": numpy.__version__, "dask": dask.__version__}
try:
    import distributed
    versions["distributed"] = distributed.__version__
except ImportError:
    pass
print(json.dumps(versions))
PY
}

# A student types python3 -V, then python3 -m venv: python3 must be the Python
# with which the venv phase made the Dask venv as the login user, which proved
# that it makes a venv with pip; a second venv would prove nothing more.
verify_student_python() {
  local version
  version=$(as_user python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')
  if [[ "$version" != "$DASKLAB_PYTHON_VERSION" ]]; then
    log "python3 is $version, expected $DASKLAB_PYTHON_VERSION"
    return 1
  fi
  venv_healthy
}

# Every requirement of DASKLAB_PIP_PACKAGES is installed in the venv, in a
# version its specifier allows (pip's own parser reads the requirements).
verify_packages() {
  as_user "$DASKLAB_VENV/bin/python" - "${DASKLAB_PIP_PACKAGES[@]}" <<'PY'
import sys
from importlib.metadata import PackageNotFoundError, version

from pip._vendor.packaging.requirements import Requirement

for spec in sys.argv[1:]:
    req = Requirement(spec)
    # pip skips a requirement whose environment marker is false here.
    if req.marker is not None and not req.marker.evaluate():
        continue
    try:
        found = version(req.name)
    except PackageNotFoundError:
        sys.exit(f"{spec}: not installed")
    if not req.specifier.contains(found, prereleases=True):
        sys.exit(f"{spec}: {found} is installed")
PY
}

phase_verify() {
  verify_packages
  log "installed as configured: ${DASKLAB_PIP_PACKAGES[*]}"
  verify_venv >"$STATE_DIR/versions.json"
  VERSIONS_JSON=$(<"$STATE_DIR/versions.json")
  log "venv versions: $VERSIONS_JSON"
  verify_student_python
  log "python3 is $DASKLAB_PYTHON_VERSION for $DASKLAB_USER"
  apt_tools_installed
}

# @@PHASES@@

# The bake command of an image build, in its bootstrap only (userdata/image-build.sh):
# @@IMAGE_BUILD@@

# --- result -------------------------------------------------------------------

# write_ready_json STATUS [FAILED_PHASE]
write_ready_json() {
  local tmp
  tmp=$(mktemp "$STATE_DIR/ready.XXXXXX")
  python3 - "$1" "${2:-}" "$STARTED_AT" "$SECONDS" "$VERSIONS_JSON" "$DASKLAB_ROLE" \
    "${DASKLAB_VERSION_SETS[-1]}" "$VERSION_FREEZE" "${PHASE_TIMES[@]}" >"$tmp" <<'PY'
import datetime
import json
import os
import sys

status, failed_phase, started_at, total, versions, role, version_set, freeze, *phases = sys.argv[1:]
result = {
    "status": status,
    "role": role,
    "startedAt": started_at,
    "finishedAt": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    "totalSeconds": int(total),
    "phases": {name: {"seconds": int(seconds)} for name, seconds in (p.split("=", 1) for p in phases)},
    "versions": json.loads(versions),
}
if os.path.exists(freeze):
    result["versionSet"] = {"parameter": version_set, "packages": dict(line.split("==", 1) for line in open(freeze).read().split() if "==" in line)}
if failed_phase:
    result["failedPhase"] = failed_phase
print(json.dumps(result, indent=2))
PY
  chmod 0644 "$tmp"
  mv "$tmp" "$READY_FILE"
}

# signal_put BODY [CURL_OPTION...]: PUTs the body to the wait-condition handle.
signal_put() {
  curl -fsS --max-time 30 --retry 5 --retry-all-errors --retry-delay 2 "${@:2}" \
    -X PUT -H 'Content-Type:' --data-binary "$1" "$DASKLAB_SIGNAL_URL" >/dev/null
}

# signal_cloudformation SUCCESS|FAILURE REASON: reports to the wait condition.
# Through the proxy, if any; then directly, since the proxy may be what failed
# and the subnet may reach S3 another way (a gateway endpoint, a NAT gateway):
# else the deploy would wait out its timeout to learn of the failure.
signal_cloudformation() {
  local body
  if [[ -z "$DASKLAB_SIGNAL_URL" ]]; then
    log "no wait-condition handle; not signalling"
    return 0
  fi
  body=$(python3 -c 'import json, sys; print(json.dumps({"Status": sys.argv[1], "Reason": sys.argv[2][-3000:], "UniqueId": sys.argv[3], "Data": sys.argv[4]}))' \
    "$1" "$2" "$(instance_id)" "$VERSIONS_JSON")
  if signal_put "$body" || { [[ -n "${https_proxy:-}${http_proxy:-}" ]] && signal_put "$body" --noproxy '*'; }; then
    log "signalled $1 to CloudFormation"
  else
    # Expected on later boots, once the handle's URL has expired.
    log "could not signal $1 to CloudFormation"
  fi
}

# Tees everything the script prints to the log file (and to the journal).
start_logging() {
  install -d -m 0755 "$LOG_DIR" "$STATE_DIR"
  exec > >(tee -a "$LOG_FILE") 2>&1
  LOG_PID=$!
}

# Lets tee write all it holds, so the log's tail is complete.
flush_log() {
  if [[ -n "$LOG_PID" ]]; then
    exec >>"$LOG_FILE" 2>&1
    wait "$LOG_PID" || true
    LOG_PID=
  fi
}

on_failure() {
  local status=$1 command=$2 reason pid
  # Inside a command substitution: let the caller's own failure report it.
  if [[ "$BASHPID" != "$$" ]]; then exit "$status"; fi
  trap - ERR
  set +e
  log "FAILED (exit $status): $command"
  # Background phases finish first: an apt install is not cut short when the service stops.
  for pid in "${BACKGROUND_PIDS[@]}"; do wait "$pid" || true; done
  flush_log
  write_ready_json failed "$CURRENT_PHASE"
  reason="phase $CURRENT_PHASE failed: $(tail -n 15 "$LOG_FILE")"
  if apt_tools_installed; then tag_self "failed:$CURRENT_PHASE"; fi
  signal_cloudformation FAILURE "$reason"
  exit "$status"
}

# Turns off idle stop that an earlier deploy enabled and the config no longer
# asks for (lab.idleStopMinutes 0): its phase is then not in the user data.
stop_idle_timer() {
  [[ -e "$UNIT_DIR/dasklab-idle.timer" ]] || return 0
  systemctl disable --now dasklab-idle.timer
  rm -f "$UNIT_DIR/dasklab-idle.timer" "$UNIT_DIR/dasklab-idle.service"
  systemctl daemon-reload
  log "idle stop turned off"
}

# Phases that run in the background, beside the phases after them, and the
# phase that waits for each: the venv needs Python and its venv module from
# apt, not the packages of apt-tools. pip waits: a reboot during an apt install
# in the background (pip being the longest phase) kept the machine from coming
# back (tests/twin/faults.twin.test.ts); the unit's TimeoutStopSec=20s ends a
# stop that waits for apt, whose next boot repairs dpkg. BACKGROUND_PIDS: the running ones.
declare -A BACKGROUND_PHASES=([apt-tools]=pip) BACKGROUND_PIDS=()

# await_background_phases [PHASE]: waits for the background phases that PHASE
# waits for (all without PHASE); one that failed fails the bootstrap as itself.
await_background_phases() {
  local name pid
  for name in "${!BACKGROUND_PIDS[@]}"; do
    [[ -z "${1:-}" || "${BACKGROUND_PHASES[$name]}" == "$1" ]] || continue
    pid=${BACKGROUND_PIDS[$name]}
    unset "BACKGROUND_PIDS[$name]"
    CURRENT_PHASE=$name
    wait "$pid"
    PHASE_TIMES+=("$(<"$STATE_DIR/phase-$name.time")")
  done
}

run_bootstrap() {
  log "dasklab bootstrap ($DASKLAB_APP, role $DASKLAB_ROLE) on $(hostname)"
  local phase
  for phase in "${DASKLAB_PHASES[@]}"; do
    await_background_phases "$phase"
    if [[ -z "${BACKGROUND_PHASES[$phase]:-}" ]]; then
      run_phase "$phase" "phase_${phase//-/_}"
      continue
    fi
    # Its time comes back through a file.
    (
      run_phase "$phase" "phase_${phase//-/_}"
      echo "${PHASE_TIMES[-1]}" >"$STATE_DIR/phase-$phase.time"
    ) &
    BACKGROUND_PIDS[$phase]=$!
  done
  await_background_phases
  if [[ " ${DASKLAB_PHASES[*]} " != *" idle "* ]]; then stop_idle_timer; fi
  CURRENT_PHASE=complete
  write_ready_json ready
  tag_self ready
  log "ready in ${SECONDS}s"
  signal_cloudformation SUCCESS "ready in ${SECONDS}s: $VERSIONS_JSON"
}

main() {
  local command=${1:-install}
  # A command of a phase this machine runs, for its systemd units: NAME runs command_NAME.
  if declare -F "command_${command//-/_}" >/dev/null; then
    CURRENT_PHASE=$command
    "command_${command//-/_}"
    return 0
  fi
  if [[ "$command" != install && "$command" != run ]]; then
    echo "usage: $0 [install|run]" >&2
    exit 2
  fi
  # Before the log's tee starts: the new bootstrap starts its own.
  if [[ "$command" == run ]] && adopt_current_user_data 2>>"$LOG_FILE"; then
    exec "$INSTALL_PATH" run
  fi
  start_logging
  trap 'on_failure $? "$BASH_COMMAND"' ERR
  if [[ "$command" == install ]]; then install_service; else run_bootstrap; fi
  flush_log
}

main "$@"
