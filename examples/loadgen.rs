//! An HTTP load generator for webhook receivers: pre-signed Petstore
//! deliveries over keep-alive HTTP/1.1 connections to 127.0.0.1.
//!
//! Run with `cargo run --release --example loadgen -- --url http://127.0.0.1:3001/layer --secret ...`
//! against `examples/baselines.rs` or `examples/receiver.rs`.
//!
//! Every delivery is signed before the clock starts, each with its own event
//! id (1 KiB bodies by default), except a chosen share of exact resends of an
//! earlier delivery (`--duplicates`) and of deliveries with a wrong signature
//! (`--bad`). They are sent in order over `--connections` connections (raw
//! hyper `client::conn::http1`, no pool), each connection sending its next
//! request when the previous answer is read. The first `--warmup` deliveries
//! are not measured. The run stops after `--requests` deliveries or
//! `--duration` seconds, whichever comes first, and prints requests per
//! second, p50/p99 latency and the count of every status code.
//!
//! With `--server-pid`, it also reads the server's CPU time from the kernel's
//! per-thread accounting (`/proc/<pid>/task/*/schedstat`, first field: time
//! on a CPU, in nanoseconds, summed over the threads) when the measured part
//! starts and when it ends, and prints the difference divided by the measured
//! requests as `server_cpu_per_req`: the figure to trust on a small machine,
//! where the load generator, not the server, often sets the requests per
//! second. `scripts/bench-http.sh` runs the three receivers side by side.
//!
//! Event ids carry a tag unique to the run (`--run-tag`, by default the clock
//! in nanoseconds), so a second run against the same server sends new ids,
//! not duplicates the server remembers. The envelope is a valid Petstore
//! `order.created` event (`data` has `orderId` and `status`), padded in a
//! `note` field to the body size.
//!
//! Options (defaults in brackets): `--url` [http://127.0.0.1:3001/webhooks],
//! `--secret` [$WEBHOOK_SECRET], `--connections` [16], `--requests` [100000],
//! `--warmup` [5000], `--duration` [30], `--body-size` [1024],
//! `--duplicates` [0.0], `--bad` [0.0], `--server-pid` [none], `--run-tag`
//! [the clock].

use std::collections::BTreeMap;
use std::error::Error;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::header::{HeaderValue, CONTENT_TYPE, HOST};
use http::{Request, Uri};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tower_webhook::scheme::Spec;
use tower_webhook::Secret;

type BoxError = Box<dyn Error + Send + Sync>;

#[derive(Debug)]
struct Options {
    url: Uri,
    secret: String,
    connections: usize,
    requests: usize,
    warmup: usize,
    duration: Duration,
    body_size: usize,
    duplicates: f64,
    bad: f64,
    server_pid: Option<u32>,
    run_tag: String,
}

impl Options {
    fn parse() -> Result<Self, BoxError> {
        let mut options = Options {
            url: Uri::from_static("http://127.0.0.1:3001/webhooks"),
            secret: std::env::var("WEBHOOK_SECRET").unwrap_or_default(),
            connections: 16,
            requests: 100_000,
            warmup: 5_000,
            duration: Duration::from_secs(30),
            body_size: 1024,
            duplicates: 0.0,
            bad: 0.0,
            server_pid: None,
            run_tag: format!(
                "{:x}",
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_nanos())
            ),
        };
        let mut args = std::env::args().skip(1);
        while let Some(flag) = args.next() {
            let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
            match flag.as_str() {
                "--url" => options.url = value()?.parse()?,
                "--secret" => options.secret = value()?,
                "--connections" => options.connections = value()?.parse()?,
                "--requests" => options.requests = value()?.parse()?,
                "--warmup" => options.warmup = value()?.parse()?,
                "--duration" => options.duration = Duration::from_secs_f64(value()?.parse()?),
                "--body-size" => options.body_size = value()?.parse()?,
                "--duplicates" => options.duplicates = value()?.parse()?,
                "--bad" => options.bad = value()?.parse()?,
                "--server-pid" => options.server_pid = Some(value()?.parse()?),
                "--run-tag" => options.run_tag = value()?,
                other => {
                    return Err(
                        format!("unknown option {other}; see the docs at the top of loadgen.rs").into(),
                    )
                }
            }
        }
        if options.secret.is_empty() {
            return Err("pass --secret or set WEBHOOK_SECRET".into());
        }
        let host = options.url.host().unwrap_or_default();
        if !matches!(host, "127.0.0.1" | "localhost" | "[::1]") {
            return Err("loadgen only sends to 127.0.0.1, localhost or [::1]".into());
        }
        if !options.run_tag.bytes().all(|b| b.is_ascii_alphanumeric()) || options.run_tag.len() > 32 {
            return Err("--run-tag is up to 32 ASCII letters and digits".into());
        }
        if options.connections == 0 || options.body_size < 192 {
            return Err("--connections must be positive and --body-size at least 192".into());
        }
        if !(0.0..=1.0).contains(&(options.duplicates + options.bad))
            || options.duplicates < 0.0
            || options.bad < 0.0
        {
            return Err("--duplicates and --bad are shares between 0 and 1".into());
        }
        Ok(options)
    }
}

