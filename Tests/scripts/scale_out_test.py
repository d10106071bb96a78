"""The scale-out of docs/scale-out.md under load, all real processes on 127.0.0.1: a broker,
two producers with their own symbols, two gateways behind HAProxy (docs/deploy/haproxy.cfg),
and 200 WebSocket clients through the balancer. Each kind of process is then killed or
restarted while the clients run:

- producer "west" SIGKILLed: every client keeps getting new snapshots (east's charts move),
  west's charts stay in them unchanged; west restarted: every client sees its new run;
- the broker stopped and started again: every client receiving again;
- one gateway stopped: every client receiving again through the other.

Every wait has a deadline; every process is stopped on every path.
"""

import asyncio
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "browser"))
from harness import ShardedStack, is_ready, wait_for  # noqa: E402
from haproxy_test import CLIENTS, clients_of, haproxy_path, receiving_since, recovery_after, start_balancer, until, with_clients  # noqa: E402

EAST = ["E-1", "E-2"]
WEST = ["W-1", "W-2"]
RECOVERY_S = 10


async def scenario(fleet, ports, balancer_port):
    async def run(clients):
        await until(lambda: all(sorted(client.latest) == sorted(EAST + WEST) for client in clients), 30,
                    f"all {CLIENTS} clients to hold both producers' charts")
        spread = [clients_of(port) for port in ports]
        print(f"  spread over the two gateways: {spread[0]} and {spread[1]}")
        assert min(spread) >= CLIENTS // 4, f"the balancer did not spread the clients: {spread}"

        # A producer dies: the other's charts keep moving for everyone, its own stand still.
        killed = time.monotonic()
        west_before = {client.index: client.latest["W-1"] for client in clients}
        fleet.kill("west")
        await until(lambda: all(client.latest.get("E-1", (None, 0))[1] > 0 and client.received[-1][0] > killed + 2 for client in clients),
                    RECOVERY_S, "every client to keep receiving after west died")
        standing = {client.latest["W-1"] for client in clients}
        print(f"  west killed: every client kept receiving; west's charts stand at {len(standing)} run/seq value(s)")
        assert all(client.latest["W-1"][0] == west_before[client.index][0] for client in clients)
        assert len(standing) == 1, f"west's charts differ between clients after it died: {standing}"
        fleet.start_producer("west", WEST)
        old_run = standing.pop()[0]
        await until(lambda: all(client.latest.get("W-1", (old_run, 0))[0] != old_run for client in clients), RECOVERY_S,
                    "every client to see west's new run")
        print(f"  west restarted: every client on its new run after {time.monotonic() - killed:.2f} s from the kill")

        # The broker restarts under everything.
        fleet.stop("broker")
        restarted = time.monotonic()
        fleet.start_broker()
        await until(lambda: receiving_since(clients, restarted), RECOVERY_S, "every client receiving again after the broker's restart")
        print(f"  broker restarted: the last client received again {recovery_after(clients, restarted):.2f} s after the new broker was started")

        # A gateway stops: its clients come back through the other.
        stopped = time.monotonic()
        # From another thread, so the clients keep reading while the gateway shuts down.
        await asyncio.to_thread(fleet.stop, "gateway")
        # What the stopping gateway still relayed does not count: only messages after it was gone.
        gone = time.monotonic()
        await until(lambda: receiving_since(clients, gone), RECOVERY_S, "every client receiving again after a gateway stopped")
        moved = sum(1 for client in clients if client.connections > 1)
        print(f"  a gateway stopped: {moved} clients reconnected; the last received again after {recovery_after(clients, stopped):.2f} s")
        assert clients_of(ports[1]) == CLIENTS, "not every client is on the remaining gateway"
        assert all(sorted(client.latest) == sorted(EAST + WEST) for client in clients), "a client lost charts"

    await with_clients(balancer_port, run)


def main():
    haproxy_path()  # fails early, with how to get one
    fleet = ShardedStack(interval=0.5)
    balancer = None
    failed = False
    try:
        fleet.start_broker()
        fleet.start_producer("east", EAST)
        fleet.start_producer("west", WEST)
        ports = [fleet.start_gateway("east", name="gateway"), fleet.start_gateway("west", name="gateway-2")]
        # Both gateways ready (both producers' charts) before HAProxy checks them: one that is
        # not would be marked down and every client sent to the other.
        for port in ports:
            wait_for(lambda: is_ready(port), 20, f"the gateway on port {port} to be ready")
        balancer, balancer_port = start_balancer(fleet.logs, ports)
        wait_for(lambda: clients_of(balancer_port) >= 0, 20, "the balancer")
        asyncio.run(asyncio.wait_for(scenario(fleet, ports, balancer_port), 120))
    except Exception as error:
        failed = True
        print(f"  FAIL  {error!r}")
        for log in sorted(fleet.logs.glob("*.log")):
            print(f"--- {log.name} (last lines)")
            print("\n".join(log.read_text(errors="replace").splitlines()[-15:]))
    finally:
        if balancer:
            balancer.terminate()
            balancer.wait(5)
        fleet.close()
    print(f"scale-out: {'failed' if failed else 'ok'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
