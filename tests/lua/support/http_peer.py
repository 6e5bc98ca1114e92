"""An independent HTTP/1.1 server for the HTTP client's tests: Python's
http.server, with keep-alive. Prints port=N, then serves until killed.

  /gzip?n=N       N bytes of text, gzip-compressed (Content-Encoding: gzip)
  /chunked        a chunked body of three chunks
  /redirect/N     302 to /redirect/N-1; /redirect/0 answers "arrived"
  /see-other      (POST) 303 to /json
  /json           {"name": "alua", "list": [1, 2, 3], "nothing": null}
  /echo           (POST, PUT) the request's method, content type and body
  /headers        the request's headers as JSON
  /cookies        two Set-Cookie fields
  /reset          resets the connection (RST) instead of answering
  /connection     the client's port (shows whether connections are reused)
"""
import gzip
import json
import socket
import struct
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def send(self, status, body, ctype="text/plain", extra=()):
        if isinstance(body, str):
            body = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def do_GET(self):
        path, _, query = self.path.partition("?")
        if path == "/gzip":
            n = int(query.split("=")[1]) if query else 1000
            data = b"".join(b"line %06d of gzip\n" % i for i in range(n // 20 + 1))[:n]
            self.send(200, gzip.compress(data), extra=[("Content-Encoding", "gzip")])
        elif path == "/chunked":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for part in (b"first,", b"second,", b"third"):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
            self.wfile.write(b"0\r\n\r\n")
        elif path.startswith("/redirect/"):
            n = int(path.rsplit("/", 1)[1])
            if n == 0:
                self.send(200, "arrived")
            else:
                self.send(302, "", extra=[("Location", "/redirect/%d" % (n - 1))])
        elif path == "/json":
            self.send(200, json.dumps({"name": "alua", "list": [1, 2, 3], "nothing": None}), "application/json")
        elif path == "/headers":
            self.send(200, json.dumps({k.lower(): v for k, v in self.headers.items()}), "application/json")
        elif path == "/cookies":
            self.send(200, "cookies", extra=[("Set-Cookie", "a=1"), ("Set-Cookie", "b=2")])
        elif path == "/reset":
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
            self.close_connection = True
        elif path == "/connection":
            self.send(200, str(self.client_address[1]))
        else:
            self.send(404, "not found")

    def do_HEAD(self):
        self.send(200, "x" * 1234)

    def do_POST(self):
        if self.path == "/see-other":
            self.body()
            self.send(303, "", extra=[("Location", "/json")])
            return
        self.echo()

    def do_PUT(self):
        self.echo()

    def echo(self):
        data = self.body()
        ctype = self.headers.get("Content-Type", "-")
        self.send(200, b"%s %s %d:" % (self.command.encode(), ctype.encode(), len(data)) + data)


if __name__ == "__main__":
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    print("port=%d" % server.server_address[1], flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    sys.exit(0)
