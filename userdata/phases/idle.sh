# shellcheck shell=bash
# A phase of userdata/bootstrap.sh, embedded by the renderer only into the
# user data of machines that run it.

# Idle stop (labs): a timer checks once a minute whether anyone uses the machine.
phase_idle() {
  local changed=
  write_file "$INSTALL_DIR/idle-check.sh" 0755 <<'SCRIPT' && changed=1
# @@IDLE_CHECK@@
SCRIPT
  write_file "$UNIT_DIR/dasklab-idle.service" <<'UNIT' && changed=1
# @@IDLE_SERVICE@@
UNIT
  write_file "$UNIT_DIR/dasklab-idle.timer" <<'UNIT' && changed=1
# @@IDLE_TIMER@@
UNIT
  if [[ -n "$changed" ]]; then systemctl daemon-reload; fi
  systemctl enable --now dasklab-idle.timer
}
