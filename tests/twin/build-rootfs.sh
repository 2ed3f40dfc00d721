#!/bin/bash
# Builds the twin's machine image: a Debian trixie rootfs shaped like an Ubuntu
# cloud image (systemd as PID 1, cloud-init with the NoCloud datasource, default
# user "ubuntu" with passwordless sudo, network rendered by systemd-networkd).
# Usage: build-rootfs.sh TARGET_DIR DEB_CACHE_DIR APT_SOURCE_LINE PIP_TRUSTED_HOST PACKAGE...
# rootfs.ts calls this into a temp dir and renames it into place on success, so a
# half-built rootfs is never used. Its cache key hashes this file and the package list.
set -euo pipefail

target=$1 debcache=$2 apt_line=$3 pip_host=$4
shift 4
packages=$(IFS=,; echo "$*")
mirror=http://deb.debian.org/debian

log() { printf '[build-rootfs] %s\n' "$*" >&2; }

# Runs a command inside the rootfs without network; nspawn mounts /proc, /sys, /dev.
in_root() {
  systemd-nspawn --quiet --register=no --keep-unit --directory="$target" \
    --private-network --setenv=DEBIAN_FRONTEND=noninteractive -- "$@"
}

log "debootstrap trixie (minbase + ${packages})"
mkdir -p "$debcache"
debootstrap --variant=minbase --cache-dir="$debcache" --include="$packages" \
  trixie "$target" "$mirror" >&2

log "configuring cloud-init, units, apt"
# cloud-init: NoCloud only (EC2 would use the Ec2 datasource), default user as
# on Ubuntu's EC2 images, network through systemd-networkd as netplan does there.
cat >"$target/etc/cloud/cloud.cfg.d/90-dasklab-twin.cfg" <<'CFG'
datasource_list: [NoCloud, None]
manage_etc_hosts: localhost
system_info:
  default_user:
    name: ubuntu
    lock_passwd: true
    gecos: Ubuntu
    groups: [adm, sudo]
    sudo: ["ALL=(ALL) NOPASSWD:ALL"]
    shell: /bin/bash
  network:
    renderers: [networkd]
    activators: [networkd]
CFG

# Units that make no sense in a container, or would only slow the boot.
for unit in apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer e2scrub_reap.service \
  fstrim.timer man-db.timer systemd-timesyncd.service getty@tty1.service \
  serial-getty@console.service console-getty.service; do
  ln -sf /dev/null "$target/etc/systemd/system/$unit"
done
in_root systemctl enable systemd-networkd.service >&2

# Ubuntu's default locale; C.UTF-8 is built into glibc.
echo 'LANG=C.UTF-8' >"$target/etc/default/locale"
# The twin has no DNS; URLs use IP addresses. An empty resolv.conf keeps resolvers quiet.
: >"$target/etc/resolv.conf"

# apt: only the twin's local flat repository (its address is fixed by network.ts).
rm -f "$target/etc/apt/sources.list"
rm -rf "$target/etc/apt/sources.list.d"/*
echo "$apt_line" >"$target/etc/apt/sources.list.d/dasklab-twin.list"

# pip ignores a plain-http index on another host unless it is trusted; the
# twin's index is http (a real one would be https).
printf '[global]\ntrusted-host = %s\n' "$pip_host" >"$target/etc/pip.conf"
rm -rf "$target/var/lib/apt/lists"/* "$target/var/cache/apt/archives"/*.deb
log "done"
