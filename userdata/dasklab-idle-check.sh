#!/bin/bash
# dasklab idle stop: run once a minute by dasklab-idle.timer. Powers the machine
# off — which EC2 turns into a stop, not a termination — once it has been idle
# for DASKLAB_IDLE_MINUTES minutes in a row. Idle means nobody is logged in
# (SSH or Session Manager) and the CPU is near idle; a student reading in an
# open SSH session, or a long Dask computation, keeps the machine up.
set -euo pipefail

readonly STATE_DIR=/var/lib/dasklab/idle
readonly IDLE_MINUTES=${DASKLAB_IDLE_MINUTES:?}
readonly BUSY_PERCENT=${DASKLAB_IDLE_BUSY_PERCENT:-10}

log() {
  echo "dasklab-idle: $*"
}

# Interactive sessions: user sessions logind knows of (SSH logins, not the
# per-user "manager" sessions of newer systemd); sshd's per-login processes
# where logind does not track logins; and Session Manager shells.
session_count() {
  local id logins=0 sshd ssm
  for id in $(loginctl list-sessions --no-legend 2>/dev/null | awk '{print $1}'); do
    if [[ "$(loginctl show-session "$id" -p Class --value 2>/dev/null)" == user ]]; then
      logins=$((logins + 1))
    fi
  done
  sshd=$(pgrep -c -f '^sshd(-session)?: [^ ]+@' || true)
  ssm=$(pgrep -c -f ssm-session-worker || true)
  echo $(((logins > sshd ? logins : sshd) + ssm))
}

# CPU use in percent since the previous check, from /proc/stat.
cpu_percent_since_last_check() {
  local _cpu user nice system idle iowait irq softirq steal rest total busy previous previous_total previous_busy
  read -r _cpu user nice system idle iowait irq softirq steal rest </proc/stat
  total=$((user + nice + system + idle + iowait + irq + softirq + steal))
  busy=$((total - idle - iowait))
  previous=$(cat "$STATE_DIR/cpu" 2>/dev/null || echo "0 0")
  echo "$total $busy" >"$STATE_DIR/cpu"
  read -r previous_total previous_busy <<<"$previous"
  if ((total <= previous_total)); then
    echo 100 # the counters went back (the machine was stopped and started): count as busy
  else
    echo $(((busy - previous_busy) * 100 / (total - previous_total)))
  fi
}

main() {
  local sessions cpu idle_for
  install -d -m 0755 "$STATE_DIR"
  sessions=$(session_count)
  cpu=$(cpu_percent_since_last_check)
  idle_for=$(cat "$STATE_DIR/minutes" 2>/dev/null || echo 0)
  if ((sessions > 0 || cpu >= BUSY_PERCENT)); then
    idle_for=0
  else
    idle_for=$((idle_for + 1))
  fi
  echo "$idle_for" >"$STATE_DIR/minutes"
  log "sessions=$sessions cpu=${cpu}% idle_for=${idle_for}min limit=${IDLE_MINUTES}min"
  if ((idle_for >= IDLE_MINUTES)); then
    log "idle for $idle_for minutes: stopping the machine"
    echo 0 >"$STATE_DIR/minutes"
    systemctl poweroff
  fi
}

main "$@"
