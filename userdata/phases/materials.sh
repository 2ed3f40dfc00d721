# shellcheck shell=bash
# A phase of userdata/bootstrap.sh, embedded by the renderer only into the
# user data of lab machines with course materials (lab.materials). The
# renderer fills in the @...@ values.
#
# The materials are one zip in the CDK's asset bucket; the user data names its
# bucket and key only, and the machine's role may read that one object. The
# files go into ~/@ROOT@ (JupyterLab's root), owned by the login user, before
# the machine reports ready.
#
# What a student changed is never overwritten: files are only ever added, and
# each version of the materials (its key, a hash of its content) is unpacked
# once, which a marker under the bootstrap's state directory records. A
# bootstrap run again (every boot) therefore changes nothing; a deploy with new
# materials adds the files a student does not have; `dasklab reset` gives the
# machine a fresh root volume, without the marker or the student's files, and
# so the originals.

# add_materials FOLDER: downloads the zip with the machine's role (boto3 takes
# the proxy, if any, from the environment that the network phase exported) and
# adds each of its files that FOLDER lacks, as the login user: the user's own
# links and folders are never followed with root's rights, and a file that is
# there, or in the way, is left as it is. zipfile's extract keeps every file
# inside FOLDER (it drops leading "/" and "..").
add_materials() {
  local region
  region=$(imds_get meta-data/placement/region) || return 1
  AWS_ENDPOINT_URL="$DASKLAB_AWS_ENDPOINT_URL" as_user python3 - "$region" "$DASKLAB_MATERIALS_BUCKET" "$DASKLAB_MATERIALS_KEY" "$1" <<'PY'
import os, sys, tempfile, zipfile

import boto3

region, bucket, key, root = sys.argv[1:]
added = kept = 0
with tempfile.TemporaryFile() as archive:
    boto3.client("s3", region_name=region).download_fileobj(bucket, key, archive)
    materials = zipfile.ZipFile(archive)
    for member in materials.infolist():
        try:
            if os.path.lexists(os.path.join(root, member.filename)):
                raise FileExistsError
            path = materials.extract(member, root)
        except OSError:
            kept += 1
            continue
        if member.external_attr >> 16 & 0o111:
            os.chmod(path, 0o755)
        added += 1
print(f"{added} files added, {kept} left as they are")
PY
}

# The marker of this version of the materials is in the bootstrap's state
# directory, which a new root volume does not have.
phase_materials() {
  local marker="$STATE_DIR/materials-${DASKLAB_MATERIALS_KEY//\//_}" folder result
  if [[ -e "$marker" ]]; then
    log "materials $DASKLAB_MATERIALS_KEY: unpacked already"
    return 0
  fi
  folder="$(getent passwd "$DASKLAB_USER" | cut -d: -f6)/@ROOT@"
  # An assignment, so that a failure fails the phase.
  result=$(retry 5 5 add_materials "$folder")
  log "materials $DASKLAB_MATERIALS_KEY in $folder: $result"
  : >"$marker"
}
