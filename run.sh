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

# Copies one program out of a Debian package without installing the package: installing
# prometheus or haproxy would also start their services.
# extract_program PACKAGE PATH-IN-PACKAGE NAME-IN-.build-tools
extract_program() {
    say "fetching $3 (from Debian's $1 package, not installed)"
    export DEBIAN_FRONTEND=noninteractive
    if [ -z "${ROLLCAST_APT_UPDATED:-}" ]; then
        apt-get update -qq
        ROLLCAST_APT_UPDATED=1
    fi
    local tmp
    tmp=$(mktemp -d)
    chmod 755 "$tmp"  # apt's download user must be able to write there
    (cd "$tmp" && apt-get download -qq "$1" 2>&1 >/dev/null | grep -v "unsandboxed" >&2 || true)
    dpkg-deb -x "$tmp/$1"_*.deb "$tmp/root"
    mkdir -p .build-tools
    install -m 755 "$tmp/root/$2" ".build-tools/$3"
    rm -rf "$tmp"
}

# Prometheus's promtool, for the test that checks /metrics.
setup_promtool() {
    command -v promtool >/dev/null || [ -x .build-tools/promtool ] || extract_program prometheus usr/bin/promtool promtool
}

# HAProxy, for the test of gateways behind a load balancer (its libraries installed first).
setup_haproxy() {
    command -v haproxy >/dev/null && return
    [ -x .build-tools/haproxy ] && return
    apt_install liblua5.3-0 libopentracing-c-wrapper0
    extract_program haproxy usr/sbin/haproxy haproxy
}

# nginx with the Nchan module, the relay the fan-out benchmark compares with (programs only:
# installing nginx would also start its service).
setup_nchan() {
    [ -x .build-tools/nginx ] && [ -f .build-tools/ngx_nchan_module.so ] && return
    extract_program nginx usr/sbin/nginx nginx
    extract_program libnginx-mod-nchan usr/lib/nginx/modules/ngx_nchan_module.so ngx_nchan_module.so
}

# ROLLCAST_BIN_DIR names built executables to use instead of building (the tests of run.sh
# itself use the debug build).
use_built_or_build() {
    if [ -n "${ROLLCAST_BIN_DIR:-}" ]; then
        BIN_DIR=$ROLLCAST_BIN_DIR
    else
        build_release
    fi
}

build_release() {
    say "building (release)"
    swift build -c release
    BIN_DIR=$(swift build -c release --show-bin-path)
}

# Runs "$@" as NAME and starts it again whenever it ends: after 1 s, doubling up to 30 s,
# back to 1 s once it has run a minute. A first run that exits with an error of its own
# within 10 s is a start-up error (a bad flag, a port in use, a damaged database): the
# supervisor gives up with its status. The running child's pid is in $state/NAME.pid.
supervise() {
    local name=$1; shift
    local delay=1 first=1 started status
    # A Ctrl-C is the main script's to handle: it stops the children, then this loop ends.
    trap '' INT
    while [ ! -e "$state/stopping" ]; do
        started=$SECONDS
        # In a session of its own: a Ctrl-C at the terminal reaches this script, which stops
        # the children itself, and never a child alone (which the supervisor would restart).
        setsid "$@" &
        echo $! > "$state/$name.pid"
        status=0
        wait $! || status=$?
        [ -e "$state/stopping" ] && return 0
        # Statuses above 128 are deaths by a signal (a crash, a kill): those are restarted.
        if [ "$first" = 1 ] && [ "$status" -ne 0 ] && [ "$status" -le 128 ] && [ $((SECONDS - started)) -lt 10 ]; then
            say "$name failed to start (status $status)"
            return "$status"
        fi
        first=0
        [ $((SECONDS - started)) -ge 60 ] && delay=1
        say "$name exited (status $status); restarting it in ${delay} s"
        sleep "$delay" &
        echo $! > "$state/$name.sleep"
        wait $! 2>/dev/null || true
        delay=$((delay * 2 > 30 ? 30 : delay * 2))
    done
}

# Whether any of the given processes still runs (one that ended but is not yet reaped is a
# zombie, which `kill -0` would still find).
running() {
    local pid
    for pid in "$@"; do
        [ -r "/proc/$pid/stat" ] && [ "$(cut -d ' ' -f 3 "/proc/$pid/stat" 2>/dev/null)" != Z ] && return 0
    done
    return 1
}

