"""Every flag of the three processes, its environment variable and its default, as `--help` says
them, against the tables of docs/operations.md: a flag missing from the docs (or documented but
gone), a different variable or a different default fails.

And the sources hold each setting once: a `ROLLCAST_` variable is named only in its setting's
declaration (`Setting(`, `OptionalSetting(`, `ListSetting(`), at most once a file, never in an
executable; the configuration types' initializers take their defaults from those declarations
(`…Settings.x.defaultValue`) or have none, so a default written a second time fails here."""

import re
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "browser"))
from harness import ROOT, bin_dir  # noqa: E402

IGNORED = {"--help", "--version"}


def help_options(binary: Path) -> dict:
    """--flag -> (environment variable, default text or None), from --help."""
    text = subprocess.run([str(binary), "--help"], check=True, capture_output=True, text=True, timeout=30).stdout
    options, current = {}, None
    for line in text.split("OPTIONS:", 1)[1].split("SUBCOMMANDS:", 1)[0].splitlines():
        match = re.match(r"^  (--[a-z0-9-]+)", line)
        if match:
            current = match.group(1)
            options[current] = line[len(match.group(0)):]
        elif current and line.startswith("    "):
            options[current] += " " + line.strip()
    result = {}
    for flag, body in options.items():
        if flag in IGNORED:
            continue
        body = re.sub(r"\s+", " ", body)
        env = re.search(r"\((ROLLCAST_[A-Z_]+)", body)
        default = re.search(r"; default ([^)]*)\)", body)
        result[flag] = (env.group(1) if env else None, default.group(1).strip() if default else None)
    return result


def documented_options(section: str) -> dict:
    """--flag -> (environment variable, default cell) from the table under `### <section>`."""
    text = (ROOT / "docs" / "operations.md").read_text()
    body = text.split(f"### {section}\n", 1)[1].split("\n#", 1)[0]
    result = {}
    for line in body.splitlines():
        if not line.startswith("| `--"):
            continue
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        flag = re.match(r"`(--[a-z0-9-]+)", cells[0]).group(1)
        env = re.search(r"ROLLCAST_[A-Z_]+", cells[1])
        result[flag] = (env.group(0) if env else None, cells[2])
    return result


# The types built from settings: their initializers may not hold a default of their own.
CONFIGURATION_FILES = [
    "Sources/RollcastGateway/GatewayConfiguration.swift",
    "Sources/RollcastProducer/ProducerConfiguration.swift",
    "Sources/RollcastBroker/Broker.swift",
    "Sources/RollcastGateway/Feed/SnapshotSubscriber.swift",
]


def code_lines(path: Path):
    """(number, line) of a Swift file, comments left out."""
    for number, line in enumerate(path.read_text().splitlines(), 1):
        stripped = line.strip()
        if stripped.startswith("//"):
            continue
        yield number, line


def declaration_failures() -> list:
    failures = []
    for path in sorted((ROOT / "Sources").rglob("*.swift")):
        relative = path.relative_to(ROOT)
        seen = set()
        lines = list(code_lines(path))
        for index, (number, line) in enumerate(lines):
            for name in re.findall(r'"(ROLLCAST_[A-Z_]+)"', line):
                where = f"{relative}:{number}"
                if relative.parts[1].startswith("rollcast-"):
                    failures.append(f"{where}: {name} named in an executable; use its setting")
                # The declaration opens on this line or the one before (a long one wraps).
                opening = " ".join(text for _, text in lines[max(0, index - 1):index + 1])
                if not re.search(r"\b(Setting|OptionalSetting|ListSetting)\(", opening):
                    failures.append(f"{where}: {name} named outside a setting's declaration")
                if name in seen:
                    failures.append(f"{where}: {name} declared twice in one file")
                seen.add(name)
    for file in CONFIGURATION_FILES:
        text = (ROOT / file).read_text()
        for match in re.finditer(r"\binit\(([^{]*)\)\s*(?:throws\s*)?\{", text):
            for parameter in re.finditer(r"(\w+):\s*[^,=()]+(?:\([^)]*\))?\s*=\s*([^,\n]+)", match.group(1)):
                value = parameter.group(2).strip().rstrip(")")
                if value in ("nil", "[]") or "Settings." in value:
                    continue
                failures.append(f"{file}: init parameter '{parameter.group(1)}' has a default of its own ({value}); take it from its setting")
    return failures


def main() -> int:
    failures = declaration_failures()
    print(f"  sources: {len(failures)} settings declared outside their one place")
    binaries = bin_dir()
    for name in ("rollcast-producer", "rollcast-gateway", "rollcast-broker"):
        helped = help_options(binaries / name)
        documented = documented_options(name)
        for flag in sorted(set(helped) - set(documented)):
            failures.append(f"{name} {flag}: in --help, missing from docs/operations.md")
        for flag in sorted(set(documented) - set(helped)):
            failures.append(f"{name} {flag}: in docs/operations.md, not a flag any more")
        for flag in sorted(set(helped) & set(documented)):
            (help_env, help_default), (doc_env, doc_default) = helped[flag], documented[flag]
            if help_env != doc_env:
                failures.append(f"{name} {flag}: --help names {help_env}, the docs {doc_env}")
            single = re.fullmatch(r"`([^`]*)`", doc_default)
            if single and help_default is not None and single.group(1) != help_default:
                failures.append(f"{name} {flag}: --help says default {help_default!r}, the docs {single.group(1)!r}")
            if single and help_default is None:
                failures.append(f"{name} {flag}: the docs give default {single.group(1)!r}, --help none")
        print(f"  {name}: {len(helped)} flags checked")
    for failure in failures:
        print(f"  FAIL  {failure}")
    print(f"settings docs: {'failed' if failures else 'ok'}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
