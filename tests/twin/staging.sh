#!/bin/bash
# Runs INSIDE a throwaway container of the twin's rootfs (systemd-nspawn
# --volatile=overlay, host network, Debian's real trixie archive) and produces
# what the machines will download from the twin's local indexes:
#   /out/apt/*.deb  the .debs that `apt-get install APT_PACKAGES` needs on top of the rootfs
#   /out/pip/       a PEP 503 index of wheels made from Debian's installed python packages
# Usage: staging.sh APT_PACKAGES(comma-separated) DEBIAN_PYTHON_PACKAGES(comma-separated) REQUIREMENT...
set -euo pipefail

IFS=, read -r -a apt_packages <<<"$1"
IFS=, read -r -a debian_python_packages <<<"$2"
shift 2
requirements=("$@")
export DEBIAN_FRONTEND=noninteractive

log() { printf '[staging] %s\n' "$*" >&2; }

log "using Debian's trixie archive instead of the twin's repo"
rm -f /etc/apt/sources.list.d/*
echo 'deb http://deb.debian.org/debian trixie main' >/etc/apt/sources.list
apt-get update -q >&2

# Recommends are included as plain `apt-get install` on Ubuntu would (python3-pip
# recommends build-essential and python3-dev), so the repo serves a superset.
log "downloading .debs for: ${apt_packages[*]}"
apt-get install -q -y --download-only "${apt_packages[@]}" >&2
mkdir -p /out/apt
cp /var/cache/apt/archives/*.deb /out/apt/

# python3-venv brings Debian's pip/setuptools wheels, which the index serves as well.
log "installing Debian's ${debian_python_packages[*]} to package them as wheels"
apt-get install -q -y --no-install-recommends python3-venv "${debian_python_packages[@]}" >&2
python3 /twin/make-wheels.py /out/pip "${requirements[@]}"

log "verifying: a fresh venv installs ${requirements[*]} from the index alone"
python3 -m venv /tmp/verify-venv
PIP_NO_CACHE_DIR=1 /tmp/verify-venv/bin/pip install -q --index-url file:///out/pip/simple "${requirements[@]}" >&2
/tmp/verify-venv/bin/python - <<'PY'
import dask, dask.array as da, distributed, numpy
assert float(da.ones((100, 100), chunks=10).sum().compute()) == 10000.0
print(f"[staging] verified numpy {numpy.__version__} dask {dask.__version__} distributed {distributed.__version__}")
PY
if [[ " ${requirements[*]} " == *" jupyterlab "* ]]; then
  /tmp/verify-venv/bin/python -c 'import jupyterlab, sys; from jupyterlab.commands import get_app_dir; import os; d = get_app_dir(); sys.exit(0 if os.path.isfile(os.path.join(d, "static", "index.html")) else f"no JupyterLab application in {d}")'
  log "verified: JupyterLab $(/tmp/verify-venv/bin/jupyter lab --version) and its application assets"
fi
