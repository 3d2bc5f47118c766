#!/usr/bin/env bash
# Server CPU per request of three webhook receivers (five with LAYER=1 and
# TYPED=1, below), side by side, over 127.0.0.1:
#
#   unverified  the axum route of examples/baselines.rs that reads the body
#               and answers 200 (no checks: the HTTP stack's own cost);
#   handrolled  the careful hand-rolled handler of examples/baselines.rs
#               (hmac + subtle + Mutex<LruCache> + serde);
#   receiver    examples/receiver.rs (WebhookLayer + LruGuard + Webhook<T>,
#               the Petstore scheme, its observer, metrics and dead letters).
#
# Both binaries are served the same way (examples/support/serve.rs: the
# multi-threaded runtime, the HTTP/1.1 loop with its header-read timeout).
# Each server is pinned to core 0 with one tokio worker thread; the load
# generator (examples/loadgen.rs) runs on core 1 with 32 keep-alive
# connections and sends distinct, validly signed Petstore deliveries. The CPU
# time comes from /proc/<pid>/task/*/schedstat (first field, summed over the
# server's threads over the timed part of the run), divided by the requests.
# The three receivers run interleaved, round after round; the summary gives
# each one's median and the ratios of the medians, and the medians of the
# ratios taken within each round.
#
# Usage: scripts/bench-http.sh [ROUNDS] [SIZES...]
#   ROUNDS   rounds per body size (default 5)
#   SIZES    body sizes in bytes (default: 1024)
# Environment: REQUESTS (measured per run, default 20000), WARMUP (default
# 2000), CONNECTIONS (default 32), RECEIVER_LOG (the receiver's RUST_LOG,
# default info: its `handled` line per delivery, as a new user runs it; the
# output goes to /dev/null), BUILD=0 to skip `cargo build`, BIN (the
# directory of the three binaries, default target/release/examples), and
# BEFORE=<dir>: another build's binaries (say, of the parent commit) whose
# receiver runs as a fourth, `receiver@before`, in the same rounds, for a
# before/after ratio from one run. LAYER=1 adds the `/layer` route of
# examples/baselines.rs (WebhookLayer + LruGuard in front of a trivial
# handler: no observer, no log line, no typed decode) as `layer-only`.
# TYPED=1 adds the `/handrolled-typed` route of examples/baselines.rs (the
# hand-rolled handler, parsing the whole event into a typed struct, as the
# receiver's `Webhook<PetstoreEvent>` does) as `handrolled-typed`.
#
# Only Linux (taskset, /proc). Needs two cores; on a shared machine, read the
# spread between rounds printed with the medians before trusting a ratio.
set -euo pipefail

cd "$(dirname "$0")/.."
rounds=${1:-5}
shift || true
sizes=("${@:-1024}")
requests=${REQUESTS:-20000}
warmup=${WARMUP:-2000}
connections=${CONNECTIONS:-32}
receiver_log=${RECEIVER_LOG:-info}
secret=bench-secret-0123456789
base_port=${BASE_PORT:-3101}
recv_port=$((base_port + 1))

if [ "${BUILD:-1}" != 0 ]; then
    cargo build --release --example baselines --example receiver --example loadgen >&2
fi
bin=${BIN:-target/release/examples}
before=${BEFORE:-}

pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
}
trap cleanup EXIT

WEBHOOK_SECRET=$secret PORT=$base_port TOKIO_WORKER_THREADS=1 taskset -c 0 "$bin/baselines" >/dev/null &
baselines=$!
pids+=("$baselines")
WEBHOOK_SECRET=$secret PORT=$recv_port TOKIO_WORKER_THREADS=1 RUST_LOG=$receiver_log \
    REPLAY_CAPACITY=10000 taskset -c 0 "$bin/receiver" >/dev/null 2>&1 &
receiver=$!
pids+=("$receiver")

if [ -n "$before" ]; then
    WEBHOOK_SECRET=$secret PORT=$((base_port + 2)) TOKIO_WORKER_THREADS=1 RUST_LOG=$receiver_log \
        REPLAY_CAPACITY=10000 taskset -c 0 "$before/receiver" >/dev/null 2>&1 &
    receiver_before=$!
    pids+=("$receiver_before")
fi

wait_port() {
    for _ in $(seq 100); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.1
    done
    echo "nothing listens on port $1" >&2
    return 1
}
wait_port "$base_port"
wait_port "$recv_port"
[ -z "$before" ] || wait_port $((base_port + 2))

