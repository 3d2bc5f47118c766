//! The receivers in a loop, in process, for `perf`:
//! `cargo bench --bench profile -- [ROUTE] [DELIVERIES]`.
//!
//! `ROUTE` is `unverified`, `handrolled`, `handrolled-typed` or `layer` (the routes of
//! `examples/baselines.rs`), `receiver` (the router of
//! `examples/receiver.rs` with no `tracing` subscriber: its span's records
//! then go on to the `log` crate, about 700 instructions a delivery more
//! than under a subscriber that does not want them), or `receiver+fmt` (the
//! same with a `tracing_subscriber::fmt` subscriber writing to a sink,
//! filtered by `RUST_LOG`, default `info`; with `RUST_LOG=warn` this is the
//! example as it runs at `warn`). `DELIVERIES`
//! defaults to 200,000. It prints the mean wall time per delivery; the HTTP
//! load test (`scripts/bench-http.sh`) is the measure to quote, this is the
//! one to profile without the kernel's share. The deliveries are those of
//! `benches/allocs.rs`: 1 KiB Petstore envelopes, each with a fresh id,
//! built and signed in batches of `BATCH` outside the timed part.
//!
//! With `PERF_CTL` set to a `perf record --control fifo:...` path, the
//! profile covers only the timed part:
//!
//! ```text
//! mkfifo /tmp/perf.ctl
//! PERF_CTL=/tmp/perf.ctl perf record --control fifo:/tmp/perf.ctl -D -1 \
//!     --call-graph dwarf -o perf.data target/release/deps/profile-<hash> receiver
//! ```
//!
//! (Build it with `CARGO_PROFILE_BENCH_DEBUG=true cargo bench --bench profile
//! --no-run` for symbols with line numbers.)

// Both examples include `examples/support/serve.rs`, their shared server loop.
#![allow(clippy::duplicate_mod)]

use std::io::Write;
use std::sync::atomic::AtomicU64;
use std::time::{Duration, Instant};

use in_process::{deliveries, drive};

/// Deliveries built, then driven, at a time: few enough that their requests
/// are still in the cache when driven, as a request fresh off the socket is.
const BATCH: usize = 256;

#[path = "support/in_process.rs"]
mod in_process;

/// Tells `perf` (through its control fifo) to record or to stop.
struct PerfControl(Option<std::fs::File>);

impl PerfControl {
    fn from_env() -> Self {
        Self(std::env::var_os("PERF_CTL").map(|path| {
            std::fs::OpenOptions::new()
                .write(true)
                .open(path)
                .expect("PERF_CTL: a perf control fifo")
        }))
    }

    fn send(&mut self, command: &[u8]) {
        if let Some(fifo) = &mut self.0 {
            fifo.write_all(command).expect("perf control fifo");
            // perf reads the fifo asynchronously: give it a moment.
            std::thread::sleep(Duration::from_micros(200));
        }
    }
}

fn main() {
    // `cargo bench` passes `--bench`; the route and count come after it.
    let mut args = std::env::args().skip(1).filter(|arg| !arg.starts_with("--"));
    let route = args.next().unwrap_or_else(|| "receiver".to_owned());
    let count: usize = args
        .next()
        .map_or(200_000, |n| n.parse().expect("DELIVERIES: a number"));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let (app, path) = match route.as_str() {
        "unverified" | "handrolled" | "handrolled-typed" | "layer" => (in_process::baselines(), format!("/{route}")),
        "receiver" | "receiver+fmt" => (in_process::receiver(&runtime), "/webhooks".to_owned()),
        other => panic!("unknown route {other:?}: unverified, handrolled, handrolled-typed, layer, receiver or receiver+fmt"),
    };
    if route == "receiver+fmt" {
        let filter = tracing_subscriber::EnvFilter::try_from_default_env()
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
        tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_ansi(false)
            .with_writer(std::io::sink)
            .init();
    }
    let ids = AtomicU64::new(1);
    let mut perf = PerfControl::from_env();
    let mut timed = Duration::ZERO;
    for _ in 0..count.div_ceil(BATCH) {
        let requests = deliveries(&path, BATCH, &ids);
        perf.send(b"enable\n");
        let start = Instant::now();
        runtime.block_on(drive(&app, requests));
        timed += start.elapsed();
        perf.send(b"disable\n");
    }
    let driven = count.div_ceil(BATCH) * BATCH;
    println!(
        "{route}: {:.3} us per delivery",
        timed.as_secs_f64() * 1e6 / driven as f64
    );
}
