"""A TCP proxy in front of the test PostgreSQL server that a test can cut and restore: a
deterministic outage for one desk, without stopping the server other tests share.

``cut()`` closes every forwarded connection (a desk's pooled connection dies as it would when
the server restarts or the network drops) and stops listening, so new connections are refused;
``restore()`` listens again on the same port. Only a test's own threads, all daemons, all
stopped by ``close()``.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.engine import make_url


class CuttableProxy:
    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self._lock = threading.Lock()
        self._open: list[socket.socket] = []
        self._listener: socket.socket | None = None
        self._closed = False
        self.port = 0
        self._listen()

    def _listen(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(16)
        self.port = listener.getsockname()[1]
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), name="test-pg-proxy", daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # cut() or close() closed the listener
            if listener is not self._listener:  # accepted in the moment of a cut: refused too
                _kill(client)
                return
            try:
                upstream = socket.create_connection(self.target, timeout=10)
                upstream.settimeout(None)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._open += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            _kill(s)

    def cut(self) -> None:
        """The server is gone: forwarded connections die, new ones are refused."""
        with self._lock:
            listener, self._listener = self._listener, None
            sockets, self._open = self._open, []
        if listener is not None:
            # shutdown first: close() alone does not wake a thread blocked in accept() on Linux,
            # and the kernel would go on accepting connections for it.
            _kill(listener)
        for s in sockets:
            _kill(s)

    def restore(self) -> None:
        """The server is back, at the same address."""
        if self._listener is None and not self._closed:
            self._listen()

    def close(self) -> None:
        self._closed = True
        self.cut()

    def url(self, server_url: str) -> str:
        """``server_url`` (the real server's) with host and port pointing at this proxy."""
        return make_url(server_url).set(host="127.0.0.1", port=self.port).render_as_string(hide_password=False)


def _kill(s: socket.socket) -> None:
    try:
        s.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    s.close()


@contextmanager
def proxy_for(server_url: str) -> Iterator[CuttableProxy]:
    url = make_url(server_url)
    proxy = CuttableProxy(url.host or "127.0.0.1", url.port or 5432)
    try:
        yield proxy
    finally:
        proxy.close()
