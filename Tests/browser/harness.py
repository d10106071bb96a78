"""Starts the real producer and gateway for browser tests and stops them on every path."""

import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def bin_dir() -> Path:
    configured = os.environ.get("ROLLCAST_BIN_DIR")
    if configured:
        return Path(configured).resolve()
    out = subprocess.run(["swift", "build", "--show-bin-path"], cwd=ROOT, check=True, capture_output=True, text=True)
    return Path(out.stdout.strip())


def wait_for(condition, timeout: float, what: str, interval: float = 0.05):
    """Polls `condition` until it returns a truthy value; raises after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last_error = None
    while time.monotonic() < deadline:
        try:
            value = condition()
            if value:
                return value
        except Exception as error:  # the condition may fail until the thing is up
            last_error = error
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}" + (f" (last error: {last_error})" if last_error else ""))


def is_ready(port):
    """Whether the gateway on `port` answers `/readyz` with 200."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5) as answer:
            return answer.status == 200
    except urllib.error.HTTPError:
        return False


class Stack:
    """A producer and a gateway on a free port and a private run directory."""

    def __init__(self, producer_args=(), interval=0.5, gateway_args=()):
        self.bin = bin_dir()
        self.run_dir = Path(tempfile.mkdtemp(prefix="rcb-", dir="/tmp"))
        self.interval = interval
        self.producer_args = list(producer_args)
        self.gateway_args = list(gateway_args)
        self.producer = None
        self.gateway = None
        self.port = None
        self.logs = self.run_dir / "logs"
        self.logs.mkdir()

    def start_producer(self):
        args = [str(self.bin / "rollcast-producer"), "--run-dir", str(self.run_dir), "--interval", str(self.interval)]
        self.producer = self._spawn(args + self.producer_args, "producer")

    def start_gateway(self, port=0):
        self.gateway, self.port = self.spawn_gateway("gateway", port)

    def spawn_gateway(self, name, port=0):
        """Starts a gateway on this stack's producer; returns the process and its port."""
        port_file = self.run_dir / f"{name}.port"
        port_file.unlink(missing_ok=True)
        args = [
            str(self.bin / "rollcast-gateway"),
            "--run-dir", str(self.run_dir),
            "--port", str(port),
            "--port-file", str(port_file),
            "--web-root", str(ROOT / "web"),
            "--enable-test-api",
            # Chromium offers permessage-deflate: the browser tests read the shared compressed frames.
            "--permessage-deflate",
        ]
        process = self._spawn(args + self.gateway_args, name)
        return process, int(wait_for(lambda: port_file.exists() and port_file.read_text().strip(), 20, f"the {name}'s port file"))

    def secure(self, role="read"):
        """Gives the gateway a key (call before start_gateway) and returns a token for `role`."""
        key = self.run_dir / "jwt.key"
        if not key.exists():
            key.write_bytes(os.urandom(48).hex().encode())
            key.chmod(0o600)
            self.gateway_args += ["--jwt-secret-file", str(key)]
        return self.token(role)

    def token(self, role="read", ttl="1h"):
        key = self.run_dir / "jwt.key"
        out = subprocess.run(
            [str(self.bin / "rollcast-gateway"), "--jwt-secret-file", str(key), "token", "--role", role, "--ttl", ttl],
            check=True, capture_output=True, text=True, timeout=20,
        )
        return out.stdout.strip()

    def _spawn(self, args, name):
        log = open(self.logs / f"{name}.log", "ab")
        return subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def request(self, method, path, body=None, timeout=5, token=None):
        data = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        req = urllib.request.Request(self.url + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()

    def wait_ready(self, timeout=20, port=None):
        port = port or self.port
        wait_for(lambda: is_ready(port), timeout, "the gateway to be ready")

    @staticmethod
    def stop(process, timeout=5):
        """SIGTERM, then SIGKILL after `timeout`; returns the exit code."""
        if process is None or process.poll() is not None:
            return None if process is None else process.returncode
        process.send_signal(signal.SIGTERM)
        try:
            return process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            return process.wait(5)

    def close(self):
        self.stop(self.gateway)
        self.stop(self.producer)
        shutil.rmtree(self.run_dir, ignore_errors=True)


class ShardedStack:
    """A broker, named producers publishing through it, and one gateway subscribed to it,
    each process in a run directory of its own."""

    def __init__(self, interval=0.5):
        self.bin = bin_dir()
        self.root = Path(tempfile.mkdtemp(prefix="rcs-", dir="/tmp"))
        self.interval = interval
        self.logs = self.root / "logs"
        self.logs.mkdir()
        self.processes = {}
        self.port = None

    def _dir(self, name):
        path = self.root / name
        path.mkdir(exist_ok=True)
        return path

    def _spawn(self, name, args):
        log = open(self.logs / f"{name}.log", "ab")
        self.processes[name] = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)

    def start_broker(self):
        self._spawn("broker", [str(self.bin / "rollcast-broker"), "--run-dir", str(self._dir("broker"))])

    def start_producer(self, name, symbols):
        self._spawn(name, [
            str(self.bin / "rollcast-producer"), "--run-dir", str(self._dir(name)), "--name", name,
            "--broker", f"ipc://{self.root}/broker/broker-in.sock", "--interval", str(self.interval),
            "--window", "60", "--mock-rate", "4", "--mock-symbols", ",".join(symbols),
        ])

    def start_gateway(self, control, name="gateway"):
        """Starts a gateway subscribed to the broker; returns its port (also `self.port` for the first)."""
        port_file = self._dir(name) / "port"
        port_file.unlink(missing_ok=True)
        self._spawn(name, [
            str(self.bin / "rollcast-gateway"), "--run-dir", str(self._dir(name)), "--port", "0", "--port-file", str(port_file),
            "--web-root", str(ROOT / "web"), "--permessage-deflate",
            "--snapshot-endpoint", f"ipc://{self.root}/broker/broker-out.sock",
            "--control-endpoint", f"ipc://{self.root}/{control}/control.sock",
        ])
        port = int(wait_for(lambda: port_file.exists() and port_file.read_text().strip(), 20, f"the {name}'s port file"))
        if name == "gateway":
            self.port = port
        return port

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def stop(self, name):
        """SIGTERM to one process of the fleet; returns its exit code."""
        return Stack.stop(self.processes.pop(name))

    def kill(self, name):
        process = self.processes.pop(name)
        process.kill()
        process.wait(5)

    def close(self):
        # Gateways first, so none logs a missing broker on the way out.
        names = sorted(self.processes, key=lambda name: not name.startswith("gateway"))
        for name in names:
            Stack.stop(self.processes.pop(name))
        shutil.rmtree(self.root, ignore_errors=True)
