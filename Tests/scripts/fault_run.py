"""Faults under load, with the books kept: no single failure may cut the clients off or lose
an acknowledged tick.

Two brokers, two producers with --data-dir ("east", "west"), two gateways subscribed to both
brokers, HAProxy (docs/deploy/haproxy.cfg) in front; WebSocket clients through HAProxy that
reconnect whenever their connection ends; an ingest client that posts batches with a
batch_id at a steady rate through HAProxy and retries a batch until it gets 200. Every few
seconds a random fault: SIGKILL or SIGSTOP (a few seconds) of any one process, HAProxy
included; a broker and a gateway at once; a producer restarted twice in a row.

At the end it prints the books and fails when an acknowledged tick is missing, a tick was
applied twice, or a client saw a chart go back in time within one producer run.

    python3 Tests/scripts/fault_run.py                       # short form (about 60 s), run by ./run.sh test
    python3 Tests/scripts/fault_run.py --seconds 600 --clients 1000 --seed 7   # the long form of docs/reliability.md

All processes listen on 127.0.0.1 and are stopped on every path; every wait has a deadline.
"""

import argparse
import asyncio
import json
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "browser"))
from harness import ROOT, bin_dir, wait_for  # noqa: E402
from haproxy_test import haproxy_path, next_text, upgrade  # noqa: E402

INTERVAL = 0.5
TICKS_PER_BATCH = 10


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Fleet:
    """Every process of the run by name, each started again with the same arguments (and port)."""

    def __init__(self, root):
        self.root = root
        self.bin = bin_dir()
        self.logs = root / "logs"
        self.logs.mkdir(parents=True)
        self.processes = {}
        self.commands = {}
        self.environments = {}
        self.gateway_ports = {"gateway-1": free_port(), "gateway-2": free_port()}
        self.balancer_port = free_port()

    def endpoint(self, broker, side):
        return f"ipc://{self.root}/{broker}/{side}.sock"

    def define(self):
        for broker in ("broker-a", "broker-b"):
            (self.root / broker).mkdir()
            self.commands[broker] = [str(self.bin / "rollcast-broker"), "--run-dir", str(self.root / broker),
                                     "--producer-endpoint", self.endpoint(broker, "in"), "--gateway-endpoint", self.endpoint(broker, "out")]
        for producer, symbols in (("east", "E1"), ("west", "W1")):
            (self.root / producer / "data").mkdir(parents=True)
            self.commands[producer] = [
                str(self.bin / "rollcast-producer"), "--run-dir", str(self.root / producer), "--name", producer,
                "--broker", self.endpoint("broker-a", "in"), "--broker", self.endpoint("broker-b", "in"),
                # A window over the whole run keeps every ING tick; snapshots keep their default
                # 1,000 points a chart (the books read the full windows once the run is over).
                "--interval", str(INTERVAL), "--window", "30m", "--mock-rate", "1", "--mock-symbols", symbols,
                "--data-dir", str(self.root / producer / "data"),
            ]
        for gateway, control in (("gateway-1", "east"), ("gateway-2", "west")):
            (self.root / gateway).mkdir()
            self.commands[gateway] = [
                str(self.bin / "rollcast-gateway"), "--run-dir", str(self.root / gateway), "--port", str(self.gateway_ports[gateway]),
                "--web-root", str(ROOT / "web"),
                "--snapshot-endpoint", self.endpoint("broker-a", "out"), "--snapshot-endpoint", self.endpoint("broker-b", "out"),
                "--control-endpoint", f"ipc://{self.root}/{control}/control.sock",
            ]
        self.commands["haproxy"] = [haproxy_path(), "-db", "-f", str(ROOT / "docs" / "deploy" / "haproxy.cfg")]
        self.environments["haproxy"] = dict(os.environ, ROLLCAST_LB_BIND=f"127.0.0.1:{self.balancer_port}",
                                            ROLLCAST_GATEWAY_1=f"127.0.0.1:{self.gateway_ports['gateway-1']}",
                                            ROLLCAST_GATEWAY_2=f"127.0.0.1:{self.gateway_ports['gateway-2']}")

    def start(self, name):
        log = open(self.logs / f"{name}.log", "ab")
        self.processes[name] = subprocess.Popen(self.commands[name], stdout=log, stderr=subprocess.STDOUT, cwd=ROOT,
                                                env=self.environments.get(name))

    def signal(self, name, number):
        process = self.processes.get(name)
        if process and process.poll() is None:
            process.send_signal(number)

    def kill(self, name):
        process = self.processes.get(name)
        if process and process.poll() is None:
            process.send_signal(signal.SIGCONT)
            process.kill()
            process.wait(5)

    def restart(self, name):
        self.kill(name)
        self.start(name)

    def stop_all(self):
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGCONT)
                process.terminate()
        for process in self.processes.values():
            try:
                process.wait(5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)

    def usage(self):
        """RSS (KiB) and open descriptors of every running process."""
        result = {}
        for name, process in sorted(self.processes.items()):
            try:
                rss = int(next(line for line in open(f"/proc/{process.pid}/status") if line.startswith("VmRSS")).split()[1])
                result[name] = (rss, len(os.listdir(f"/proc/{process.pid}/fd")))
            except (OSError, StopIteration):
                result[name] = None
        return result


