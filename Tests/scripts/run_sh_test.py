"""./run.sh as a user runs it: the producer killed twice while the same gateway keeps serving,
then Ctrl-C stops everything within 2 s.

Run by `./run.sh test` after the debug build (`ROLLCAST_BIN_DIR` names it, so run.sh does not
build). Bounded by an alarm; every wait polls a condition with a deadline.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "Tests" / "browser"))
from harness import bin_dir, wait_for  # noqa: E402

RUN_LIMIT_S = 120


def descendants(root):
    """The rollcast processes started under process `root` (run.sh), as {name: pid}."""
    parents, names = {}, {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        names[int(entry.name)] = stat[stat.index("(") + 1 : stat.rindex(")")]
        parents[int(entry.name)] = int(stat[stat.rindex(")") + 2 :].split()[1])
    found = {}
    for pid, name in names.items():
        ancestor = parents.get(pid)
        while ancestor and ancestor != root:
            ancestor = parents.get(ancestor)
        if ancestor == root and name.startswith("rollcast-") and "defunct" not in name:
            found["producer" if "produc" in name else "gateway"] = pid
    return found


def get_json(url):
    with urllib.request.urlopen(url, timeout=2) as response:
        return json.loads(response.read())


def main():
    signal.signal(signal.SIGALRM, lambda *_: (_ for _ in ()).throw(TimeoutError(f"run.sh test ran over {RUN_LIMIT_S}s")))
    signal.alarm(RUN_LIMIT_S)
    run_dir = tempfile.mkdtemp(prefix="rcs-", dir="/tmp")
    env = dict(os.environ, ROLLCAST_BIN_DIR=str(bin_dir()), ROLLCAST_RUN_DIR=run_dir, ROLLCAST_PORT="0", ROLLCAST_INTERVAL="0.5")
    # Its own session: the test can signal the whole group, as a terminal's Ctrl-C does.
    script = subprocess.Popen(["./run.sh"], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True, text=True)
    lines = []
    threading.Thread(target=lambda: lines.extend(script.stdout), daemon=True).start()
    failed = False
    try:
        url = wait_for(lambda: next((line.split()[2] for line in lines if "dashboard: http" in line), None), 60, "run.sh to print the URL")
        wait_for(lambda: get_json(url + "/readyz")["ready"], 20, "the first snapshot")
        gateway = descendants(script.pid)["gateway"]
        run_ids = [get_json(url + "/readyz")["run_id"]]
        for kill in (1, 2):
            producer = descendants(script.pid)["producer"]
            os.kill(producer, signal.SIGKILL)
            # The gateway keeps answering while the producer is down and back.
            new = wait_for(
                lambda: (lambda ready: ready.get("ready") and ready["run_id"] not in run_ids and ready["run_id"])(get_json(url + "/readyz")),
                20, f"a new producer run after kill {kill}",
            )
            run_ids.append(new)
            assert descendants(script.pid).get("gateway") == gateway, "the gateway was restarted too"
            assert get_json(url + "/healthz")["status"] == "ok"
        assert any("producer exited" in line and "restarting it in 1 s" in line for line in lines), "".join(lines[-20:])
        assert any("restarting it in 2 s" in line for line in lines), "the second restart did not back off"
        print(f"  ok    producer killed twice, restarted (runs {', '.join(run_ids)}); gateway pid {gateway} served throughout")

        children = descendants(script.pid)
        started = time.monotonic()
        # What a terminal's Ctrl-C does: SIGINT to the foreground process group.
        os.killpg(script.pid, signal.SIGINT)
        script.wait(timeout=5)
        wait_for(lambda: not any(Path(f"/proc/{pid}").exists() and "Z" not in (Path(f"/proc/{pid}/stat").read_text().split()[2:3] or ["Z"]) for pid in children.values()), 2, "both processes to end")
        elapsed = time.monotonic() - started
        assert elapsed < 2, f"Ctrl-C took {elapsed:.2f} s"
        assert script.returncode == 130, f"run.sh exited {script.returncode} after Ctrl-C, not 130"
        time.sleep(0.2)  # the reader thread takes the last lines
        for name in ("producer stopped", "gateway stopped"):
            assert any(name in line for line in lines), f"no '{name}' line: not a clean stop"
        left = sorted(path.name for path in Path(run_dir).glob("*.sock"))
        assert not left, f"socket files left behind: {left}"
        print(f"  ok    Ctrl-C stopped run.sh and both processes in {elapsed:.2f} s (exit {script.returncode})")
    except Exception:
        failed = True
        import traceback

        traceback.print_exc()
        print("--- run.sh output (last lines)\n" + "".join(lines[-30:]))
    finally:
        for pid in descendants(script.pid).values():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if script.poll() is None:
            os.killpg(script.pid, signal.SIGKILL)
        shutil.rmtree(run_dir, ignore_errors=True)
        signal.alarm(0)
    print(f"run.sh: {'failed' if failed else 'passed'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
