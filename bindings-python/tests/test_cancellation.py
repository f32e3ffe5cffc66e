"""Ctrl-C and asyncio cancellation reach the Rust side: the request is dropped, which
closes its connection (observed by a loopback server that never answers)."""

import asyncio
import os
import signal
import socket
import threading
import time

import pytest

import shopify_sync


class SilentServer:
    """Accepts connections, reads the request, never answers; records each close."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.endpoint = "http://127.0.0.1:%d" % self.sock.getsockname()[1]
        self.requested = threading.Event()
        self.closed = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        conn, _ = self.sock.accept()
        with conn:
            while True:
                data = conn.recv(65536)
                if not data:
                    self.closed.set()
                    return
                self.requested.set()

    def client(self):
        return shopify_sync.ShopifyClient(
            endpoint=self.endpoint, shop="silent.myshopify.com", access_token="t",
            max_attempts=1, request_timeout=30,
        )


@pytest.mark.skipif(not hasattr(signal, "SIGINT") or os.name != "posix", reason="posix signals")
def test_ctrl_c_interrupts_a_blocking_call():
    server = SilentServer()
    client = server.client()
    def interrupt():
        # Once the request is out (a debug build validates the document slowly).
        server.requested.wait(10)
        time.sleep(0.1)
        os.kill(os.getpid(), signal.SIGINT)

    timer = threading.Thread(target=interrupt, daemon=True)
    start = time.monotonic()
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        client.graphql("{ shop { name } }")
    assert time.monotonic() - start < 10
    assert server.requested.is_set()
    assert server.closed.wait(5), "the request was not dropped on the Rust side"


def test_cancelling_the_future_drops_the_request():
    server = SilentServer()
    client = server.client()

    async def main():
        fut = client.graphql_async("{ shop { name } }")
        await asyncio.sleep(0.3)
        fut.cancel()
        with pytest.raises(asyncio.CancelledError):
            await fut

    asyncio.run(main())
    assert server.requested.is_set()
    assert server.closed.wait(5), "the request was not dropped on the Rust side"


def test_a_timeout_is_a_timeout_error():
    server = SilentServer()
    client = shopify_sync.ShopifyClient(
        endpoint=server.endpoint, access_token="t", max_attempts=1, request_timeout=0.3
    )
    with pytest.raises(shopify_sync.ShopifyTimeoutError) as info:
        client.graphql("{ shop { name } }")
    assert not isinstance(info.value, TimeoutError)