def sources(port):
    """The producers whose charts the gateway's snapshot holds, by name."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status", timeout=2) as answer:
            return {source["name"] for source in json.loads(answer.read()).get("sources", [])}
    except (OSError, urllib.error.URLError, ValueError):
        return set()


def ready(port):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as answer:
            return answer.status == 200
    except (OSError, urllib.error.URLError):
        return False


class Client:
    """A WebSocket client through the balancer that reconnects whenever its connection ends,
    and keeps what it saw: arrival times, and each (symbol, run)'s last time."""

    def __init__(self, port, checks):
        self.port = port
        # Reading every message's JSON in Python for every client would measure Python: one
        # client in ten checks the charts' times, the rest note arrivals only.
        self.checks = checks
        self.arrivals = []
        self.latest = {}  # (symbol, run_id): last t
        self.backwards = []
        self.connections = 0

    async def run(self, stop):
        while not stop.is_set():
            try:
                await self.session(stop)
            except (OSError, asyncio.IncompleteReadError, ConnectionError, ValueError):
                pass
            if not stop.is_set():
                await asyncio.sleep(0.2 + random.random() * 0.3)

    async def session(self, stop):
        reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", self.port), 5)
        try:
            if not await asyncio.wait_for(upgrade(reader, writer, self.port), 5):
                return
            self.connections += 1
            while not stop.is_set():
                # A gateway stopped mid-frame must not hold the client: 10 s is 20 intervals.
                text = await next_text(reader, writer, timeout=10)
                if text is None:
                    return
                self.arrivals.append(time.monotonic())
                if not self.checks:
                    continue
                for chart in json.loads(text):
                    if not chart["t"]:
                        continue
                    key = (chart["symbol"], chart["run_id"])
                    last = chart["t"][-1]
                    if key in self.latest and last < self.latest[key]:
                        self.backwards.append((key, self.latest[key], last))
                    self.latest[key] = max(last, self.latest.get(key, last))
        finally:
            writer.close()

    def longest_silence(self, start, end):
        times = [start] + [t for t in self.arrivals if start <= t <= end] + [end]
        return max(b - a for a, b in zip(times, times[1:]))


class Ingest:
    """Posts batches of ING ticks through the balancer at a steady rate; a batch that does not
    get 200 is sent again, same id, until it does (or the run ends)."""

    def __init__(self, port, rate):
        self.port = port
        self.rate = rate
        self.acknowledged = {}  # batch number: [t, …]
        self.retries = 0
        self.answers = {}

    def post(self, number, times):
        ticks = [{"symbol": "ING", "t": t, "price": number, "volume": 1} for t in times]
        body = json.dumps({"batch_id": f"fault-{number}", "ticks": ticks}).encode()
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}/api/ingest", data=body, method="POST",
                                         headers={"Content-Type": "application/json", "Host": f"127.0.0.1:{self.port}"})
        try:
            with urllib.request.urlopen(request, timeout=5) as answer:
                status = answer.status
        except urllib.error.HTTPError as error:
            status = error.code
        except (OSError, urllib.error.URLError):
            status = "no answer"
        self.answers[status] = self.answers.get(status, 0) + 1
        return status == 200

    async def run(self, stop):
        number = 0
        while not stop.is_set():
            # Whole milliseconds, then a tenth of one per tick: no two ticks share a time.
            base = round(time.time() - 1, 3)
            times = [round(base + index * 0.0001, 4) for index in range(TICKS_PER_BATCH)]
            while not stop.is_set():
                if await asyncio.to_thread(self.post, number, times):
                    self.acknowledged[number] = times
                    break
                self.retries += 1
                await asyncio.sleep(0.2)
            number += 1
            await asyncio.sleep(1 / self.rate)


