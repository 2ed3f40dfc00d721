"""What EC2 and CloudFormation would provide, served inside the twin's hub netns.

Run by services.ts as `ip netns exec <hub> python3 services.py CONFIG.json APT_DIR PIP_DIR` with
the host's python3 (stdlib only). Four HTTP servers:

  apt    HUB_IP:8080           the flat apt repository (static files), with injectable faults
  pip    HUB_IP:8082           the PEP 503 index (static files), with injectable faults
  signal HUB_IP:8081           CloudFormation wait-condition handles: PUT /signal/<handle>
  imds   169.254.169.254:80    IMDSv2, answering per source IP (meta-data with instance-role credentials, user-data)
  ec2    HUB_IP:8083           the machines' AWS endpoint: EC2 CreateTags, SSM Parameter Store and
                               S3 GetObject forwarded to moto (when the twin runs it), as each machine's role allows them

Events (signals, fault state) go to stdout as JSON lines for services.ts to read;
every request is logged to the access log.
"""

import functools
import json
import os
import secrets
import sys
import threading
import time
import urllib.error
import urllib.request
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer, BaseHTTPRequestHandler
import urllib.parse
from urllib.parse import parse_qs

CONFIG = json.load(open(sys.argv[1]))
CONFIG["aptDir"], CONFIG["pipDir"] = sys.argv[2], sys.argv[3]
ACCESS_LOG = open(CONFIG["accessLog"], "a", buffering=1)
STARTED = time.time()
_out_lock = threading.Lock()


def event(kind, **fields):
    with _out_lock:
        print(json.dumps({"event": kind, "time": time.time(), **fields}), flush=True)


class Quiet:
    """Sends the default request logging to the access log instead of stderr."""

    service = "?"

    def log_message(self, fmt, *args):
        ACCESS_LOG.write(f"{time.strftime('%H:%M:%S')} {self.service} {self.client_address[0]} {fmt % args}\n")


class FaultWindow:
    """An injected outage of one static service (config key `<service>Fault`):

      mode "503" (or "500", ...): that HTTP status for downForSeconds (omitted:
        always) after the service's first request;
      failFirstRequests N: that status for its first N requests, then normal.

    Windows start at the first request, so they are exercised whenever the
    machine gets there, however long the phases before it took.
    """

    def __init__(self, service):
        self.service = service
        self.fault = CONFIG.get(service + "Fault") or {}
        self.first_request = None
        self.requests = 0
        self.lock = threading.Lock()

    def status(self, client):
        """The injected error status for this request, or None to serve it."""
        mode = str(self.fault.get("mode") or "")
        if not mode.isdigit():
            return None
        with self.lock:
            self.requests += 1
            if self.first_request is None:
                self.first_request = time.time()
                event(self.service + "-first-request", client=client)
            count = self.fault.get("failFirstRequests")
            if count is not None:
                return int(mode) if self.requests <= count else None
            seconds = self.fault.get("downForSeconds")
            if seconds is None or time.time() - self.first_request < seconds:
                return int(mode)
            return None


class StaticHandler(Quiet, SimpleHTTPRequestHandler):
    service = "apt"
    window = None  # FaultWindow, set in main()

    def send_head(self):
        status = StaticHandler.window.status(self.client_address[0]) if StaticHandler.window else None
        if status:
            self.send_error(status, "injected by the dasklab twin")
            return None
        return super().send_head()


class PipHandler(Quiet, SimpleHTTPRequestHandler):
    """The index, answering an error status while a fault (FaultWindow) is active.
    A release published during the run (republish-wheels.py) is in the overlay
    directory, read before the index: the cached index is never changed."""

    service = "pip"

    window = None  # FaultWindow, set in main()

    def translate_path(self, path):
        served = super().translate_path(path)
        overlay = os.path.join(CONFIG["pipOverlayDir"], os.path.relpath(served, self.directory))
        return overlay if os.path.exists(overlay) else served

    def send_head(self):
        status = PipHandler.window.status(self.client_address[0]) if PipHandler.window else None
        if status:
            self.send_error(status, "injected by the dasklab twin")
            return None
        return super().send_head()


class SignalHandler(Quiet, BaseHTTPRequestHandler):
    service = "signal"

    def do_PUT(self):
        parts = self.path.strip("/").split("/")
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode("utf-8", "replace")
        if len(parts) != 2 or parts[0] != "signal":
            self.send_error(404)
            return
        try:
            payload = json.loads(body)
        except ValueError:
            # CloudFormation rejects a malformed signal; say so loudly.
            event("bad-signal", handle=parts[1], body=body, client=self.client_address[0])
            self.send_error(400, "signal body is not JSON")
            return
        event("signal", handle=parts[1], body=payload, client=self.client_address[0])
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()