/// One pre-signed delivery.
#[derive(Clone)]
struct Delivery {
    body: Bytes,
    signature: HeaderValue,
}

/// A Petstore `order.created` envelope of exactly `len` bytes for the event
/// `id` of the run `tag`.
fn envelope(tag: &str, id: usize, len: usize) -> Bytes {
    let head = format!(
        r#"{{"id":"evt_{tag}_{id:012}","type":"order.created","created":1700000000,"data":{{"orderId":"ord_{id:012}","status":"created","note":""#
    );
    let tail = r#""}}"#;
    let mut body = head.into_bytes();
    body.resize(len - tail.len(), b'x');
    body.extend_from_slice(tail.as_bytes());
    body.into()
}

/// Every delivery of the run, in sending order. Shares are spread evenly: a
/// duplicate resends the delivery sent 1000 places earlier (long settled,
/// still in any guard's memory); a bad one carries another secret's signature.
fn deliveries(options: &Options) -> Result<Vec<Delivery>, BoxError> {
    let scheme = Spec::petstore(Secret::new(&options.secret)?);
    let forger = Spec::petstore(Secret::new("not the secret")?);
    let total = options.warmup + options.requests;
    let mut out: Vec<Delivery> = Vec::with_capacity(total);
    let (mut dup_credit, mut bad_credit) = (0.0, 0.0);
    for i in 0..total {
        dup_credit += options.duplicates;
        bad_credit += options.bad;
        if dup_credit >= 1.0 && i >= 1000 {
            dup_credit -= 1.0;
            let earlier = out[i - 1000].clone();
            out.push(earlier);
            continue;
        }
        let body = envelope(&options.run_tag, i, options.body_size);
        let signer = if bad_credit >= 1.0 {
            bad_credit -= 1.0;
            &forger
        } else {
            &scheme
        };
        let signature = HeaderValue::try_from(signer.signature_value(&body, "", 0))?;
        out.push(Delivery { body, signature });
    }
    Ok(out)
}

