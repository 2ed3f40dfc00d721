# shellcheck shell=bash
# A phase of userdata/bootstrap.sh, embedded by the renderer only into the
# user data of machines that run it.

readonly TRAINER_KEYS_STATE=/var/lib/dasklab/trainer-keys

# Lets the trainer in to every machine of a lab, next to the machine's own key.
# The trainer's key is a managed set: a key that an earlier deploy installed
# and the config no longer names is removed, so a rotated or withdrawn key
# stops working. Keys installed otherwise are left alone.
phase_trainer_key() {
  local home keys withdrawn="$TRAINER_KEYS_STATE.old"
  home=$(getent passwd "$DASKLAB_USER" | cut -d: -f6)
  keys="$home/.ssh/authorized_keys"
  install -d -m 0700 -o "$DASKLAB_USER" -g "$DASKLAB_USER" "$home/.ssh"
  touch "$keys" "$TRAINER_KEYS_STATE"
  # Managed before, and not the current key.
  grep -vxF -e "$DASKLAB_TRAINER_KEY" "$TRAINER_KEYS_STATE" >"$withdrawn" || true
  { grep -vxFf "$withdrawn" "$keys" || true; } >"$keys.new"
  if [[ -n "$DASKLAB_TRAINER_KEY" ]] && ! grep -qxF -e "$DASKLAB_TRAINER_KEY" "$keys.new"; then
    echo "$DASKLAB_TRAINER_KEY" >>"$keys.new"
  fi
  if ! cmp -s "$keys.new" "$keys"; then log "trainer keys: $(wc -l <"$withdrawn") withdrawn${DASKLAB_TRAINER_KEY:+, the current one added}"; fi
  chown "$DASKLAB_USER:$DASKLAB_USER" "$keys.new"
  chmod 0600 "$keys.new"
  mv "$keys.new" "$keys"
  echo "$DASKLAB_TRAINER_KEY" | grep -v '^$' >"$TRAINER_KEYS_STATE" || true
  rm -f "$withdrawn"
}