class ImdsHandler(Quiet, BaseHTTPRequestHandler):
    """IMDSv2 only (HttpTokens: required): tokens are per source IP and expire."""

    service = "imds"
    tokens = {}  # token -> (client ip, expiry)

    def _reply(self, status, text=""):
        data = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_PUT(self):
        if self.path != "/latest/api/token":
            return self._reply(404)
        ttl = self.headers.get("X-aws-ec2-metadata-token-ttl-seconds", "")
        if not ttl.isdigit() or not 1 <= int(ttl) <= 21600:
            return self._reply(400, "missing or invalid X-aws-ec2-metadata-token-ttl-seconds")
        token = secrets.token_urlsafe(32)
        ImdsHandler.tokens[token] = (self.client_address[0], time.time() + int(ttl))
        self._reply(200, token)

    def do_GET(self):
        token = self.headers.get("X-aws-ec2-metadata-token", "")
        owner, expiry = ImdsHandler.tokens.get(token, (None, 0))
        if owner != self.client_address[0] or time.time() > expiry:
            return self._reply(401)
        machine = CONFIG["imds"].get(self.client_address[0])
        if machine is None:
            return self._reply(404)
        meta = {
            "instance-id": machine["instanceId"],
            "local-ipv4": machine["ip"],
            "local-hostname": machine["hostname"],
            "hostname": machine["hostname"],
            "instance-type": machine["instanceType"],
            "placement/region": machine["region"],
            "placement/availability-zone": machine["region"] + "a",
            "ami-id": "ami-twin00000000000000",
        }
        # Instance-role credentials, as botocore's IMDS provider reads them. Fake:
        # the twin's EC2 endpoint checks who calls by source IP instead.
        creds = "iam/security-credentials/"
        meta[creds] = ROLE
        meta[creds + ROLE] = json.dumps({
            "Code": "Success", "Type": "AWS-HMAC", "AccessKeyId": "ASIATWIN00000000",
            "SecretAccessKey": "twin-secret", "Token": "twin-token",
            "LastUpdated": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "Expiration": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 6 * 3600)),
        })
        if self.path == "/latest/user-data":
            # The machine's user data as EC2 has it now: a deploy that changes UserData stops the
            # instance, sets it and starts it again (Twin.replaceUserData rewrites the file).
            try:
                with open(machine["userDataFile"], "rb") as f:
                    data = f.read()
            except (KeyError, OSError):
                return self._reply(404)
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        path = self.path.removeprefix("/latest/meta-data/")
        if self.path == "/latest/meta-data/" or self.path == "/latest/meta-data":
            return self._reply(200, "\n".join(sorted(k.split("/")[0] for k in meta)))
        if self.path.startswith("/latest/meta-data/") and path in meta:
            return self._reply(200, meta[path])
        self._reply(404)


ROLE = "dasklab-twin-instance-role"


