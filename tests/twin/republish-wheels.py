"""Publishes a newer release of some projects of the twin's pip index.

Each project's wheel is copied under a new version: its .dist-info renamed,
METADATA's Version and its pins of the other republished projects set to the
new version, RECORD written fresh. The code is the old release's: what changes
is what pip resolves. The new files go to an overlay of the index, which the
twin's pip service reads before the index itself (services.py), so the cached
index is never changed.

Usage: python3 republish-wheels.py INDEX_DIR OVERLAY_DIR VERSION PROJECT...
"""

import base64
import hashlib
import html
import re
import sys
import zipfile
from pathlib import Path


def record_line(name, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def republish(wheel, version, projects, out_dir):
    with zipfile.ZipFile(wheel) as source:
        old_info = next(n.split("/")[0] for n in source.namelist() if n.endswith(".dist-info/METADATA"))
        project = old_info[: -len(".dist-info")].rsplit("-", 1)[0]
        new_info = f"{project}-{version}.dist-info"
        files = {}
        for name in source.namelist():
            data = source.read(name)
            if name.startswith(old_info + "/"):
                name = new_info + name[len(old_info):]
            if name == f"{new_info}/METADATA":
                text = re.sub(r"^Version: .*$", f"Version: {version}", data.decode(), count=1, flags=re.M)
                pinned = "|".join(re.escape(p) for p in projects)
                text = re.sub(rf"^(Requires-Dist: (?:{pinned}))==[^;\s]+", rf"\g<1>=={version}", text, flags=re.M)
                data = text.encode()
            if name != f"{new_info}/RECORD":
                files[name] = data
    record = [record_line(name, data) for name, data in files.items()] + [f"{new_info}/RECORD,,"]
    files[f"{new_info}/RECORD"] = ("\n".join(record) + "\n").encode()
    target = out_dir / f"{project}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as out:
        for name, data in files.items():
            out.writestr(name, data)
    return project, target


def main():
    index, overlay, version, *projects = sys.argv[1:]
    index, overlay = Path(index), Path(overlay)
    (overlay / "files").mkdir(parents=True, exist_ok=True)
    for project in projects:
        page = (index / "simple" / project / "index.html").read_text()
        wheel = index / "files" / re.search(r'href="\.\./\.\./files/([^"#]+)', page).group(1)
        _, target = republish(wheel, version, projects, overlay / "files")
        digest = hashlib.sha256(target.read_bytes()).hexdigest()
        link = f'<a href="../../files/{html.escape(target.name)}#sha256={digest}">{html.escape(target.name)}</a><br>\n'
        (overlay / "simple" / project).mkdir(parents=True, exist_ok=True)
        (overlay / "simple" / project / "index.html").write_text(page.replace("</body>", link + "</body>"))
        print(target.name)


if __name__ == "__main__":
    main()
