"""An independent TLS peer for the TLS tests (Python's ssl module).

  tls_peer.py server CERT KEY      echoes lines over TLS; prints port=N
  tls_peer.py client PORT CAFILE   sends "ping" over TLS to localhost:PORT,
                                   prints the answer and the TLS version
"""
import socket
import ssl
import sys
import threading


def serve(cert, key):
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    ctx.set_alpn_protocols(["echo/1"])
    lsock = socket.create_server(("127.0.0.1", 0))
    print("port=%d" % lsock.getsockname()[1], flush=True)

    def handle(conn):
        try:
            with ctx.wrap_socket(conn, server_side=True) as tls:
                f = tls.makefile("rwb")
                for line in f:
                    f.write(b"python: " + line)
                    f.flush()
        except (ssl.SSLError, OSError):
            pass

    while True:
        conn, _ = lsock.accept()
        threading.Thread(target=handle, args=(conn,), daemon=True).start()


def client(port, cafile):
    ctx = ssl.create_default_context(cafile=cafile)
    with socket.create_connection(("127.0.0.1", port)) as raw:
        with ctx.wrap_socket(raw, server_hostname="localhost") as tls:
            tls.sendall(b"ping\n")
            f = tls.makefile("rb")
            print(f.readline().decode().strip(), tls.version())


if __name__ == "__main__":
    if sys.argv[1] == "server":
        serve(sys.argv[2], sys.argv[3])
    else:
        client(int(sys.argv[2]), sys.argv[3])
