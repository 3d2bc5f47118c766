#!/usr/bin/env bash
# The example receiver in inbox mode (SQLite, synchronous=FULL) against the
# same receiver in the synchronous mode, side by side over 127.0.0.1:
# deliveries acknowledged per second, p50/p99 time to
# acknowledge, server CPU per delivery, and fsyncs per delivery.
#
# Each run starts a fresh receiver (pinned to core 0, one tokio worker
# thread; in inbox mode the SQLite writer thread shares the core) and a
# fresh inbox file on the disk (never tmpfs, where fsync costs nothing), and
# sends distinct, validly signed 1 KiB Petstore deliveries with
# examples/loadgen.rs from core 1. The server's CPU is read from
# /proc/<pid>/task/*/schedstat from just before the load generator starts
# until every delivery is processed (in inbox mode the worker may finish
# after the last acknowledgement), divided by every delivery sent (warm-up
# included). fsyncs: the receiver's count of SQLite commits (each one sync
# of the write-ahead log, printed at shutdown), and with STRACE=1 the
# fsync/fdatasync calls strace counts (`strace -f -c --seccomp-bpf`; it
# slows those calls, so take the CPU and rate figures from a run without it).
#
# Usage: scripts/bench-inbox.sh [ROUNDS] [CONNECTIONS...]
#   ROUNDS       rounds (default 3); each round runs both modes at each count
#   CONNECTIONS  default: 32 256
# Environment: REQUESTS (measured per run, default 20000), WARMUP (default
# 2000), RECEIVER_LOG (default info: a `handled` line per delivery, as a new
# user runs it), BUILD=0 to skip `cargo build --release`, STRACE=1, DIR (where
# the inbox files go, default $CARGO_TARGET_DIR/bench-inbox).
#
# Only Linux (taskset, /proc). Needs two cores.
set -euo pipefail

cd "$(dirname "$0")/.."
rounds=${1:-3}
shift || true
counts=("${@:-32 256}")
read -r -a counts <<<"${counts[*]}"
requests=${REQUESTS:-20000}
warmup=${WARMUP:-2000}
receiver_log=${RECEIVER_LOG:-info}
secret=bench-secret-0123456789
port=${BASE_PORT:-3201}
admin_port=$((port + 1))
dir=${DIR:-${CARGO_TARGET_DIR:-target}/bench-inbox}
mkdir -p "$dir"

if [ "${BUILD:-1}" != 0 ]; then
    cargo build --release --example receiver --example loadgen >&2
fi
bin=${BIN:-${CARGO_TARGET_DIR:-target}/release/examples}

pid=
cleanup() { [ -z "$pid" ] || kill "$pid" 2>/dev/null || true; wait 2>/dev/null || true; }
trap cleanup EXIT

cpu_ns() { # summed over the server's threads, nanoseconds on a CPU
    cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{ s += $1 } END { print s }'
}

wait_port() {
    for _ in $(seq 200); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.05
    done
    echo "nothing listens on port $1" >&2
    return 1
}

active() { # records still to be processed, from the admin page
    curl -s -H 'Accept: application/json' "http://127.0.0.1:$admin_port/deliveries" |
        python3 -c 'import json,sys; c=json.load(sys.stdin)["counts"]; print(c["pending"]+c["running"]+c["retrying"])'
}

