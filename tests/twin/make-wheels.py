"""Builds a PEP 503 index of wheels from the Python packages Debian installed.

Runs inside the twin's staging container (Debian trixie, python3.13). No PyPI is
reachable, so the wheels the twin's pip index serves are repackaged from
/usr/lib/python3/dist-packages: each distribution's files are taken from the
Debian package that owns its metadata (dpkg -L), its .dist-info is kept (or made
from an .egg-info), and WHEEL and RECORD are written fresh. Wheels with compiled
extensions are tagged cp313-cp313-linux_x86_64, the others py3-none-any. The
dependency closure is walked from the requested requirements through the
installed metadata, so what pip will ask for is exactly what the index holds.

Usage: python3 make-wheels.py OUT_DIR REQUIREMENT...
Writes OUT_DIR/files/*.whl and OUT_DIR/simple/<project>/index.html.
"""

import base64
import csv
import hashlib
import html
import importlib.metadata as md
import io
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

# Debian's pip, setuptools and wheel as real wheels (python3-pip-whl etc.), so a
# bootstrap that upgrades pip in its venv finds it on the index too.
DEBIAN_WHEELS = Path("/usr/share/python-wheels")
# Metadata files that belong to an installation, not to a wheel.
INSTALL_ONLY = {"INSTALLER", "RECORD", "REQUESTED", "direct_url.json", "WHEEL"}
# On Debian a dist-info carries no RECORD; these belong to the egg-info format.
EGG_ONLY = {"PKG-INFO", "requires.txt", "SOURCES.txt", "dependency_links.txt", "not-zip-safe"}


def log(msg):
    print(f"[make-wheels] {msg}", file=sys.stderr)


# Projects that an extra of an installed distribution asks for and that Debian
# does not package (e.g. uri-template, of jsonschema[format-nongpl], which
# jupyter-events requires): their Requires-Dist lines are left out of the wheels,
# as Debian's own packages run without them.
UNPACKAGED = set()
# Requirements Debian does not package and whose dependants Debian ships and runs
# without them: jupyterlab's jupyter-lsp (the language-server extension).
DEBIAN_RUNS_WITHOUT = {"jupyter-lsp"}


def closure(requirements):
    """Walks Requires-Dist from the requirements; returns {canonical name: Distribution}."""
    found = {}
    extras_seen = {}
    todo = [Requirement(r) for r in requirements]
    while todo:
        req = todo.pop()
        name = canonicalize_name(req.name)
        try:
            dist = md.distribution(req.name)
        except md.PackageNotFoundError:
            if name in DEBIAN_RUNS_WITHOUT or (req.marker is not None and "extra" in str(req.marker)):
                log(f"{req}: not packaged by Debian; left out of the wheels' metadata")
                UNPACKAGED.add(name)
                continue
            sys.exit(f"[make-wheels] {req} is required but no Debian package installed it")
        if not req.specifier.contains(dist.version, prereleases=True):
            sys.exit(f"[make-wheels] {req} is required but Debian has {dist.version}")
        extras = set(req.extras)
        if name in found and extras <= extras_seen[name]:
            continue
        found[name] = dist
        extras_seen[name] = extras_seen.get(name, set()) | extras
        for dep in dist.requires or []:
            dep_req = Requirement(dep)
            envs = [{"extra": e} for e in sorted(extras_seen[name])] or [{"extra": ""}]
            if dep_req.marker is None or any(dep_req.marker.evaluate(env) for env in envs):
                todo.append(dep_req)
    return found


# Debian packages that hold part of a distribution that PyPI ships in one wheel:
# cffi's compiled backend (_cffi_backend) is python3-cffi-backend, not python3-cffi.
SPLIT_PACKAGES = {"cffi": ["python3-cffi-backend"]}


