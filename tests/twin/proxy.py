"""An HTTP(S) forward proxy for the twin's machines, run inside the hub netns.

Run by proxy.ts as `ip netns exec <hub> python3 proxy.py LISTEN_IP PORT ALLOWED` with the host's
python3 (stdlib only). ALLOWED is a comma-separated list of host:port that it forwards to, the
twin's own services; anything else is refused with 403, so nothing it carries leaves the twin's
namespaces. It speaks what apt, pip and curl send to a proxy named in http_proxy/https_proxy:

  GET/HEAD/PUT/POST http://host:port/path   forwarded (plain HTTP: the twin's index and archive)
  CONNECT host:port                          a tunnel (HTTPS), bytes copied both ways

Every request is one JSON line on stdout: {"event": "request", "client", "method", "target",
"status"}; {"event": "ready"} once it listens.
"""

import json
import select
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

LISTEN_IP, PORT = sys.argv[1], int(sys.argv[2])
ALLOWED = set(sys.argv[3].split(","))
HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "proxy-authorization", "te", "trailer", "upgrade"}
_out_lock = threading.Lock()


def event(kind, **fields):
    with _out_lock:
        print(json.dumps({"event": kind, "time": time.time(), **fields}), flush=True)


class Proxy(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 60

    def log_message(self, fmt, *args):
        pass

    def record(self, target, status):
        event("request", client=self.client_address[0], method=self.command, target=target, status=status)

    def refuse(self, target, status, why):
        self.record(target, status)
        body = f"dasklab twin proxy: {why}\n".encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        self.close_connection = True

    def do_CONNECT(self):
        target = self.path
        if target not in ALLOWED:
            return self.refuse(target, 403, f"{target} is not one of the twin's hosts")
        host, port = target.rsplit(":", 1)
        try:
            upstream = socket.create_connection((host, int(port)), timeout=10)
        except OSError as err:
            return self.refuse(target, 502, str(err))
        self.record(target, 200)
        self.send_response(200, "Connection established")
        self.end_headers()
        self.wfile.flush()
        sockets = [self.connection, upstream]
        try:
            while True:
                readable, _, _ = select.select(sockets, [], [], 60)
                if not readable:
                    break
                for s in readable:
                    data = s.recv(65536)
                    if not data:
                        return
                    (upstream if s is self.connection else self.connection).sendall(data)
        except OSError:
            pass
        finally:
            upstream.close()
            self.close_connection = True

    def forward(self):
        url = urlsplit(self.path)
        target = f"{url.hostname}:{url.port or 80}"
        if url.scheme != "http" or target not in ALLOWED:
            return self.refuse(self.path, 403, f"{self.path} is not on one of the twin's hosts")
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        path = url.path + (f"?{url.query}" if url.query else "")
        try:
            upstream = socket.create_connection((url.hostname, url.port or 80), timeout=30)
        except OSError as err:
            return self.refuse(self.path, 502, str(err))
        with upstream:
            # The twin's AWS endpoint knows a machine by its address (services.py): say whose request it is.
            headers = [f"{k}: {v}" for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP | {"x-forwarded-for"}]
            headers.append(f"X-Forwarded-For: {self.client_address[0]}")
            head = "\r\n".join([f"{self.command} {path} HTTP/1.1", *headers, "Connection: close", "", ""])
            upstream.sendall(head.encode("latin-1") + body)
            # The upstream closes after its answer (Connection: close), and so does the proxy: its
            # header says so, then the body is relayed as it comes.
            received = b""
            while b"\r\n\r\n" not in received:
                data = upstream.recv(65536)
                if not data:
                    return self.refuse(self.path, 502, "the upstream closed before its answer")
                received += data
            head, rest = received.split(b"\r\n\r\n", 1)
            lines = head.decode("latin-1").split("\r\n")
            status = int(lines[0].split(" ", 2)[1])
            self.record(self.path, status)
            kept = [line for line in lines[1:] if line.split(":", 1)[0].strip().lower() not in HOP_BY_HOP]
            self.wfile.write("\r\n".join([lines[0], *kept, "Connection: close", "", ""]).encode("latin-1"))
            self.wfile.write(rest)
            while data := upstream.recv(65536):
                self.wfile.write(data)
        self.close_connection = True

    do_GET = do_HEAD = do_PUT = do_POST = forward


def main():
    server = ThreadingHTTPServer((LISTEN_IP, PORT), Proxy)
    server.daemon_threads = True
    event("ready")
    server.serve_forever()


if __name__ == "__main__":
    main()
