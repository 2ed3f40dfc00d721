# shellcheck shell=bash
# A phase of userdata/bootstrap.sh, embedded by the renderer only into the
# user data of machines that run it. The renderer fills in the @...@ values.
#
# JupyterLab on loopback. Its token is made here at first boot and kept only
# in @TOKEN_FILE@ (root and the login user may read it): never in user data,
# the template, outputs or logs. The login user sees the address with the
# token when logging in through the handout's SSH tunnel, or runs @URL_COMMAND@.

# jupyter_status [TOKEN]: the HTTP status of JupyterLab's API, with TOKEN if
# given (read by curl from its standard input, never on a command line).
jupyter_status() {
  echo "${1:+header = \"Authorization: token $1\"}" |
    curl -s -o /dev/null -w '%{http_code}' -m 5 -K - http://127.0.0.1:@PORT@/api/status || true
}

# jupyter_check: tags the instance dasklab:jupyter=answers or "not answering"
# when that changes, for `dasklab status`; run every minute by a timer.
jupyter_check() {
  local token state last=
  token=$(sed -n 's/^JUPYTER_TOKEN=//p' @TOKEN_FILE@)
  state="not answering"
  if [[ "$(jupyter_status "$token")" == 200 ]]; then state=answers; fi
  if [[ -f "$STATE_DIR/jupyter.tag" ]]; then last=$(<"$STATE_DIR/jupyter.tag"); fi
  if [[ "$state" != "$last" ]] && tag_instance dasklab:jupyter "$state"; then
    echo "$state" >"$STATE_DIR/jupyter.tag"
  fi
}

# `bootstrap.sh jupyter-check`, from the timer; logs only a change, to its journal.
command_jupyter_check() {
  jupyter_check
}

# The timer that runs jupyter_check.
install_jupyter_check() {
  local changed=
  write_file "$UNIT_DIR/dasklab-jupyter-check.service" <<'UNIT' && changed=1
# @@JUPYTER_CHECK_SERVICE@@
UNIT
  write_file "$UNIT_DIR/dasklab-jupyter-check.timer" <<'UNIT' && changed=1
# @@JUPYTER_CHECK_TIMER@@
UNIT
  if [[ -n "$changed" ]]; then systemctl daemon-reload; fi
  systemctl enable --now dasklab-jupyter-check.timer
}

phase_jupyter() {
  local home token tries=0 changed=
  home=$(getent passwd "$DASKLAB_USER" | cut -d: -f6)
  install -d -o "$DASKLAB_USER" -g "$DASKLAB_USER" "$home/@ROOT@"
  if [[ ! -s @TOKEN_FILE@ ]]; then
    # Unreadable to others before the token is in it.
    install -D -m 0640 -g "$DASKLAB_USER" /dev/null @TOKEN_FILE@.new
    python3 -c 'import secrets; print("JUPYTER_TOKEN=" + secrets.token_hex(24))' >@TOKEN_FILE@.new
    mv @TOKEN_FILE@.new @TOKEN_FILE@
    changed=1
  fi
  # printf, not a here-document: the renderer drops lines that start with "#".
  printf '%s\n' '#!/bin/sh' "sed -n 's|^JUPYTER_TOKEN=|http://127.0.0.1:@PORT@/lab?token=|p' @TOKEN_FILE@" |
    write_file /usr/local/bin/@URL_COMMAND@ 0755 || true
  echo "case \$- in *i*) [ \"\$(id -un)\" = $DASKLAB_USER ] && echo \"JupyterLab: \$(@URL_COMMAND@)\";; esac" |
    write_file /etc/profile.d/dasklab-jupyter.sh || true
  write_file "$UNIT_DIR/jupyterlab.service" <<'UNIT' && changed=1
# @@JUPYTER_UNIT@@
UNIT
  if [[ -n "$changed" ]]; then
    systemctl daemon-reload
    systemctl enable jupyterlab.service
    systemctl restart jupyterlab.service
  fi
  systemctl start jupyterlab.service
  token=$(sed -n 's/^JUPYTER_TOKEN=//p' @TOKEN_FILE@)
  until [[ "$(jupyter_status "$token")" == 200 ]]; do
    ((++tries < 90)) || return 1
    sleep 2
  done
  # Without the token, JupyterLab refuses.
  [[ "$(jupyter_status)" == 403 ]]
  log "JupyterLab answers on 127.0.0.1:@PORT@ with its token only"
  # The first check before the timer's, which then finds it recorded.
  jupyter_check
  install_jupyter_check
}
