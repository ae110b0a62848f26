"""A minimal Socket Mode endpoint: a WebSocket server (RFC 6455, no TLS) on 127.0.0.1 that
sends Slack's `hello` and envelopes, and records the app's acknowledgements. Several apps (or
replicas of one) may connect; an envelope goes to the connection a test names, as Slack picks
one of an app's connections for each envelope.

Point the fake Web API at it (``FakeSlack.socket_url = server.url``) so ``apps.connections.open``
hands its URL to the app, as Slack does.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import socket
import struct
import threading
import uuid
from typing import Any

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


class FakeSocketMode:
    def __init__(self) -> None:
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port = self._server.getsockname()[1]
        self.url = f"ws://127.0.0.1:{self.port}/link/?ticket=test"
        self.acks: list[dict[str, Any]] = []
        self._clients: list[socket.socket] = []
        self._changed = threading.Condition()
        self._send_lock = threading.Lock()
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    # -- for tests -----------------------------------------------------------------------------
    def wait_connected(self, timeout: float = 30.0, count: int = 1) -> None:
        """Wait until `count` connections are open."""
        with self._changed:
            if not self._changed.wait_for(lambda: len(self._clients) >= count, timeout):
                raise AssertionError(f"{len(self._clients)} of {count} Socket Mode connections "
                                     "were opened")

    def send_envelope(self, kind: str, payload: dict[str, Any], *, to: int = -1,
                      retry_attempt: int = 0) -> str:
        """Send an envelope (kind: events_api, slash_commands, interactive) on connection `to`
        (in the order they were opened; the newest by default); its id. `retry_attempt` > 0
        is Slack's redelivery of an envelope that was not acknowledged in time."""
        envelope_id = str(uuid.uuid4())
        self._send({"envelope_id": envelope_id, "type": kind, "payload": payload,
                    "accepts_response_payload": kind != "events_api",
                    "retry_attempt": retry_attempt,
                    "retry_reason": "timeout" if retry_attempt else ""}, client=self._clients[to])
        return envelope_id

    def wait_ack(self, envelope_id: str, timeout: float = 10.0) -> dict[str, Any]:
        with self._changed:
            found = self._changed.wait_for(
                lambda: any(a.get("envelope_id") == envelope_id for a in self.acks), timeout)
            if not found:
                raise AssertionError(f"no ack for envelope {envelope_id}; acks: {self.acks}")
            return next(a for a in self.acks if a.get("envelope_id") == envelope_id)

    def close(self) -> None:
        self._closed = True
        for sock in (*self._clients, self._server):
            with contextlib.suppress(OSError):
                sock.close()

    # -- the protocol --------------------------------------------------------------------------
    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            if self._handshake(client):
                self._send({"type": "hello", "num_connections": len(self._clients) + 1,
                            "connection_info": {"app_id": "A1"},
                            "debug_info": {"host": "fake", "approximate_connection_time": 3600}},
                           client=client)
                with self._changed:
                    self._clients.append(client)
                    self._changed.notify_all()
                threading.Thread(target=self._read, args=(client,), daemon=True).start()

    def _handshake(self, client: socket.socket) -> bool:
        request = b""
        while b"\r\n\r\n" not in request:
            chunk = client.recv(4096)
            if not chunk:
                return False
            request += chunk
        headers = {}
        for line in request.decode("latin-1").split("\r\n")[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        accept = base64.b64encode(hashlib.sha1(
            (headers["sec-websocket-key"] + GUID).encode()).digest()).decode()
        client.sendall((
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Accept: {accept}\r\n\r\n").encode())
        return True

    def _send(self, message: dict[str, Any], opcode: int = 0x1,
              client: socket.socket | None = None) -> None:
        data = json.dumps(message).encode() if opcode == 0x1 else b""
        self._frame(opcode, data, client if client is not None else self._clients[-1])

    def _frame(self, opcode: int, data: bytes, client: socket.socket) -> None:
        header = bytes([0x80 | opcode])
        if len(data) < 126:
            header += bytes([len(data)])
        elif len(data) < 65536:
            header += bytes([126]) + struct.pack("!H", len(data))
        else:
            header += bytes([127]) + struct.pack("!Q", len(data))
        with self._send_lock:
            client.sendall(header + data)

    def _read(self, client: socket.socket) -> None:
        try:
            while not self._closed:
                first, second = self._exactly(client, 2)
                opcode, length = first & 0x0F, second & 0x7F
                if length == 126:
                    length = struct.unpack("!H", self._exactly(client, 2))[0]
                elif length == 127:
                    length = struct.unpack("!Q", self._exactly(client, 8))[0]
                mask = self._exactly(client, 4) if second & 0x80 else b"\0\0\0\0"
                data = bytes(b ^ mask[i % 4] for i, b in enumerate(self._exactly(client, length)))
                if opcode == 0x9:  # ping
                    self._frame(0xA, data, client)
                elif opcode == 0x8:  # close
                    return
                elif opcode == 0x1:
                    with self._changed:
                        self.acks.append(json.loads(data))
                        self._changed.notify_all()
        except (OSError, ConnectionError):
            return

    @staticmethod
    def _exactly(client: socket.socket, count: int) -> bytes:
        data = b""
        while len(data) < count:
            chunk = client.recv(count - len(data))
            if not chunk:
                raise ConnectionError("closed")
            data += chunk
        return data
