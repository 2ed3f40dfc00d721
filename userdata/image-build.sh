# shellcheck shell=bash
# Part of userdata/bootstrap.sh, embedded by the renderer only into the
# bootstrap of an image build (lib/image/): `bootstrap.sh bake` runs the
# install phases into the image that the app's machines boot from.

# The phases an image build runs (lib/image/): what every machine of the app
# installs alike. The network phase is not among them: it restarts the SSM
# agent, through which Image Builder runs the build.
readonly IMAGE_PHASES=(apt apt-tools venv pip profile verify)
# What the image says about itself, for whoever looks at a machine booted from it.
readonly IMAGE_FILE="$STATE_DIR/image.json"

# Runs the install phases as the machines' bootstrap does, so that there is one
# install path: a machine booted from the image finds each phase's work done
# (packages installed, venv healthy, the pip stamp matching its packages) and
# runs only what is its own. The first image of a package config shares its
# versions as the app's version set, and a rebuild installs those versions.
bake_image() {
  local phase
  log "dasklab image build ($DASKLAB_APP) on $(hostname)"
  for phase in "${DASKLAB_PHASES[@]}"; do
    [[ " ${IMAGE_PHASES[*]} " == *" $phase "* ]] || continue
    run_phase "$phase" "phase_${phase//-/_}"
  done
  # shellcheck disable=SC2034 # read by log
  CURRENT_PHASE=complete
  python3 - "$STARTED_AT" "$SECONDS" "${DASKLAB_VERSION_SETS[$DASKLAB_VERSION_SET_OWN]}" >"$IMAGE_FILE" <<'PY'
import datetime
import json
import sys

started_at, seconds, version_set = sys.argv[1:]
built_at = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
print(json.dumps({"builtAt": built_at, "buildStartedAt": started_at, "buildSeconds": int(seconds), "versionSet": version_set}, indent=2))
PY
  chmod 0644 "$IMAGE_FILE"
  log "image ready in ${SECONDS}s: $VERSIONS_JSON"
  # Each machine's log starts with its own boot; the build's stays beside it.
  flush_log
  mv "$LOG_FILE" "$LOG_DIR/image-build.log"
  rm -f "$STATE_DIR/versions.json" "$STATE_DIR/tag.err"
  # What the install downloaded is in the venv now; the image need not carry it twice.
  apt-get clean
  rm -rf "$(getent passwd "$DASKLAB_USER" | cut -d: -f6)/.cache/pip"
}

# An image build is no machine of the app: it tags nothing (its role may not).
tag_self() { :; }

# The bake command (main runs command_NAME for a NAME it is given).
command_bake() {
  start_logging
  trap 'on_failure $? "$BASH_COMMAND"' ERR
  bake_image
  flush_log
}