/// What one connection saw.
#[derive(Default)]
struct Tally {
    latencies: Vec<Duration>,
    statuses: BTreeMap<u16, usize>,
    errors: usize,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), BoxError> {
    let options = Options::parse()?;
    let deliveries = Arc::new(deliveries(&options)?);
    let authority = options
        .url
        .authority()
        .ok_or("--url needs a host and port")?
        .clone();
    let path: Uri = options.url.path().parse()?;

    let next = Arc::new(AtomicUsize::new(0));
    let measured_from = Arc::new(std::sync::OnceLock::<(Instant, Option<u64>)>::new());
    let server_pid = options.server_pid;
    if let Some(pid) = server_pid {
        server_cpu_ns(pid)?;
    }
    let deadline_after = options.duration;
    let mut tasks = Vec::new();
    for _ in 0..options.connections {
        let stream = TcpStream::connect(authority.as_str()).await?;
        stream.set_nodelay(true)?;
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(connection);
        let (deliveries, next, measured_from) = (deliveries.clone(), next.clone(), measured_from.clone());
        let (path, host) = (path.clone(), HeaderValue::from_str(authority.as_str())?);
        let warmup = options.warmup;
        tasks.push(tokio::spawn(async move {
            let mut tally = Tally::default();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(delivery) = deliveries.get(i) else { break };
                if i == warmup {
                    let cpu = server_pid.and_then(|pid| server_cpu_ns(pid).ok());
                    let _ = measured_from.set((Instant::now(), cpu));
                }
                if measured_from
                    .get()
                    .is_some_and(|(t, _)| t.elapsed() >= deadline_after)
                {
                    break;
                }
                let mut request = Request::post(path.clone()).body(Full::new(delivery.body.clone()))?;
                let headers = request.headers_mut();
                headers.insert(HOST, host.clone());
                headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
                headers.insert("x-petstore-signature", delivery.signature.clone());
                if sender.ready().await.is_err() {
                    tally.errors += 1;
                    break;
                }
                let start = Instant::now();
                let outcome = match sender.send_request(request).await {
                    Ok(response) => {
                        let status = response.status().as_u16();
                        response.into_body().collect().await.map(|_| status)
                    }
                    Err(error) => Err(error),
                };
                if i < warmup {
                    continue;
                }
                match outcome {
                    Ok(status) => {
                        tally.latencies.push(start.elapsed());
                        *tally.statuses.entry(status).or_default() += 1;
                    }
                    Err(_) => tally.errors += 1,
                }
            }
            Ok::<_, BoxError>(tally)
        }));
    }

    let mut total = Tally::default();
    for task in tasks {
        let tally = task.await??;
        total.latencies.extend(tally.latencies);
        for (status, n) in tally.statuses {
            *total.statuses.entry(status).or_default() += n;
        }
        total.errors += tally.errors;
    }
    let (started, cpu_before) = measured_from.get().ok_or("the run ended during the warm-up")?;
    let elapsed = started.elapsed();
    let server_cpu = match (server_pid, cpu_before) {
        (Some(pid), Some(before)) => Some(Duration::from_nanos(server_cpu_ns(pid)?.saturating_sub(*before))),
        _ => None,
    };
    report(&options, &mut total, elapsed, server_cpu);
    Ok(())
}

/// The CPU time of every thread of the process `pid`, in nanoseconds: the
/// sum of the first field of `/proc/<pid>/task/*/schedstat`. A thread that
/// ends during the run takes its time with it; the receivers measured here
/// keep theirs.
fn server_cpu_ns(pid: u32) -> Result<u64, BoxError> {
    let mut total = 0u64;
    for task in std::fs::read_dir(format!("/proc/{pid}/task"))? {
        let Ok(stat) = std::fs::read_to_string(task?.path().join("schedstat")) else {
            continue; // the thread ended meanwhile
        };
        let on_cpu = stat.split_whitespace().next().ok_or("empty schedstat")?;
        total += on_cpu.parse::<u64>()?;
    }
    Ok(total)
}

fn report(options: &Options, total: &mut Tally, elapsed: Duration, server_cpu: Option<Duration>) {
    total.latencies.sort_unstable();
    let n = total.latencies.len();
    let percentile = |p: f64| {
        let at = ((n as f64 * p).ceil() as usize).clamp(1, n.max(1)) - 1;
        total.latencies.get(at).copied().unwrap_or_default()
    };
    let statuses: Vec<String> = total.statuses.iter().map(|(s, n)| format!("{s}={n}")).collect();
    let cpu = server_cpu.map_or(String::new(), |cpu| {
        format!(
            " server_cpu={:.3}s server_cpu_per_req={:.2}us",
            cpu.as_secs_f64(),
            cpu.as_secs_f64() * 1e6 / n.max(1) as f64
        )
    });
    println!(
        "url={} connections={} body={}B requests={} elapsed={:.3}s rps={:.0} p50={:.1}us p99={:.1}us statuses[{}] errors={}{cpu}",
        options.url,
        options.connections,
        options.body_size,
        n,
        elapsed.as_secs_f64(),
        n as f64 / elapsed.as_secs_f64(),
        percentile(0.50).as_secs_f64() * 1e6,
        percentile(0.99).as_secs_f64() * 1e6,
        statuses.join(" "),
        total.errors,
    );
}
