#!/usr/bin/env bash
# The example receiver's inbox on PostgreSQL, with one and with three
# receivers on one database, against the SQLite inbox, in one run over
# 127.0.0.1 (issue 26): deliveries acknowledged per second, server CPU per
# delivery (the receivers' and the database's), and the database's round
# trips per delivery.
#
# The script starts a PostgreSQL cluster of its own (initdb in $DIR on the
# disk, fsync and synchronous_commit on, a free port; as the `postgres`
# user when run as root), so that its processes' CPU is the inbox's alone,
# and a fresh database per run. Each run starts fresh receivers (pinned to
# core 0, one tokio worker thread each; with three, each gets a third of the
# connections from its own load generator), sends distinct, validly signed
# 1 KiB Petstore deliveries with examples/loadgen.rs from core 1, and waits
# until every stored delivery is processed. CPU: /proc/<pid>/task/*/schedstat
# of the receivers, and of every process of the cluster, from just before
# the load starts until the last record is done, over every delivery sent
# (warm-up included). Round trips: the store's statement count
# (`PostgresInbox::statements`, printed by each receiver at shutdown: its
# enqueues, leases, heartbeats, settles, and the BEGIN and settle+COMMIT of
# the handler's transaction, not the handler's own INSERT), and the
# database's committed transactions (pg_stat_database.xact_commit).
#
# Usage: scripts/bench-inbox-postgres.sh [ROUNDS] [CONNECTIONS]
#   ROUNDS       rounds (default 3); each runs sqlite, postgres x1, postgres x3
#   CONNECTIONS  in all, spread over the receivers (default 32)
# Environment: REQUESTS (measured per run, default 20000), WARMUP (default
# 2000), RECEIVER_LOG (default info), BUILD=0 to skip `cargo build
# --release`, PG_BIN (default: Debian's newest /usr/lib/postgresql/*/bin),
# DIR (default $CARGO_TARGET_DIR/bench-inbox-postgres).
#
# Only Linux (taskset, /proc). Needs two cores.
set -euo pipefail

cd "$(dirname "$0")/.."
rounds=${1:-3}
connections=${2:-32}
requests=${REQUESTS:-20000}
warmup=${WARMUP:-2000}
receiver_log=${RECEIVER_LOG:-info}
secret=bench-secret-0123456789
base_port=${BASE_PORT:-3211}
dir=$(realpath -m "${DIR:-${CARGO_TARGET_DIR:-target}/bench-inbox-postgres}")
pg_bin=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}
pg_port=${PG_PORT:-55499}
mkdir -p "$dir"

if [ "${BUILD:-1}" != 0 ]; then
    cargo build --release --features postgres --example receiver --example loadgen >&2
fi
bin=${BIN:-${CARGO_TARGET_DIR:-target}/release/examples}

as_pg=()
if [ "$(id -u)" = 0 ]; then as_pg=(runuser -u postgres --); fi
cluster=$dir/cluster
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    "${as_pg[@]}" "$pg_bin/pg_ctl" -D "$cluster" -m fast -w stop >/dev/null 2>&1 || true
}
trap cleanup EXIT