results=$(mktemp)
run() {
    local mode=$1 connections=$2 round=$3 log="$dir/receiver.log" strace_out="$dir/strace.txt"
    local env=(WEBHOOK_SECRET=$secret PORT=$port ADMIN_ADDR=127.0.0.1:$admin_port TOKIO_WORKER_THREADS=1
        RUST_LOG=$receiver_log NO_COLOR=1 MAX_CONCURRENT_HANDLERS=4096)
    local wrap=()
    if [ "$mode" = inbox ]; then
        rm -f "$dir"/inbox.sqlite3*
        env+=(INBOX_URL=sqlite:$dir/inbox.sqlite3)
        if [ "${STRACE:-0}" = 1 ]; then
            wrap=(strace -f -c --seccomp-bpf -e trace=fsync,fdatasync -o "$strace_out")
        fi
    fi
    env "${env[@]}" taskset -c 0 "${wrap[@]}" "$bin/receiver" >"$log" 2>&1 &
    pid=$!
    wait_port "$port"
    local server=$pid
    if [ ${#wrap[@]} -gt 0 ]; then # strace's child is the receiver
        server=$(pgrep -P "$pid" -f "$bin/receiver" | head -1)
    fi
    local before line after
    before=$(cpu_ns "$server")
    line=$(taskset -c 1 "$bin/loadgen" --url "http://127.0.0.1:$port/webhooks" --secret "$secret" \
        --connections "$connections" --requests "$requests" --warmup "$warmup" --duration 120 --body-size 1024)
    case $line in
    *"statuses[200=$requests]"*) ;;
    *) echo "unexpected answers ($mode): $line" >&2; exit 1 ;;
    esac
    if [ "$mode" = inbox ]; then
        for _ in $(seq 1200); do [ "$(active)" = 0 ] && break; sleep 0.05; done
    fi
    after=$(cpu_ns "$server")
    kill -TERM "$pid"
    wait "$pid" 2>/dev/null || true
    pid=
    local deliveries=$((requests + warmup)) commits=- syscalls=-
    commits=$(sed -n 's/.* inbox_transactions=\([0-9]*\).*/\1/p' "$log" | tail -1)
    [ -n "$commits" ] || commits=-
    if [ -f "$strace_out" ] && [ "$mode" = inbox ] && [ "${STRACE:-0}" = 1 ]; then
        syscalls=$(awk '/fsync|fdatasync/ { s += $4 } END { print s + 0 }' "$strace_out")
        rm -f "$strace_out"
    fi
    local rps p50 p99
    rps=$(sed -n 's/.* rps=\([0-9]*\) .*/\1/p' <<<"$line")
    p50=$(sed -n 's/.* p50=\([0-9.]*\)us.*/\1/p' <<<"$line")
    p99=$(sed -n 's/.* p99=\([0-9.]*\)us.*/\1/p' <<<"$line")
    local cpu_us
    cpu_us=$(python3 -c "print(f'{($after - $before) / 1000 / $deliveries:.2f}')")
    echo "$mode $connections $round $rps $p50 $p99 $cpu_us $commits $syscalls $deliveries" | tee -a "$results" >&2
}

for round in $(seq "$rounds"); do
    for connections in "${counts[@]}"; do
        echo "# round $round/$rounds, $connections connections" >&2
        run sync "$connections" "$round"
        run inbox "$connections" "$round"
    done
done

python3 - "$results" <<'EOF'
import statistics, sys
rows = [line.split() for line in open(sys.argv[1])]
med = lambda xs: statistics.median(xs) if xs else float("nan")
print(f"{'conns':>5} {'mode':>6} {'acks/s':>8} {'p50 ms':>7} {'p99 ms':>7} {'CPU us/delivery':>15} {'fsyncs/delivery':>15}")
for conns in sorted({int(r[1]) for r in rows}):
    figures = {}
    for mode in ("sync", "inbox"):
        rs = [r for r in rows if r[0] == mode and int(r[1]) == conns]
        rps = med([float(r[3]) for r in rs])
        p50 = med([float(r[4]) for r in rs]) / 1000
        p99 = med([float(r[5]) for r in rs]) / 1000
        cpu = med([float(r[6]) for r in rs])
        commits = [int(r[7]) / int(r[9]) for r in rs if r[7] != "-"]
        syscalls = [int(r[8]) / int(r[9]) for r in rs if r[8] != "-"]
        fs = f"{med(commits):.3f}" if commits else "-"
        if syscalls:
            fs += f" ({med(syscalls):.3f} strace)"
        figures[mode] = (rps, cpu)
        print(f"{conns:>5} {mode:>6} {rps:>8.0f} {p50:>7.2f} {p99:>7.2f} {cpu:>15.2f} {fs:>15}")
    (sr, sc), (ir, ic) = figures["sync"], figures["inbox"]
    print(f"{conns:>5} inbox/sync: rate {ir / sr:.2f} (goal >= 0.5), CPU per delivery {ic / sc:.2f}")
EOF
