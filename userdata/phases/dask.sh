# shellcheck shell=bash
# A phase of userdata/bootstrap.sh, embedded by the renderer only into the
# user data of machines that run it.

# Runs the role's Dask service from the venv, restarting it if its unit changed.
phase_dask() {
  local unit=$DASKLAB_DASK_UNIT.service changed=
  install -d -m 0750 -o "$DASKLAB_USER" -g "$DASKLAB_USER" /var/lib/dask
  install -d -m 0755 /etc/dasklab
  write_file /etc/dasklab/dask.env <<<"DASK_SCHEDULER_ADDRESS=$DASKLAB_SCHEDULER_ADDRESS" && changed=1
  write_file "$UNIT_DIR/$unit" <<'UNIT' && changed=1
# @@DASK_UNIT@@
UNIT
  if [[ -n "$changed" ]]; then
    systemctl daemon-reload
    systemctl enable "$unit"
    systemctl restart "$unit"
  else
    systemctl start "$unit"
  fi
  log "$unit is $(systemctl is-active "$unit")"
}