# Producer and gateway, each supervised: one that dies is restarted while the other keeps
# serving. Ctrl-C (or SIGTERM) stops both within 2 s.
start_both() {
    local state supervisors=()
    state=$(mktemp -d /tmp/rollcast-run.XXXXXX)
    stop() {
        trap - INT TERM
        say "stopping"
        touch "$state/stopping"
        # A supervisor may be starting a child right now: signal what the pid files name
        # until every supervisor has returned, then kill what is left.
        local tries=0
        while [ "$tries" -lt 20 ] && running "${supervisors[@]}"; do
            for file in "$state"/*.pid "$state"/*.sleep; do
                [ -e "$file" ] && kill -TERM "$(cat "$file")" 2>/dev/null || true
            done
            sleep 0.1
            tries=$((tries + 1))
        done
        for file in "$state"/*.pid; do
            [ -e "$file" ] && running "$(cat "$file")" && kill -KILL "$(cat "$file")" 2>/dev/null || true
        done
        wait 2>/dev/null || true
        rm -rf "$state"
    }
    trap 'stop; exit 130' INT
    trap 'stop; exit 143' TERM
    supervise producer "$BIN_DIR/rollcast-producer" & supervisors+=($!)
    # The gateway writes its port to $state/port once it listens. The demo serves the test
    # API (the page's mock data loads); a gateway started alone does not.
    ROLLCAST_PORT_FILE="$state/port" supervise gateway "$BIN_DIR/rollcast-gateway" --enable-test-api "$@" & supervisors+=($!)
    for _ in $(seq 1 300); do
        [ -s "$state/port" ] && break
        kill -0 "${supervisors[1]}" 2>/dev/null || break
        sleep 0.1
    done
    if [ -s "$state/port" ]; then
        local url="http://${ROLLCAST_HOST:-127.0.0.1}:$(tr -d '[:space:]' < "$state/port")"
        say "dashboard: $url  (Ctrl-C stops both)"
        echo "$url"
    else
        say "the gateway did not start; its error is above"
    fi
    # A supervisor returns only when its process could not start: that ends the script.
    local status=0
    wait -n "${supervisors[@]}" || status=$?
    stop
    return "$status"
}

run_tests() {
    setup_runtime
    setup_browser
    setup_promtool
    setup_haproxy
    say "building (debug, with tests)"
    swift build --build-tests
    export ROLLCAST_BIN_DIR
    ROLLCAST_BIN_DIR=$(swift build --show-bin-path)
    # Suites that load the machine (thousands of connections, fuzzing, SIGKILL under load, a
    # stalled gateway with large snapshots, mock loads of a million points) run after the rest,
    # one at a time: beside them the suites that check timing (shutdown within 2 s, timeouts,
    # stalls) would measure the load, and their own timing checks would measure their neighbours.
    # LifecycleTests' shutdown within 2 s and BrokerTests' gaps run there too: in the parallel
    # batch the other suites' start-up alone once held a gateway's stop past 2 s, and a 300 ms
    # snapshot interval 1.6 s.
    local heavy='IntegrationTests\.(ReliabilityTests|EventStreamTests|IngestFuzzTests|IngestTests|BoundedQueueTests|PersistenceTests|ShardedTests|LifecycleTests|BrokerTests)'
    say "unit and integration tests"
    # A bound on each run: a hung test must fail CI, not stall it.
    timeout --signal=KILL 1200 swift test --skip-build --skip "$heavy"
    say "integration tests that load the machine, one at a time"
    timeout --signal=KILL 1200 swift test --skip-build --filter "$heavy" --no-parallel
    say "browser tests"
    timeout --signal=KILL 600 python3 Tests/browser/dashboard_test.py
    say "settings: --help against docs/operations.md"
    timeout --signal=KILL 60 python3 Tests/scripts/settings_docs_test.py
    say "gateways behind HAProxy"
    timeout --signal=KILL 180 python3 Tests/scripts/haproxy_test.py
    say "scale-out under load: broker, two producers, two gateways behind HAProxy, 200 clients"
    timeout --signal=KILL 240 python3 Tests/scripts/scale_out_test.py
    say "faults under load: two brokers, two producers, two gateways, HAProxy, 300 clients, ingest with retries"
    timeout --signal=KILL 300 python3 Tests/scripts/fault_run.py
    say "systemd units in docs/deploy"
    timeout --signal=KILL 120 python3 Tests/scripts/deploy_units_test.py
    say "run.sh itself: supervision and Ctrl-C"
    timeout --signal=KILL 180 python3 Tests/scripts/run_sh_test.py
}

# Every benchmark of docs/performance.md; extra arguments go to the fan-out benchmark
# (for example: --clients 100,1000,5000,10000 --deflate).
run_benchmarks() {
    setup_runtime
    setup_browser
    setup_nchan
    build_release
    export ROLLCAST_BIN_DIR="$BIN_DIR"
    say "windows and encoding"
    "$BIN_DIR/rollcast-bench" windows
    say "ZeroMQ hop"
    "$BIN_DIR/rollcast-bench" zmq-hop
    say "merging several producers (in process)"
    "$BIN_DIR/rollcast-bench" merge
    say "the broker"
    "$BIN_DIR/rollcast-bench" broker --bin-dir "$BIN_DIR"
    say "capacity through the broker (2 gateways × 9,000 clients)"
    "$BIN_DIR/rollcast-bench" scale --clients 9000 --bin-dir "$BIN_DIR"
    say "fan-out"
    "$BIN_DIR/rollcast-bench" fanout "$@"
    say "the delta stream against the floor and Nchan, WebSocket and SSE"
    "$BIN_DIR/rollcast-bench" fanout --clients 1000 --delta --compare floor,nchan
    "$BIN_DIR/rollcast-bench" fanout --clients 1000 --delta --transport sse --compare floor
    say "subscriptions: 1,000 symbols, sets of 5"
    "$BIN_DIR/rollcast-bench" fanout --clients 1000 --delta --symbols 1000 --sets 200 --compare floor
    say "idle connections"
    "$BIN_DIR/rollcast-bench" fanout --idle --clients 0,1000
    "$BIN_DIR/rollcast-bench" fanout --idle --clients 1000 --sets 200
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
    "") setup_runtime; use_built_or_build; start_both ;;
    producer) shift; setup_runtime; build_release; exec "$BIN_DIR/rollcast-producer" "$@" ;;
    gateway) shift; setup_runtime; build_release; exec "$BIN_DIR/rollcast-gateway" "$@" ;;
    test) run_tests ;;
    setup) setup_runtime; setup_browser; setup_promtool; setup_haproxy ;;
    bench) shift; run_benchmarks "$@" ;;
    -h|--help|help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//' ;;
    *) say "unknown command '$1'; see ./run.sh --help"; exit 2 ;;
esac
