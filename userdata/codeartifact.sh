# shellcheck shell=bash
# Part of userdata/bootstrap.sh's pip phase, embedded by the renderer only into
# the user data of machines that install from python.codeArtifact.

# Prints the pip index URL of python.codeArtifact with a token that the
# machine's role gets now, valid for an hour (pip needs minutes):
# https://docs.aws.amazon.com/codeartifact/latest/APIReference/API_GetAuthorizationToken.html
# https://docs.aws.amazon.com/codeartifact/latest/ug/python-configure-pip.html
codeartifact_index_url() {
  local region=$DASKLAB_CODEARTIFACT_REGION
  if [[ -z "$region" ]]; then region=$(imds_get meta-data/placement/region); fi
  if ! AWS_ENDPOINT_URL="$DASKLAB_AWS_ENDPOINT_URL" python3 - "$region" "$DASKLAB_CODEARTIFACT_DOMAIN" \
    "$DASKLAB_CODEARTIFACT_DOMAIN_OWNER" "$DASKLAB_CODEARTIFACT_REPOSITORY" 2>"$STATE_DIR/codeartifact.err" <<'PY'; then
import sys
from urllib.parse import quote, urlsplit, urlunsplit

import boto3
from botocore.config import Config

region, domain, owner, repository = sys.argv[1:]
owner_args = {"domainOwner": owner} if owner else {}
config = Config(connect_timeout=5, read_timeout=15, retries={"max_attempts": 4, "mode": "standard"})
client = boto3.client("codeartifact", region_name=region, config=config)
token = client.get_authorization_token(domain=domain, durationSeconds=3600, **owner_args)["authorizationToken"]
endpoint = client.get_repository_endpoint(domain=domain, repository=repository, format="pypi", **owner_args)["repositoryEndpoint"]
url = urlsplit(endpoint)
netloc = "aws:" + quote(token, safe="") + "@" + url.netloc
print(urlunsplit((url.scheme, netloc, url.path.rstrip("/") + "/simple/", "", "")))
PY
    log "could not get a CodeArtifact token for $DASKLAB_CODEARTIFACT_DOMAIN/$DASKLAB_CODEARTIFACT_REPOSITORY: $(tail -n 1 "$STATE_DIR/codeartifact.err" | redact_urls)"
    return 1
  fi
}
