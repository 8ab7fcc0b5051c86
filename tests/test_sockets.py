"""TCP_NODELAY on the server's sockets: a listening socket switched once passes it to every connection it
accepts (Linux), so no message of a rerun waits for the browser's delayed acknowledgement."""

from __future__ import annotations

import socket
import sys

import pytest

from playground.serve import sockets

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/fd")


def nodelay(sock: socket.socket) -> int:
    return sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)


def test_the_listening_socket_and_its_future_connections_send_at_once():
    with socket.socket(socket.AF_INET) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        assert listener.proto == 0 and nodelay(listener) == 0  # made as Streamlit's server makes it
        early = socket.create_connection(listener.getsockname())
        accepted_early, _ = listener.accept()
        assert nodelay(accepted_early) == 0
        switched = sockets.no_delay()
        assert switched >= 3  # the listener, the client end and the server end of the open connection
        assert nodelay(listener) == 1 and nodelay(accepted_early) == 1 and nodelay(early) == 1
        late = socket.create_connection(listener.getsockname())
        accepted_late, _ = listener.accept()
        assert nodelay(accepted_late) == 1  # inherited from the listener
        assert nodelay(late) == 0 and sockets.no_delay() >= 1 and nodelay(late) == 1  # a new client end
        for s in (early, accepted_early, late, accepted_late):
            s.close()


def test_once_per_process():
    sockets.no_delay_once.cache_clear()
    with socket.socket(socket.AF_INET) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        sockets.no_delay_once()
        assert nodelay(listener) == 1
    with socket.socket(socket.AF_INET) as second:
        second.bind(("127.0.0.1", 0))
        second.listen()
        sockets.no_delay_once()  # cached: the router's later runs cost nothing
        assert nodelay(second) == 0
