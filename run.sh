#!/usr/bin/env bash
# Rollcast: set up, build and run.
#   ./run.sh                 set up, build (release), start producer + gateway with the mock feed
#   ./run.sh producer ARGS   run only the producer (release build)
#   ./run.sh gateway ARGS    run only the gateway (release build)
#   ./run.sh test            set up, build (debug) and run every test: unit, integration, browser
#   ./run.sh bench [ARGS]    build (release) and run the benchmarks in docs/performance.md
#   ./run.sh setup           install what is missing, nothing else
set -euo pipefail
cd "$(dirname "$0")"

UPLOT_PACKAGE="uplot-python==1.1.1"
export PIP_ROOT_USER_ACTION=ignore PIP_DISABLE_PIP_VERSION_CHECK=1

say() { printf '[run.sh] %s\n' "$*" >&2; }

apt_install() {
    say "installing $* with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    if [ -z "${ROLLCAST_APT_UPDATED:-}" ]; then
        apt-get update -qq
        ROLLCAST_APT_UPDATED=1
    fi
    apt-get install -y -qq "$@" >/dev/null
}

# libzmq (headers and pkg-config file) for the CZMQ module, SQLite's headers for GRDB
# (persistence), and uPlot for the dashboard.
setup_runtime() {
    if ! pkg-config --exists libzmq 2>/dev/null; then
        command -v pkg-config >/dev/null || apt_install pkg-config
        apt_install libzmq3-dev
    fi
    if ! pkg-config --exists sqlite3 2>/dev/null; then
        command -v pkg-config >/dev/null || apt_install pkg-config
        apt_install libsqlite3-dev
    fi
    if [ ! -f web/vendor/uPlot.iife.js ] || [ ! -f web/vendor/uPlot.min.css ]; then
        say "fetching uPlot ($UPLOT_PACKAGE)"
        local tmp
        tmp=$(mktemp -d)
        python3 -m pip download --quiet --no-deps "$UPLOT_PACKAGE" -d "$tmp"
        mkdir -p web/vendor
        python3 - "$tmp" web/vendor <<'PY'
import glob, sys, zipfile
wheel = glob.glob(sys.argv[1] + "/*.whl")[0]
with zipfile.ZipFile(wheel) as archive:
    for name in ("uPlot.iife.js", "uPlot.min.css"):
        with open(f"{sys.argv[2]}/{name}", "wb") as out:
            out.write(archive.read(f"uplot/static/{name}"))
PY
        rm -rf "$tmp"
    fi
}

# Headless Chromium, its driver and Selenium for the browser tests.
setup_browser() {
    local missing=()
    command -v chromium >/dev/null || missing+=(chromium)
    command -v chromedriver >/dev/null || missing+=(chromium-driver)
    [ ${#missing[@]} -eq 0 ] || apt_install "${missing[@]}"
    python3 -c "import selenium" 2>/dev/null ||
        python3 -m pip install --quiet "selenium>=4.20,<5"
}

build_release() {
    say "building (release)"
    swift build -c release
    BIN_DIR=$(swift build -c release --show-bin-path)
}

start_both() {
    local pids=()
    local ready
    ready=$(mktemp -u /tmp/rollcast-ready.XXXXXX)
    stop() {
        trap - INT TERM
        say "stopping"
        kill -TERM "${pids[@]}" 2>/dev/null || true
        wait "${pids[@]}" 2>/dev/null || true
        rm -f "$ready"
    }
    trap stop INT TERM
    "$BIN_DIR/rollcast-producer" & pids+=($!)
    # The gateway writes its port to $ready once it listens. The demo serves the test API
    # (the page's mock data loads); a gateway started alone does not.
    ROLLCAST_PORT_FILE="$ready" "$BIN_DIR/rollcast-gateway" --enable-test-api "$@" & pids+=($!)
    for _ in $(seq 1 300); do
        [ -s "$ready" ] && break
        kill -0 "${pids[1]}" 2>/dev/null || break
        sleep 0.1
    done
    if [ -s "$ready" ]; then
        local url="http://${ROLLCAST_HOST:-127.0.0.1}:$(tr -d '[:space:]' < "$ready")"
        say "dashboard: $url  (Ctrl-C stops both)"
        echo "$url"
    else
        say "the gateway did not start; its error is above"
    fi
    # Either process ending ends the other; a failure is the script's exit status.
    local status=0
    wait -n "${pids[@]}" || status=$?
    stop
    return "$status"
}

run_tests() {
    setup_runtime
    setup_browser
    say "building (debug, with tests)"
    swift build --build-tests
    export ROLLCAST_BIN_DIR
    ROLLCAST_BIN_DIR=$(swift build --show-bin-path)
    say "unit and integration tests"
    # A bound on the whole run: a hung test must fail CI, not stall it.
    timeout --signal=KILL 1200 swift test --skip-build
    say "browser tests"
    timeout --signal=KILL 600 python3 Tests/browser/dashboard_test.py
}

# Every benchmark of docs/performance.md; extra arguments go to the fan-out benchmark
# (for example: --clients 100,1000,5000,10000 --deflate).
run_benchmarks() {
    setup_runtime
    setup_browser
    build_release
    export ROLLCAST_BIN_DIR="$BIN_DIR"
    say "windows and encoding"
    "$BIN_DIR/rollcast-bench" windows
    say "ZeroMQ hop"
    "$BIN_DIR/rollcast-bench" zmq-hop
    say "fan-out"
    "$BIN_DIR/rollcast-bench" fanout "$@"
    say "idle connections"
    "$BIN_DIR/rollcast-bench" fanout --idle --clients 0,1000
    say "ingest (in memory and with --data-dir)"
    "$BIN_DIR/rollcast-bench" ingest
    say "restart of a persisting producer"
    "$BIN_DIR/rollcast-bench" restart
    say "replay"
    "$BIN_DIR/rollcast-bench" replay
    say "dashboard update cost (headless Chromium)"
    python3 Tests/browser/dashboard_benchmark.py
}

case "${1:-}" in
    "") setup_runtime; build_release; start_both ;;
    producer) shift; setup_runtime; build_release; exec "$BIN_DIR/rollcast-producer" "$@" ;;
    gateway) shift; setup_runtime; build_release; exec "$BIN_DIR/rollcast-gateway" "$@" ;;
    test) run_tests ;;
    setup) setup_runtime; setup_browser ;;
    bench) shift; run_benchmarks "$@" ;;
    -h|--help|help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//' ;;
    *) say "unknown command '$1'; see ./run.sh --help"; exit 2 ;;
esac