FAULTS = ["kill", "stop", "broker and gateway", "producer twice"]
TARGETS = ["broker-a", "broker-b", "east", "west", "gateway-1", "gateway-2", "haproxy"]


async def inject(fleet, kind, rng):
    """Carries out one fault; returns what it did."""
    if kind == "kill":
        name = rng.choice(TARGETS)
        fleet.kill(name)
        await asyncio.sleep(rng.uniform(0.5, 2))
        fleet.start(name)
        return f"SIGKILL {name}"
    if kind == "stop":
        name = rng.choice(TARGETS)
        fleet.signal(name, signal.SIGSTOP)
        await asyncio.sleep(rng.uniform(1, 4))
        fleet.signal(name, signal.SIGCONT)
        return f"SIGSTOP {name}"
    if kind == "broker and gateway":
        broker, gateway = rng.choice(["broker-a", "broker-b"]), rng.choice(["gateway-1", "gateway-2"])
        fleet.kill(broker)
        fleet.kill(gateway)
        await asyncio.sleep(rng.uniform(0.5, 2))
        fleet.start(broker)
        fleet.start(gateway)
        return f"SIGKILL {broker} and {gateway}"
    name = rng.choice(["east", "west"])
    for _ in range(2):
        fleet.restart(name)
        await asyncio.sleep(rng.uniform(0.3, 1))
    return f"{name} restarted twice"


def window(port, symbol):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/realtime_window", timeout=10) as answer:
        for line in answer.read().decode().splitlines():
            chart = json.loads(line)
            if chart["symbol"] == symbol:
                return chart
    return None