def debian_files(dist):
    """The files the owning Debian package installed under this dist's site dir."""
    meta_dir = Path(dist._path)  # importlib has no public path for PathDistribution
    site = meta_dir.parent
    owner = subprocess.run(["dpkg", "-S", str(meta_dir)], check=True, capture_output=True, text=True)
    package = owner.stdout.split(":")[0]
    listing = subprocess.run(["dpkg", "-L", package, *SPLIT_PACKAGES.get(canonicalize_name(dist.metadata["Name"]), [])],
                             check=True, capture_output=True, text=True)
    metas = [p for p in listing.stdout.splitlines() if Path(p).parent == site and p.endswith("-info")]
    if len(metas) != 1:
        sys.exit(f"[make-wheels] {package} holds {len(metas)} distributions; cannot split it")
    files = {}
    data_name = f"{re.sub(r'[-_.]+', '_', dist.metadata['Name']).lower()}-{dist.version.replace('-', '_')}.data"
    for line in listing.stdout.splitlines():
        path = Path(line)
        data = data_file(path)
        if data is not None and path.is_file():
            files[f"{data_name}/data/{data}"] = path
            continue
        if site not in path.parents or meta_dir == path or meta_dir in path.parents:
            continue
        if "__pycache__" in path.parts:
            continue
        if path.is_symlink() and path.is_dir():
            # Debian links bundled assets (e.g. javascript) to /usr/share; a wheel carries copies.
            for sub in path.rglob("*"):
                if sub.is_file():
                    files[str(sub.relative_to(site))] = sub
        elif path.is_file():
            files[str(path.relative_to(site))] = path
    return package, meta_dir, files


# Jupyter's data files, which PyPI's wheels install under the venv (sys.prefix):
# JupyterLab's built application and schemas, servers' extension configs. Not
# Debian's kernel specs: they name /usr/bin/python3; the venv's own kernel is found without one.
JUPYTER_DATA = {Path("/usr/share/jupyter"): "share/jupyter", Path("/etc/jupyter"): "etc/jupyter"}


def data_file(path):
    """Where a Debian-installed Jupyter data file goes in a wheel's .data/data/, or None."""
    for root, target in JUPYTER_DATA.items():
        if root in path.parents and Path("/usr/share/jupyter/kernels") not in path.parents:
            return f"{target}/{path.relative_to(root)}"
    return None


def metadata_files(dist, meta_dir, dist_info):
    """The .dist-info contents (without WHEEL/RECORD), converting an egg-info if needed."""
    out = {}
    if meta_dir.suffix == ".dist-info":
        for path in sorted(meta_dir.rglob("*")):
            if path.is_file() and path.name not in INSTALL_ONLY:
                data = path.read_bytes()
                out[f"{dist_info}/{path.relative_to(meta_dir)}"] = without_unpackaged(data) if path.name == "METADATA" else data
        return out
    # egg-info: METADATA made from PKG-INFO's core fields plus requires.txt (which
    # importlib already turns into Requires-Dist with extra markers).
    meta = dist.metadata
    lines = ["Metadata-Version: 2.1", f"Name: {meta['Name']}", f"Version: {meta['Version']}"]
    for field in ("Summary", "Requires-Python", "License"):
        if meta.get(field):
            lines.append(f"{field}: {' '.join(meta[field].split())}")
    extras = set()
    for dep in dist.requires or []:
        if canonicalize_name(Requirement(dep).name) in UNPACKAGED:
            continue
        lines.append(f"Requires-Dist: {dep}")
        extras.update(re.findall(r'extra == "([^"]+)"', dep))
    lines += [f"Provides-Extra: {extra}" for extra in sorted(extras)]
    out[f"{dist_info}/METADATA"] = ("\n".join(lines) + "\n").encode()
    for path in sorted(meta_dir.iterdir()):
        if path.is_file() and path.name not in EGG_ONLY | INSTALL_ONLY:
            out[f"{dist_info}/{path.name}"] = path.read_bytes()
    return out


