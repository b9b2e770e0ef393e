"""A lean stand-in for the Wooxy API: answers every POST with a fresh sms_id after a fixed latency
(``/v3/sms/info``: every id asked for as delivered).

Raw asyncio (HTTP/1.1 keep-alive, Content-Length bodies, no pipelining needed): it does as
little as possible so that what the benchmark measures is the client. It runs in its own process:

    python -m benchmarks.server --latency-ms 20 [--port 0]

and prints ``listening on PORT`` once ready; it counts the peak number of requests it held at
once and prints ``peak N`` on SIGTERM/SIGINT before exiting.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import signal
import sys

_counter = itertools.count(0x5D91513FD132D5F462796870)


class _Stats:
    open_requests = 0
    peak = 0


class _Api(asyncio.Protocol):
    """One connection: parse requests, answer each after the latency."""

    def __init__(self, latency_s: float) -> None:
        self.latency_s = latency_s
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            length = _content_length(self.buffer[:end])
            if len(self.buffer) < end + 4 + length:
                return
            info = self.buffer[: self.buffer.find(b"\r\n")].split(b" ")[1].endswith(b"/sms/info")
            body = self.buffer[end + 4 : end + 4 + length] if info else None
            self.buffer = self.buffer[end + 4 + length :]
            _Stats.open_requests += 1
            _Stats.peak = max(_Stats.peak, _Stats.open_requests)
            asyncio.get_running_loop().call_later(self.latency_s, self.answer, body)

    def answer(self, info: bytes | None) -> None:
        _Stats.open_requests -= 1
        if self.transport is None or self.transport.is_closing():
            return
        if info is None:
            body = b'{"result":true,"sms_id":"%024x"}' % next(_counter)
        else:
            body = _statuses(json.loads(info)["ids"])
        self.transport.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
            % (len(body), body)
        )


def _statuses(ids: list[str]) -> bytes:
    """A ``/v3/sms/info`` answer with every id delivered."""
    data = {
        i: {"id": i, "status": "delivered", "createdAt": "2026-12-01 09:00:00", "text": "Hi"}
        for i in ids
    }
    return json.dumps({"result": True, "data": data, "errors": []}).encode()


def _content_length(head: bytes) -> int:
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value)
    return 0


async def serve(latency_s: float, host: str, port: int) -> None:
    """Serve until SIGTERM or SIGINT; print the port when ready and the peak at the end."""
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: _Api(latency_s), host, port, backlog=128)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print(f"listening on {server.sockets[0].getsockname()[1]}", flush=True)
    async with server:
        await stop.wait()
    print(f"peak {_Stats.peak}", flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    asyncio.run(serve(args.latency_ms / 1000, args.host, args.port))
    sys.exit(0)


if __name__ == "__main__":
    main()
