# shellcheck shell=bash
# A phase of userdata/bootstrap.sh, embedded by the renderer only into the
# user data of machines that run it.

# Lets the trainer in to every machine of a lab, next to the machine's own key.
phase_trainer_key() {
  local home keys
  home=$(getent passwd "$DASKLAB_USER" | cut -d: -f6)
  keys="$home/.ssh/authorized_keys"
  install -d -m 0700 -o "$DASKLAB_USER" -g "$DASKLAB_USER" "$home/.ssh"
  touch "$keys"
  chown "$DASKLAB_USER:$DASKLAB_USER" "$keys"
  chmod 0600 "$keys"
  if ! grep -qxF "$DASKLAB_TRAINER_KEY" "$keys"; then
    echo "$DASKLAB_TRAINER_KEY" >>"$keys"
    log "added the trainer's key"
  fi
}
