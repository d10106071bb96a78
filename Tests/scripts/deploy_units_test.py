"""Checks docs/deploy: both systemd units pass `systemd-analyze verify` with no warning (where
systemd is installed), and every ROLLCAST_* variable the units and rollcast.env set is one a
process reads (named in its --help), so a typo cannot silently do nothing."""

import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "browser"))
from harness import ROOT, bin_dir  # noqa: E402

DEPLOY = ROOT / "docs" / "deploy"
UNITS = ["rollcast-producer.service", "rollcast-gateway.service"]


def known_variables(binary: Path) -> set:
    help_text = subprocess.run([str(binary), "--help"], check=True, capture_output=True, text=True, timeout=30).stdout
    return set(re.findall(r"ROLLCAST_[A-Z_]+", help_text))


def main() -> int:
    failures = []
    binaries = bin_dir()
    known = known_variables(binaries / "rollcast-producer") | known_variables(binaries / "rollcast-gateway")
    for path in [DEPLOY / "rollcast.env", *(DEPLOY / unit for unit in UNITS)]:
        for line in path.read_text().splitlines():
            line = line.lstrip("#").strip()
            for variable in re.findall(r"\b(ROLLCAST_[A-Z_]+)=", line):
                if variable not in known:
                    failures.append(f"{path.name}: {variable} is not a setting of either process")
    print(f"  variables: {len(known)} known to the processes")

    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        print("  systemd-analyze not installed: unit verification skipped")
    else:
        with tempfile.TemporaryDirectory(prefix="rcu-") as tmp:
            copies = []
            for unit in UNITS:
                # The units name /usr/local/bin; verify needs executables that exist.
                text = (DEPLOY / unit).read_text().replace("/usr/local/bin/", f"{binaries}/")
                copy = Path(tmp) / unit
                copy.write_text(text)
                copies.append(str(copy))
            result = subprocess.run([analyze, "verify", "--man=no", *copies], capture_output=True, text=True, timeout=60)
            output = (result.stdout + result.stderr).strip()
            if result.returncode != 0 or output:
                failures.append(f"systemd-analyze verify (exit {result.returncode}):\n{output}")
            else:
                print(f"  systemd-analyze verify: {', '.join(UNITS)} clean")
    for failure in failures:
        print(f"  FAIL  {failure}")
    print(f"deploy units: {'failed' if failures else 'ok'}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