results=$(mktemp)
# One run: prints "name size cpu_per_req rps".
run() {
    local name=$1 url=$2 pid=$3 size=$4 line
    line=$(taskset -c 1 "$bin/loadgen" --url "$url" --secret "$secret" --server-pid "$pid" \
        --connections "$connections" --requests "$requests" --warmup "$warmup" \
        --duration 60 --body-size "$size")
    case $line in
    *"statuses[200=$requests]"*) ;;
    *) echo "unexpected answers from $name: $line" >&2; exit 1 ;;
    esac
    local cpu rps
    cpu=$(sed -n 's/.*server_cpu_per_req=\([0-9.]*\)us.*/\1/p' <<<"$line")
    rps=$(sed -n 's/.* rps=\([0-9]*\) .*/\1/p' <<<"$line")
    echo "$name $size $cpu $rps $round" | tee -a "$results" >&2
}

for size in "${sizes[@]}"; do
    for round in $(seq "$rounds"); do
        echo "# body ${size} B, round $round/$rounds" >&2
        run unverified "http://127.0.0.1:$base_port/unverified" "$baselines" "$size"
        run handrolled "http://127.0.0.1:$base_port/handrolled" "$baselines" "$size"
        run receiver "http://127.0.0.1:$recv_port/webhooks" "$receiver" "$size"
        if [ "${TYPED:-0}" = 1 ]; then
            run handrolled-typed "http://127.0.0.1:$base_port/handrolled-typed" "$baselines" "$size"
        fi
        if [ "${LAYER:-0}" = 1 ]; then
            run layer-only "http://127.0.0.1:$base_port/layer" "$baselines" "$size"
        fi
        if [ -n "$before" ]; then
            run receiver@before "http://127.0.0.1:$((base_port + 2))/webhooks" "$receiver_before" "$size"
        fi
    done
done

python3 - "$results" <<'EOF'
import statistics, sys
rows = [line.split() for line in open(sys.argv[1])]
sizes = sorted({int(r[1]) for r in rows})
print(f"{'body':>7} {'receiver':>16} {'median us':>10} {'min-max us':>14} {'req/s':>8}")
for size in sizes:
    med = {}
    for name in ("unverified", "handrolled", "handrolled-typed", "receiver", "layer-only", "receiver@before"):
        cpu = [float(r[2]) for r in rows if r[0] == name and int(r[1]) == size]
        if not cpu:
            continue
        rps = [float(r[3]) for r in rows if r[0] == name and int(r[1]) == size]
        med[name] = statistics.median(cpu)
        print(f"{size:>7} {name:>16} {med[name]:>10.2f} {min(cpu):>6.2f}-{max(cpu):<7.2f} {statistics.median(rps):>8.0f}")
    u, h, r = med["unverified"], med["handrolled"], med["receiver"]
    print(f"{size:>7} hand-rolled/receiver CPU = {h / r:.2f} (goal >= 1.0, aim 1.1); "
          f"overhead over unverified: receiver {r - u:.2f} us, hand-rolled {h - u:.2f} us, "
          f"ratio {(r - u) / (h - u) if h != u else float('nan'):.2f} (goal <= 0.8)")
    if "handrolled-typed" in med:
        t = med["handrolled-typed"]
        print(f"{size:>7} like for like: handrolled-typed/receiver CPU = {t / r:.2f}; "
              f"overhead ratio {(r - u) / (t - u) if t != u else float('nan'):.2f}")
    if "receiver@before" in med:
        print(f"{size:>7} receiver before/after CPU = {med['receiver@before'] / r:.2f}")
    # The same ratios taken within each round (the receivers ran one after
    # the other), then their median: steadier than the ratio of medians
    # when the host's load drifts between rounds.
    def paired(num, den):
        per = {}
        for row in rows:
            if int(row[1]) == size and row[0] in (num, den):
                per.setdefault(row[4], {})[row[0]] = float(row[2])
        ratios = [p[num] / p[den] for p in per.values() if num in p and den in p]
        return statistics.median(ratios) if ratios else float("nan")
    pairs = [("handrolled", "receiver"), ("handrolled-typed", "receiver"), ("handrolled", "layer-only"),
             ("receiver@before", "receiver")]
    shown = [f"{n}/{d} {paired(n, d):.2f}" for n, d in pairs if n in med and d in med]
    print(f"{size:>7} per-round medians: " + ", ".join(shown))
EOF
rm -f "$results"
