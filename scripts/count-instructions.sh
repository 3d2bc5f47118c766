#!/usr/bin/env bash
# User-space instructions per request of the receivers of
# scripts/bench-http.sh, counted by valgrind (callgrind) over real HTTP on
# 127.0.0.1.
#
# The CPU time per request that bench-http.sh measures moves by several
# percent between runs on a shared machine; an instruction count does not.
# Each server runs under callgrind (one tokio worker thread) and is sent
# SMALL, then, in a fresh process, LARGE deliveries by examples/loadgen.rs
# (1 KiB Petstore deliveries, each distinct and validly signed, over one
# keep-alive connection by default); the difference divided by LARGE - SMALL
# is the count per request, start-up and connection set-up taken out. The whole process is
# counted: hyper, tokio, axum, the allocator, the layer and the handler.
#
# Valgrind's CPU has no SHA extensions, so sha2 runs its software SHA-256
# here (about 62 k instructions per 1 KiB HMAC) where the real CPU uses
# SHA-NI: the table also gives each count without `compress256`, which is
# the figure to compare for the work around the HMAC (it also leaves out the
# two compressions the hand-rolled handler spends keying its HMAC on every
# request, which the layer does once). The kernel's share (the socket calls)
# is not counted at all.
#
# Usage: scripts/count-instructions.sh [SMALL] [LARGE]   (default 1000 5000)
# Environment: BUILD=0 to skip `cargo build`, BIN (default
# target/release/examples), RECEIVER_LOG (the receiver's RUST_LOG, default
# warn), SIZE (body bytes, default 1024), CONNECTIONS (default 1: a request
# per wake-up, so repeated runs agree within about 0.3%; with the 32 of
# bench-http.sh, how many requests one wake-up serves varies, and so do the
# counts, by about 1%), ROUTES (default "unverified handrolled
# handrolled-typed layer receiver"), KEEP=<dir> to keep the callgrind files there (for
# callgrind_annotate).
#
# Needs valgrind (`apt-get install -y valgrind`); takes about a minute per
# route at the defaults.
set -euo pipefail

cd "$(dirname "$0")/.."
small=${1:-1000}
large=${2:-5000}
size=${SIZE:-1024}
routes=${ROUTES:-unverified handrolled handrolled-typed layer receiver}
secret=bench-secret-0123456789
bin=${BIN:-target/release/examples}
work=${KEEP:-$(mktemp -d)}
mkdir -p "$work"

command -v valgrind >/dev/null || { echo "valgrind is needed: apt-get install -y valgrind" >&2; exit 1; }
if [ "${BUILD:-1}" != 0 ]; then
    cargo build --release --example baselines --example receiver --example loadgen >&2
fi

pid=
cleanup() {
    [ -z "$pid" ] || kill "$pid" 2>/dev/null || true
    [ -n "${KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT

# One server under callgrind, sent `n` deliveries; prints its total count.
count() {
    local route=$1 n=$2 port=$3 binary path out
    case $route in
    receiver) binary=receiver path=webhooks ;;
    *) binary=baselines path=$route ;;
    esac
    out="$work/$route.$n.callgrind"
    WEBHOOK_SECRET=$secret PORT=$port TOKIO_WORKER_THREADS=1 RUST_LOG=${RECEIVER_LOG:-warn} \
        REPLAY_CAPACITY=10000 valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$out" \
        "$bin/$binary" >/dev/null 2>"$work/$route.$n.log" &
    pid=$!
    for _ in $(seq 300); do
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
        sleep 0.1
    done
    # Counted from here: start-up (the metrics exporter calibrates its clock
    # for a time that varies from run to run) is left out.
    callgrind_control --instr=on "$pid" >/dev/null
    local line
    line=$("$bin/loadgen" --url "http://127.0.0.1:$port/$path" --secret "$secret" \
        --connections "${CONNECTIONS:-1}" --requests "$n" --warmup 0 --duration 300 --body-size "$size")
    case $line in
    *"statuses[200=$n]"*) ;;
    *) echo "unexpected answers from $route: $line" >&2; exit 1 ;;
    esac
    if [ "$route" = receiver ]; then
        # The metrics exporter folds the histogram samples in every 5 s, and
        # on a scrape: scrape once, so that every sample of the run is folded
        # in whatever the timing, and the count does not depend on how many
        # of its periodic passes fell in the run.
        exec 3<>"/dev/tcp/127.0.0.1/$port"
        printf 'GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n' >&3
        cat <&3 >/dev/null
        exec 3>&-
    fi
    # SIGINT: the receiver drains and exits; callgrind writes its file.
    kill -INT "$pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    pid=
    echo "$out"
}

port=${BASE_PORT:-3201}
results="$work/results"
: >"$results"
for route in $routes; do
    a=$(count "$route" "$small" "$port")
    b=$(count "$route" "$large" $((port + 1)))
    port=$((port + 2))
    echo "$route $a $b" >>"$results"
    echo "# counted $route" >&2
done

python3 - "$results" "$small" "$large" <<'EOF'
import re, subprocess, sys
rows = [line.split() for line in open(sys.argv[1])]
small, large = int(sys.argv[2]), int(sys.argv[3])

def counts(path):
    """The total, and the self cost of sha2's compress256."""
    out = subprocess.run(["callgrind_annotate", "--threshold=100", path],
                         capture_output=True, text=True, check=True).stdout
    total = int(re.search(r"^([\d,]+) \(100.0%\)\s+PROGRAM TOTALS", out, re.M).group(1).replace(",", ""))
    sha = sum(int(m.group(1).replace(",", ""))
              for m in re.finditer(r"^\s*([\d,]+) \([^)]*\)\s+\S*compress256", out, re.M))
    return total, sha

per = {}
for route, a, b in rows:
    (ta, sa), (tb, sb) = counts(a), counts(b)
    n = large - small
    per[route] = ((tb - ta) / n, ((tb - sb) - (ta - sa)) / n)
print(f"{'route':>16} {'instr/req':>10} {'w/o SHA-256':>12}")
for route, (total, rest) in per.items():
    print(f"{route:>16} {total:>10.0f} {rest:>12.0f}")
if {"unverified", "handrolled", "receiver"} <= per.keys():
    u, h, r = per["unverified"][1], per["handrolled"][1], per["receiver"][1]
    print(f"without SHA-256: handrolled/receiver = {h / r:.2f}; over unverified, "
          f"receiver +{r - u:.0f}, hand-rolled +{h - u:.0f} (ratio {(r - u) / (h - u):.2f})")
    if "layer" in per:
        l = per["layer"][1]
        print(f"without SHA-256: handrolled/layer = {h / l:.2f}; layer +{l - u:.0f} over unverified")
    if "handrolled-typed" in per:
        t = per["handrolled-typed"][1]
        print(f"without SHA-256: handrolled-typed/receiver = {t / r:.2f}; handrolled-typed +{t - u:.0f} "
              f"over unverified (receiver's overhead ratio against it {(r - u) / (t - u):.2f})")
EOF
