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

# Interactive sessions: logins through sshd (logind sessions) and Session
# Manager shells (one ssm-session-worker process each).
session_count() {
  local logins ssm
  logins=$(loginctl list-sessions --no-legend 2>/dev/null | grep -vc ' seat0 ' || true)
  ssm=$(pgrep -c -f ssm-session-worker || true)
  echo $((logins + ssm))
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
    echo 100 # first check since boot: count as busy
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