rm -rf "$cluster" && mkdir -p "$cluster"
[ ${#as_pg[@]} -eq 0 ] || chown postgres:postgres "$cluster"
"${as_pg[@]}" "$pg_bin/initdb" -D "$cluster" -A trust -U postgres >/dev/null
"${as_pg[@]}" "$pg_bin/pg_ctl" -D "$cluster" -l "$cluster/postgres.log" -w \
    -o "-p $pg_port -k $cluster -c listen_addresses=127.0.0.1 -c max_connections=200" start >/dev/null
psql() { command psql "postgres://postgres@127.0.0.1:$pg_port/${1:-postgres}" -qAt -c "$2"; }
postmaster=$(head -1 "$cluster/postmaster.pid")

cpu_ns() { # summed over the threads of the processes given, nanoseconds on a CPU
    local s=0 pid
    for pid in "$@"; do
        s=$((s + $(cat /proc/"$pid"/task/*/schedstat 2>/dev/null | awk '{ s += $1 } END { printf "%d\n", s }')))
    done
    echo "$s"
}
cluster_cpu() { # the postmaster and its children, those alive now
    cpu_ns "$postmaster" $(pgrep -P "$postmaster" || true)
}

wait_port() {
    for _ in $(seq 200); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.05
    done
    echo "nothing listens on port $1" >&2
    return 1
}

results=$(mktemp)
run() {
    local mode=$1 round=$2 replicas=1 url= db=
    case $mode in
    sqlite) rm -f "$dir"/inbox.sqlite3* && url=sqlite:$dir/inbox.sqlite3 ;;
    pg1 | pg3)
        db=bench_${round}_${mode}_$RANDOM
        psql postgres "CREATE DATABASE $db"
        url=postgres://postgres@127.0.0.1:$pg_port/$db
        [ "$mode" = pg3 ] && replicas=3
        ;;
    esac
    pids=()
    local servers=() i
    for i in $(seq 0 $((replicas - 1))); do
        env WEBHOOK_SECRET=$secret PORT=$((base_port + 2 * i)) ADMIN_ADDR=127.0.0.1:$((base_port + 2 * i + 1)) \
            TOKIO_WORKER_THREADS=1 RUST_LOG=$receiver_log NO_COLOR=1 MAX_CONCURRENT_HANDLERS=4096 INBOX_URL=$url \
            taskset -c 0 "$bin/receiver" >"$dir/receiver$i.log" 2>&1 &
        pids+=($!)
        wait_port $((base_port + 2 * i))
    done
    servers=("${pids[@]}")
    local commits_before cluster_before before
    [ -z "$db" ] || commits_before=$(psql postgres "SELECT xact_commit FROM pg_stat_database WHERE datname = '$db'")
    cluster_before=$(cluster_cpu)
    before=$(cpu_ns "${servers[@]}")
    local gens=() outs=()
    for i in $(seq 0 $((replicas - 1))); do
        local share=$((connections / replicas + (i < connections % replicas ? 1 : 0)))
        taskset -c 1 "$bin/loadgen" --url "http://127.0.0.1:$((base_port + 2 * i))/webhooks" --secret "$secret" \
            --connections "$share" --requests $((requests / replicas)) --warmup $((warmup / replicas)) \
            --duration 300 --body-size 1024 --run-tag "$mode$round$i$(date +%s%N)" >"$dir/loadgen$i.txt" &
        gens+=($!)
    done
    for pid in "${gens[@]}"; do wait "$pid"; done
    local rps=0 line
    for i in $(seq 0 $((replicas - 1))); do
        line=$(cat "$dir/loadgen$i.txt")
        case $line in
        *"statuses[200=$((requests / replicas))]"*) ;;
        *) echo "unexpected answers ($mode, receiver $i): $line" >&2; exit 1 ;;
        esac
        rps=$((rps + $(sed -n 's/.* rps=\([0-9]*\) .*/\1/p' <<<"$line")))
    done
    local active
    for _ in $(seq 2400); do
        active=$(curl -s -H 'Accept: application/json' "http://127.0.0.1:$((base_port + 1))/deliveries" |
            python3 -c 'import json,sys; c=json.load(sys.stdin)["counts"]; print(c["pending"]+c["running"]+c["retrying"])')
        [ "$active" = 0 ] && break
        sleep 0.05
    done
    local after cluster_after
    after=$(cpu_ns "${servers[@]}")
    cluster_after=$(cluster_cpu)
    local commits=- statements=0
    [ -z "$db" ] || commits=$(($(psql postgres "SELECT xact_commit FROM pg_stat_database WHERE datname = '$db'") - commits_before))
    for pid in "${servers[@]}"; do kill -TERM "$pid"; done
    for pid in "${servers[@]}"; do wait "$pid" 2>/dev/null || true; done
    pids=()
    for i in $(seq 0 $((replicas - 1))); do
        statements=$((statements + $(sed -n 's/.* inbox_statements=\([0-9]*\).*/\1/p' "$dir/receiver$i.log" | tail -1 | grep . || echo 0)))
    done
    [ -z "$db" ] || psql postgres "DROP DATABASE $db WITH (FORCE)"
    local deliveries=$(((requests / replicas + warmup / replicas) * replicas))
    echo "$mode $round $rps $((after - before)) $((cluster_after - cluster_before)) $statements $commits $deliveries" |
        tee -a "$results" >&2
}

for round in $(seq "$rounds"); do
    echo "# round $round/$rounds, $connections connections" >&2
    run sqlite "$round"
    run pg1 "$round"
    run pg3 "$round"
done

python3 - "$results" "$connections" <<'EOF'
import statistics, sys
rows = [line.split() for line in open(sys.argv[1])]
med = statistics.median
print(f"{sys.argv[2]} connections, medians of {len(rows) // 3} rounds")
print(f"{'mode':>10} {'acks/s':>8} {'receivers us':>12} {'database us':>11} {'total us':>9} {'statements':>10} {'commits':>8}  (per delivery)")
figures = {}
for mode, name in (("sqlite", "sqlite"), ("pg1", "pg x1"), ("pg3", "pg x3")):
    rs = [r for r in rows if r[0] == mode]
    rps = med(float(r[2]) for r in rs)
    recv = med(int(r[3]) / 1000 / int(r[7]) for r in rs)
    db = med(int(r[4]) / 1000 / int(r[7]) for r in rs) if mode != "sqlite" else 0.0
    st = f"{med(int(r[5]) / int(r[7]) for r in rs):.2f}" if mode != "sqlite" else "-"
    cm = f"{med(int(r[6]) / int(r[7]) for r in rs):.2f}" if mode != "sqlite" else "-"
    figures[mode] = (rps, recv + db)
    print(f"{name:>10} {rps:>8.0f} {recv:>12.1f} {db:>11.1f} {recv + db:>9.1f} {st:>10} {cm:>8}")
(sr, sc), (p1r, p1c), (p3r, p3c) = figures["sqlite"], figures["pg1"], figures["pg3"]
print(f"pg x1 / sqlite: rate {p1r / sr:.2f}, CPU per delivery {p1c / sc:.2f}")
print(f"pg x3 / sqlite: rate {p3r / sr:.2f}, CPU per delivery {p3c / sc:.2f}")
print(f"pg x3 / pg x1: rate {p3r / p1r:.2f}, CPU per delivery {p3c / p1c:.2f}")
EOF
