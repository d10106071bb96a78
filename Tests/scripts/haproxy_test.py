"""Two gateways behind HAProxy with docs/deploy/haproxy.cfg, all real processes on 127.0.0.1.

200 WebSocket clients and 100 Server-Sent Events clients connect through the balancer and are
spread over both gateways. The
producer stops: both gateways keep serving the last snapshot (feed stale), HAProxy's checks
of /readyz keep passing, and no client is cut; the producer returns and every client gets its
snapshots on the connection it had. Then one gateway is stopped (SIGTERM): its clients are
closed with 1001 (an event stream ends with its last chunk), reconnect through the balancer,
and every client is receiving snapshots again from the other gateway within 10 s.
Every wait has a deadline; every process is stopped on every path.
"""

import asyncio
import base64
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "browser"))
from harness import ROOT, Stack  # noqa: E402

WEBSOCKET_CLIENTS = 200
SSE_CLIENTS = 100
CLIENTS = WEBSOCKET_CLIENTS + SSE_CLIENTS
RECOVERY_S = 10


def haproxy_path():
    for candidate in (os.environ.get("ROLLCAST_HAPROXY"), str(ROOT / ".build-tools" / "haproxy"), shutil.which("haproxy")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    raise SystemExit("haproxy not found: run ./run.sh setup (it puts one in .build-tools/), or set ROLLCAST_HAPROXY")


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Client:
    """A WebSocket or SSE client that reconnects through the balancer whenever its connection ends."""

    def __init__(self, index, port, sse=False):
        self.index = index
        self.port = port
        self.sse = sse
        self.received = []  # (monotonic time, seq, which of its connections: 1, 2, …)
        self.latest = {}  # symbol: (run_id, seq) of the last message
        self.connections = 0

    async def run(self, stop):
        while not stop.is_set():
            try:
                await self.session(stop)
            except (OSError, asyncio.IncompleteReadError, ConnectionError):
                pass
            if not stop.is_set():
                await asyncio.sleep(0.2)

    async def session(self, stop):
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        try:
            if not await (open_event_stream if self.sse else upgrade)(reader, writer, self.port):
                return
            self.connections += 1
            events = EventStream(reader)
            while not stop.is_set():
                text = await (events.next_data() if self.sse else next_text(reader, writer))
                if text is None:  # closed, or the stream ended
                    return
                charts = json.loads(text)
                if charts:
                    self.received.append((time.monotonic(), charts[0]["seq"], self.connections))
                    # Each chart's producer run and seq: with several producers they differ.
                    self.latest = {chart["symbol"]: (chart["run_id"], chart["seq"]) for chart in charts}
        finally:
            writer.close()


async def upgrade(reader, writer, port):
    """Sends the WebSocket upgrade for /ws/realtime_charts; whether the answer was 101."""
    key = base64.b64encode(os.urandom(16)).decode()
    writer.write((f"GET /ws/realtime_charts HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
                  f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    return b" 101 " in head.split(b"\r\n", 1)[0]


async def open_event_stream(reader, writer, port):
    """Sends GET /sse/realtime_charts; whether the answer was 200 (a chunked event stream)."""
    writer.write(f"GET /sse/realtime_charts HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAccept: text/event-stream\r\n\r\n".encode())
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    return b" 200 " in head.split(b"\r\n", 1)[0] and b"transfer-encoding: chunked" in head.lower()


class EventStream:
    """The events of a chunked text/event-stream body, as docs/protocol.md describes them."""

    def __init__(self, reader):
        self.reader = reader
        self.pending = b""

    async def next_data(self):
        """The next event's data; None once the stream ends (its last chunk)."""
        while b"\n\n" not in self.pending:
            size = int((await self.reader.readuntil(b"\r\n")).strip(), 16)
            if size == 0:
                return None
            self.pending += (await self.reader.readexactly(size + 2))[:-2]
        block, self.pending = self.pending.split(b"\n\n", 1)
        data = [line[6:] for line in block.split(b"\n") if line.startswith(b"data: ")]
        return b"\n".join(data) if data else await self.next_data()


async def next_text(reader, writer, timeout=None):
    """The next text message's bytes, answering pings on the way; None once the server closes.
    With `timeout`, a frame that does not start within it raises (a stopped server)."""
    while True:
        first, second = await asyncio.wait_for(reader.readexactly(2), timeout)
        length = second & 0x7F
        if length == 126:
            length = int.from_bytes(await reader.readexactly(2), "big")
        elif length == 127:
            length = int.from_bytes(await reader.readexactly(8), "big")
        payload = await reader.readexactly(length)
        opcode = first & 0x0F
        if opcode == 0x8:
            return None
        if opcode == 0x9:  # ping: answer with a masked pong
            mask = os.urandom(4)
            writer.write(bytes([0x8A, 0x80 | len(payload)]) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))
            continue
        if opcode == 0x1:
            return payload


async def until(condition, timeout, what):
    """Polls `condition` every 50 ms; raises after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        await asyncio.sleep(0.05)
    raise TimeoutError(f"timed out after {timeout} s waiting for {what}")


async def with_clients(port, body):
    """Runs `body(clients)` with CLIENTS reconnecting clients of `port`; stops them on every path."""
    stop = asyncio.Event()
    clients = [Client(i, port, sse=i >= WEBSOCKET_CLIENTS) for i in range(CLIENTS)]
    tasks = [asyncio.create_task(client.run(stop)) for client in clients]
    try:
        await body(clients)
    finally:
        stop.set()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def start_balancer(logs, gateway_ports):
    """HAProxy with docs/deploy/haproxy.cfg in front of two gateways: the process and its port."""
    port = free_port()
    environment = dict(os.environ, ROLLCAST_LB_BIND=f"127.0.0.1:{port}",
                       ROLLCAST_GATEWAY_1=f"127.0.0.1:{gateway_ports[0]}", ROLLCAST_GATEWAY_2=f"127.0.0.1:{gateway_ports[1]}")
    log = open(logs / "haproxy.log", "ab")
    process = subprocess.Popen([haproxy_path(), "-db", "-f", str(ROOT / "docs" / "deploy" / "haproxy.cfg")],
                               env=environment, stdout=log, stderr=subprocess.STDOUT)
    return process, port


def receiving_since(clients, moment):
    return all(client.received and client.received[-1][0] > moment for client in clients)


def recovery_after(clients, moment):
    """Seconds from `moment` until the last client had a message on the connection it holds now:
    for a client that reconnected, its first message through the other gateway."""
    return max(min(t for t, _, connection in client.received if t > moment and connection == client.connections) for client in clients) - moment


def feed_of(port):
    """The feed's state as the gateway's /api/status says it (not /readyz: HAProxy's checks are counted there)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status", timeout=5) as answer:
        return json.loads(answer.read())["feed"]


def passed_checks(port):
    """How many /readyz requests the gateway answered 200: HAProxy's health checks."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as answer:
        for line in answer.read().decode().splitlines():
            if line.startswith('rollcast_gateway_http_requests_total{route="/readyz",status="200"} '):
                return float(line.rsplit(" ", 1)[1])
    return 0.0


def clients_of(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status", timeout=5) as answer:
        return json.loads(answer.read())["clients"]


async def scenario(stack, second_port, balancer_port):
    async def run(clients):
        await until(lambda: all(client.received for client in clients), 20, f"all {CLIENTS} clients to receive a snapshot")
        spread = (clients_of(stack.port), clients_of(second_port))
        print(f"  spread over the two gateways: {spread[0]} and {spread[1]}")
        assert min(spread) >= CLIENTS // 4, f"the balancer did not spread the clients: {spread}"

        # The producer stops: serving is not the feed. Both gateways hold the last snapshot and
        # stay ready, so HAProxy keeps them in and cuts no browser.
        ports = (stack.port, second_port)
        Stack.stop(stack.producer)
        await until(lambda: all(feed_of(port) == "stale" for port in ports), 10, "both gateways to report the feed stale")
        checks = [passed_checks(port) for port in ports]
        # Three passed checks on each while stale: two failed ones would have marked it down.
        await until(lambda: all(passed_checks(port) >= before + 3 for port, before in zip(ports, checks)), 10,
                    "three passed health checks on each gateway while the feed is stale")
        cut = [client.index for client in clients if client.connections != 1]
        assert not cut, f"{len(cut)} clients were cut while the producer was stopped"
        restarted = time.monotonic()
        stack.start_producer()
        await until(lambda: receiving_since(clients, restarted), RECOVERY_S, "every client receiving the returned producer's snapshots")
        assert all(client.connections == 1 for client in clients), "clients reconnected to get the returned producer's snapshots"
        print(f"  producer stopped and back: no client cut, every client moving again after {recovery_after(clients, restarted):.2f} s")

        stopped_at = time.monotonic()
        # Stopped from another thread: the clients keep reading (and answering the close
        # handshake) while the gateway shuts down, as real ones would.
        await asyncio.to_thread(Stack.stop, stack.gateway)
        # What the stopping gateway still relayed does not count: only messages after it was gone.
        gone = time.monotonic()
        await until(lambda: receiving_since(clients, gone), RECOVERY_S, f"every client receiving again within {RECOVERY_S} s of the stop")
        recovery = recovery_after(clients, stopped_at)
        moved = sum(1 for client in clients if client.connections > 1)
        moved_sse = sum(1 for client in clients if client.sse and client.connections > 1)
        print(f"  gateway 1 stopped: {moved} clients reconnected ({moved_sse} of them SSE); the last client received again after {recovery:.2f} s")
        assert clients_of(second_port) == CLIENTS, "not every client is on the remaining gateway"
        assert moved >= CLIENTS // 4, f"only {moved} clients reconnected"
        assert moved_sse >= SSE_CLIENTS // 4, f"only {moved_sse} SSE clients reconnected"

    await with_clients(balancer_port, run)


def main():
    haproxy_path()  # fails early, with how to get one
    stack = Stack(producer_args=["--mock-symbols", "LB1,LB2"], interval=0.5)
    balancer = second_gateway = None
    failed = False
    try:
        stack.start_producer()
        stack.start_gateway()
        # A second gateway on the same producer.
        second_gateway, second_port = stack.spawn_gateway("gateway-2")
        stack.wait_ready()
        stack.wait_ready(port=second_port)
        balancer, balancer_port = start_balancer(stack.logs, (stack.port, second_port))
        stack.wait_ready(port=balancer_port)
        asyncio.run(asyncio.wait_for(scenario(stack, second_port, balancer_port), 90))
    except Exception as error:
        failed = True
        print(f"  FAIL  {error!r}")
        for log in sorted(stack.logs.glob("*.log")):
            print(f"--- {log.name} (last lines)")
            print("\n".join(log.read_text(errors="replace").splitlines()[-15:]))
    finally:
        Stack.stop(balancer)
        Stack.stop(second_gateway)
        stack.close()
    print(f"haproxy: {'failed' if failed else 'ok'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