class Ec2Handler(Quiet, BaseHTTPRequestHandler):
    """The AWS endpoint of the machines (DASKLAB_AWS_ENDPOINT_URL), for what the bootstrap
    calls as its instance role permits: EC2 CreateTags of the dasklab:bootstrap and
    dasklab:jupyter tags on the caller's own instance (lib/machine/instance-role.ts), and the SSM Parameter Store actions its role allows below a
    parameter path (forwarded to moto): reads and writes for a scheduler, reads for a worker.
    Anything else is refused as IAM would."""

    service = "ec2"
    tag_keys = {"dasklab:bootstrap", "dasklab:jupyter"}

    def _xml(self, status, body):
        data = f'<?xml version="1.0" encoding="UTF-8"?>\n{body}'.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/xml")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status, code, message):
        self._xml(status, f"<Response><Errors><Error><Code>{code}</Code><Message>{message}</Message>"
                          f"</Error></Errors><RequestID>twin</RequestID></Response>")

    def _json_error(self, status, code, message):
        data = json.dumps({"__type": code, "message": message}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/x-amz-json-1.1")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _ssm(self, machine, body):
        """SSM's JSON protocol (X-Amz-Target: AmazonSSM.<Action>), forwarded to moto."""
        action = self.headers["X-Amz-Target"].split(".", 1)[1]
        request = json.loads(body or b"{}")
        names = [request[k] for k in ("Name", "Path") if k in request] + list(request.get("Names", []))
        # The role's grants (instance-roles.ts): an action on a path allows it on every name below,
        # on a name on that one; each name of the request must be allowed.
        grants = (machine or {}).get("ssmGrants") or []
        covers = lambda grant, n: n == grant.get("name") or ("path" in grant and n.startswith(grant["path"] + "/"))
        allowed = all(any(action in grant["actions"] and covers(grant, n) for grant in grants) for n in names)
        if not CONFIG.get("ssmEndpoint") or not names or not allowed:
            who = machine["instanceId"] if machine else self.client_address[0]
            return self._json_error(400, "AccessDeniedException", f"{who} is not authorized to perform ssm:{action} on {names}")
        headers = {k: v for k, v in self.headers.items()
                   if k.lower() in ("content-type", "x-amz-target", "authorization", "x-amz-date", "x-amz-security-token")}
        forwarded = urllib.request.Request(CONFIG["ssmEndpoint"] + "/", data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(forwarded, timeout=30) as reply:
                status, data, kind = reply.status, reply.read(), reply.headers.get("Content-Type")
        except urllib.error.HTTPError as error:
            status, data, kind = error.code, error.read(), error.headers.get("Content-Type")
        except OSError as error:
            return self._json_error(503, "ServiceUnavailable", f"the twin's moto does not answer: {error}")
        event("ssm", client=self.client_address[0], instanceId=machine["instanceId"], action=action, names=names, status=status)
        self.send_response(status)
        self.send_header("Content-Type", kind or "application/x-amz-json-1.1")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def caller(self):
        """The calling machine's address: the request's source or, for a request from the twin's
        proxy (proxy.py, on the hub's own address), the machine it forwards for."""
        source = self.client_address[0]
        if source == CONFIG["hubIp"] and self.headers.get("X-Forwarded-For"):
            return self.headers["X-Forwarded-For"].split(",")[-1].strip()
        return source

    def _s3(self, method):
        """S3, path-style (boto3 with a custom endpoint): GET or HEAD /<bucket>/<key> of an object the
        caller's role may get (s3:GetObject on its ARN), forwarded to moto with its signature headers
        (moto answers an unsigned request for a private object 403); anything else AccessDenied."""
        machine = CONFIG["imds"].get(self.caller())
        path = urllib.parse.unquote(self.path.split("?", 1)[0]).lstrip("/")
        allowed = machine is not None and path in (machine.get("s3Objects") or []) and "?" not in self.path
        status, headers, data = 403, {"Content-Type": "application/xml"}, (
            b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>')
        if allowed and CONFIG.get("s3Endpoint"):
            forwarded = urllib.request.Request(CONFIG["s3Endpoint"] + "/" + urllib.parse.quote(path), method=method,
                                               headers={k: v for k, v in self.headers.items()
                                                        if k.lower() in ("range", "if-match", "authorization", "x-amz-date",
                                                                         "x-amz-content-sha256", "x-amz-security-token")})
            try:
                with urllib.request.urlopen(forwarded, timeout=60) as reply:
                    status, headers, data = reply.status, dict(reply.headers), reply.read()
            except urllib.error.HTTPError as error:
                status, headers, data = error.code, dict(error.headers), error.read()
            except OSError as error:
                status, headers, data = 503, {"Content-Type": "text/plain"}, f"the twin's moto does not answer: {error}".encode()
        event("s3", client=self.caller(), instanceId=(machine or {}).get("instanceId"), method=method, object=path, status=status)
        self.send_response(status)
        for key, value in headers.items():
            if key.lower() in ("content-type", "content-range", "etag", "last-modified", "accept-ranges", "content-length"):
                self.send_header(key, value)
        if not any(k.lower() == "content-length" for k in headers):
            self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if method == "GET":
            self.wfile.write(data)

    def do_GET(self):
        self._s3("GET")

    def do_HEAD(self):
        self._s3("HEAD")

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        machine = CONFIG["imds"].get(self.caller())
        if self.headers.get("X-Amz-Target", "").startswith("AmazonSSM."):
            return self._ssm(machine, body)
        form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
        if form.get("Action") != "CreateTags" or machine is None:
            return self._error(403, "UnauthorizedOperation", f"the twin's instance role does not allow {form.get('Action')}")
        resources = [v for k, v in form.items() if k.startswith("ResourceId.")]
        tags = {form[k]: form.get(k[:-3] + "Value", "") for k in form if k.startswith("Tag.") and k.endswith(".Key")}
        if resources != [machine["instanceId"]] or not tags or not set(tags) <= self.tag_keys:
            return self._error(403, "UnauthorizedOperation",
                               f"{machine['instanceId']} may tag only itself and only {', '.join(sorted(self.tag_keys))}")
        event("tags", client=self.client_address[0], instanceId=machine["instanceId"], tags=tags)
        self._xml(200, '<CreateTagsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">'
                       "<requestId>twin</requestId><return>true</return></CreateTagsResponse>")


def serve(name, handler, host, port):
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name=name, daemon=True).start()
    event("listening", service=name, host=host, port=port)
    return server


def main():
    hub, ports = CONFIG["hubIp"], CONFIG["ports"]
    StaticHandler.window = FaultWindow("apt")
    PipHandler.window = FaultWindow("pip")
    serve("apt", functools.partial(StaticHandler, directory=CONFIG["aptDir"]), hub, ports["apt"])
    serve("signal", SignalHandler, hub, ports["signal"])
    serve("imds", ImdsHandler, CONFIG["imdsIp"], ports["imds"])
    serve("ec2", Ec2Handler, hub, ports["ec2"])

    pip = functools.partial(PipHandler, directory=CONFIG["pipDir"])
    fault = CONFIG.get("pipFault") or {}
    if fault.get("mode") == "refused":
        # Nothing listens: connections are refused. The window starts now.
        seconds = fault.get("downForSeconds")
        if seconds is None:
            event("pip-down", mode="refused", forever=True)
        else:
            event("pip-down", mode="refused", seconds=seconds)
            threading.Timer(seconds, lambda: serve("pip", pip, hub, ports["pip"])).start()
    else:
        serve("pip", pip, hub, ports["pip"])
    event("ready")
    threading.Event().wait()


if __name__ == "__main__":
    main()