def without_unpackaged(metadata):
    """METADATA without the Requires-Dist lines of UNPACKAGED projects."""
    kept = []
    for line in metadata.decode().splitlines(keepends=True):
        if line.startswith("Requires-Dist:") and canonicalize_name(Requirement(line.split(":", 1)[1].strip()).name) in UNPACKAGED:
            continue
        kept.append(line)
    return "".join(kept).encode()


def record_hash(data):
    digest = hashlib.sha256(data).digest()
    return "sha256=" + base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def build_wheel(dist, files_dir):
    package, meta_dir, files = debian_files(dist)
    name = re.sub(r"[-_.]+", "_", dist.metadata["Name"]).lower()
    version = dist.version.replace("-", "_")
    binary = any(rel.endswith(".so") or ".so." in rel for rel in files)
    cp = f"cp{sys.version_info.major}{sys.version_info.minor}"
    tag = f"{cp}-{cp}-linux_{os.uname().machine}" if binary else "py3-none-any"
    dist_info = f"{name}-{version}.dist-info"
    entries = {rel: path.read_bytes() for rel, path in sorted(files.items())}
    entries.update(metadata_files(dist, meta_dir, dist_info))
    entries[f"{dist_info}/WHEEL"] = (
        "Wheel-Version: 1.0\nGenerator: dasklab-twin make-wheels\n"
        f"Root-Is-Purelib: {'false' if binary else 'true'}\nTag: {tag}\n"
    ).encode()
    record = io.StringIO()
    writer = csv.writer(record, lineterminator="\n")
    for arcname, data in entries.items():
        writer.writerow([arcname, record_hash(data), len(data)])
    writer.writerow([f"{dist_info}/RECORD", "", ""])
    entries[f"{dist_info}/RECORD"] = record.getvalue().encode()

    wheel = files_dir / f"{name}-{version}-{tag}.whl"
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as zf:
        for arcname, data in entries.items():
            info = zipfile.ZipInfo(arcname, date_time=(2025, 1, 1, 0, 0, 0))
            src = files.get(arcname)
            mode = 0o755 if src is not None and os.access(src, os.X_OK) else 0o644
            info.external_attr = (0o100000 | mode) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, data)
    log(f"{wheel.name} from {package} ({len(files)} files)")
    return canonicalize_name(dist.metadata["Name"]), wheel, dist.metadata.get("Requires-Python")


def write_index(out, wheels):
    """PEP 503: /simple/ lists projects, /simple/<name>/ links its files with hashes."""
    simple = out / "simple"
    projects = {}
    for project, wheel, requires_python in wheels:
        projects.setdefault(project, []).append((wheel, requires_python))
    for project, entries in projects.items():
        links = []
        for wheel, requires_python in entries:
            digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
            attr = f' data-requires-python="{html.escape(requires_python)}"' if requires_python else ""
            links.append(f'<a href="../../files/{wheel.name}#sha256={digest}"{attr}>{wheel.name}</a><br>')
        (simple / project).mkdir(parents=True, exist_ok=True)
        (simple / project / "index.html").write_text(
            f"<!DOCTYPE html><html><body>\n{chr(10).join(links)}\n</body></html>\n")
    body = "\n".join(f'<a href="{p}/">{p}</a><br>' for p in sorted(projects))
    (simple / "index.html").write_text(f"<!DOCTYPE html><html><body>\n{body}\n</body></html>\n")


def main():
    out = Path(sys.argv[1])
    files_dir = out / "files"
    files_dir.mkdir(parents=True, exist_ok=True)
    wheels = [build_wheel(dist, files_dir) for dist in closure(sys.argv[2:]).values()]
    for whl in sorted(DEBIAN_WHEELS.glob("*.whl")):
        shutil.copy(whl, files_dir / whl.name)
        project = canonicalize_name(whl.name.split("-")[0])
        wheels.append((project, files_dir / whl.name, None))
        log(f"{whl.name} copied from {DEBIAN_WHEELS}")
    write_index(out, wheels)
    log(f"{len(wheels)} wheels in {out}")


if __name__ == "__main__":
    main()