async def scenario(fleet, arguments):
    rng = random.Random(arguments.seed)
    stop = asyncio.Event()
    clients = [Client(fleet.balancer_port, checks=index % 10 == 0) for index in range(arguments.clients)]
    ingest = Ingest(fleet.balancer_port, arguments.rate)
    tasks = [asyncio.create_task(client.run(stop)) for client in clients] + [asyncio.create_task(ingest.run(stop))]
    faults = []
    crashed = []
    try:
        deadline = time.monotonic() + 30
        while not all(client.arrivals for client in clients):
            if time.monotonic() > deadline:
                raise TimeoutError("not every client received a first snapshot within 30 s")
            await asyncio.sleep(0.1)
        usage_start = fleet.usage()
        started = time.monotonic()
        while time.monotonic() - started < arguments.seconds:
            await asyncio.sleep(rng.uniform(2, 4))
            kind = rng.choice(FAULTS)
            at = time.monotonic()
            what = await inject(fleet, kind, rng)
            # Until every client has a new snapshot after the fault ended (or 30 s); then the
            # longest any client went without one from the fault's start.
            ended = time.monotonic()
            limit = ended + 30
            while any(not client.arrivals or client.arrivals[-1] <= ended for client in clients) and time.monotonic() < limit:
                await asyncio.sleep(0.05)
            silence = max(client.longest_silence(at, time.monotonic()) for client in clients)
            faults.append((kind, what, silence))
            print(f"  {time.monotonic() - started:5.1f} s  {what}: the longest any client went without a snapshot {silence:.2f} s")
            for name in TARGETS:
                if fleet.processes[name].poll() is not None:
                    crashed.append(f"{name} exited by itself ({fleet.processes[name].returncode}) after {what}")
                    fleet.start(name)
        ended_at = time.monotonic()
        # Everything up again, then the books.
        for name in TARGETS:
            if fleet.processes[name].poll() is not None:
                fleet.start(name)
        await asyncio.sleep(3 * INTERVAL)
        stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
        usage_end = fleet.usage()
        return clients, ingest, faults, crashed, usage_start, usage_end, started, ended_at
    finally:
        stop.set()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def books(fleet, clients, ingest, faults, crashed, usage_start, usage_end, started, ended):
    failures = list(crashed)
    # Acknowledged ticks: each in ING's window, once (a tick applied twice adds its volume
    # again). The producers start once more on their data directories with every point in
    # their snapshots: what the journal held is what comes back.
    fleet.kill("haproxy")
    port = fleet.gateway_ports["gateway-1"]
    before = wait_for(lambda: window(port, "ING"), 20, "ING's chart before the last restart")["run_id"]
    for producer in ("east", "west"):
        fleet.kill(producer)
        fleet.commands[producer] += ["--max-points", "0"]
        fleet.start(producer)
    chart = wait_for(lambda: (lambda found: found if found and found["run_id"] != before else None)(window(port, "ING")), 30,
                     "ING's whole window from the restarted producers")
    if chart["raw_points"] != len(chart["t"]):
        failures.append(f"ING's chart holds {len(chart['t'])} of its {chart['raw_points']} points")
    held = dict(zip(chart["t"], chart["volume"])) if chart else {}
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status", timeout=10) as answer:
        sources = json.loads(answer.read())["sources"]
    claimed = [source["name"] for source in sources if "ING" in source.get("hidden_symbols_sample", [])]
    if claimed:
        failures.append(f"ING was written to two producers: {chart['run_id']}'s chart is shown, {claimed}'s hidden")
    acknowledged = [t for times in ingest.acknowledged.values() for t in times]
    lost = [t for t in acknowledged if t not in held]
    twice = [t for t in acknowledged if held.get(t, 1) > 1]
    print(f"  ingest: {len(ingest.acknowledged)} batches ({len(acknowledged)} ticks) acknowledged, {ingest.retries} retries; answers {ingest.answers}")
    print(f"  acknowledged ticks lost: {len(lost)}; ticks applied twice: {len(twice)}")
    if lost:
        failures.append(f"{len(lost)} acknowledged ticks lost (first {lost[:3]})")
    if twice:
        failures.append(f"{len(twice)} ticks applied twice (first {twice[:3]})")
    silences = [client.longest_silence(started, ended) for client in clients]
    backwards = [client.backwards for client in clients if client.backwards]
    print(f"  clients: {len(clients)}; longest time without a new snapshot: median {statistics.median(silences):.2f} s, "
          f"max {max(silences):.2f} s; reconnections {sum(client.connections for client in clients) - len(clients)}")
    print(f"  clients that saw a chart go back in time within one run: {len(backwards)}")
    if backwards:
        failures.append(f"{len(backwards)} clients saw a chart go back in time, e.g. {backwards[0][:2]}")
    by_kind = {}
    for kind, what, silence in faults:
        by_kind.setdefault(what.split(" ")[0] if kind in ("kill", "stop") else kind, []).append((silence, what))
    for kind, items in sorted(by_kind.items()):
        times = [silence for silence, _ in items]
        worst = max(items)[1]
        print(f"  {kind}: {len(items)} times; the longest a client went without a snapshot: p50 {statistics.median(times):.2f} s, max {max(times):.2f} s ({worst})")
    for name in sorted(usage_end):
        before, after = usage_start.get(name), usage_end[name]
        print(f"  {name}: RSS {before[0] if before else '?'} → {after[0] if after else '?'} KiB, "
              f"descriptors {before[1] if before else '?'} → {after[1] if after else '?'}")
    return failures


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=45, help="how long faults are injected (the short form: 45)")
    parser.add_argument("--clients", type=int, default=300, help="WebSocket clients through HAProxy")
    parser.add_argument("--rate", type=float, default=10, help="ingest batches per second")
    parser.add_argument("--seed", type=int, default=int(time.time()), help="the faults' random seed (printed, to run the same again)")
    arguments = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="rcf-", dir="/tmp"))
    fleet = Fleet(root)
    failed = False
    print(f"fault run: {arguments.seconds:.0f} s of faults, {arguments.clients} clients, {arguments.rate} batches/s, seed {arguments.seed}")
    try:
        fleet.define()
        for name in ("broker-a", "broker-b", "east", "west", "gateway-1", "gateway-2"):
            fleet.start(name)
        for gateway, port in fleet.gateway_ports.items():
            wait_for(lambda: ready(port), 30, f"{gateway} ready")
            # Writes start once every gateway holds both producers: two gateways that each held a
            # different single producer at start-up could still route a new symbol differently
            # (an open item of the fault-tolerance issue, not what this run is about).
            wait_for(lambda: sources(port) == {"east", "west"}, 30, f"{gateway} holding both producers")
        fleet.start("haproxy")
        wait_for(lambda: ready(fleet.balancer_port), 20, "HAProxy passing requests")
        result = asyncio.run(asyncio.wait_for(scenario(fleet, arguments), arguments.seconds + 240))
        failures = books(fleet, *result)
        for failure in failures:
            print(f"  FAIL  {failure}")
        failed = bool(failures)
    except Exception as error:
        failed = True
        print(f"  FAIL  {error!r}")
    finally:
        if failed:
            for log in sorted(fleet.logs.glob("*.log")):
                print(f"--- {log.name} (last lines)")
                print("\n".join(log.read_text(errors="replace").splitlines()[-12:]))
        fleet.stop_all()
        shutil.rmtree(root, ignore_errors=True)
    print(f"fault run: {'failed' if failed else 'ok'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
