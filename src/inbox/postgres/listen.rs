//! Wake-ups between replicas: the notifier tells every listener that work
//! was stored; the listener, one dedicated connection that `LISTEN`s, wakes
//! the store's workers, and reconnects with backoff when it drops.

use std::future::{poll_fn, Future};
use std::pin::pin;
use std::task::Poll;
use std::time::Duration;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use deadpool_postgres::Pool;
use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;
use tokio_postgres::tls::{MakeTlsConnect, TlsConnect};
use tokio_postgres::{AsyncMessage, Socket};

use super::sql::CHANNEL;

/// The first wait before connecting again; doubled up to [`MAX_BACKOFF`].
const MIN_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(10);

/// How long the listener's connection may be idle before TCP keepalives
/// probe it, so that a server gone without closing the socket is noticed.
const KEEPALIVE_IDLE: Duration = Duration::from_secs(30);

/// Sends `statement` (the `NOTIFY`) on a connection of `pool` whenever
/// `due` is signalled, until aborted. Signals that come while one is being
/// sent make one more, so a burst of deliveries costs two notifications, not
/// one each. Counts them in `sent`.
pub(super) fn notifier(
    pool: Pool,
    statement: String,
    due: Arc<Notify>,
    sent: Arc<AtomicU64>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            due.notified().await;
            // One simple-query message: the server runs the whole batch even
            // if this task is aborted meanwhile, so no connection goes back
            // to the pool inside its transaction.
            let notified = match pool.get().await {
                Ok(conn) => conn
                    .batch_execute(&statement)
                    .await
                    .map_err(|error| error.to_string()),
                Err(error) => Err(error.to_string()),
            };
            sent.fetch_add(1, Ordering::Relaxed);
            if let Err(error) = notified {
                tracing::debug!(%error, "could not notify the other replicas; their workers poll");
            }
        }
    })
}

/// Listens on `config` until aborted, bumping `wake` on every notification
/// whose payload is `payload`, and once per (re)connection, since work may
/// have arrived while nobody listened.
pub(super) fn spawn<T>(
    mut config: tokio_postgres::Config,
    tls: T,
    payload: String,
    wake: watch::Sender<u64>,
) -> JoinHandle<()>
where
    T: MakeTlsConnect<Socket> + Clone + Send + Sync + 'static,
    T::Stream: Send + Sync,
    T::TlsConnect: Send + Sync,
    <T::TlsConnect as TlsConnect<Socket>>::Future: Send,
{
    config.application_name("tower-webhook inbox listener");
    config.keepalives(true).keepalives_idle(KEEPALIVE_IDLE);
    tokio::spawn(async move {
        let mut backoff = MIN_BACKOFF;
        loop {
            let listened = listen(&config, tls.clone(), &payload, &wake).await;
            match listened {
                Listened::Lost(error) => {
                    backoff = MIN_BACKOFF;
                    tracing::warn!(%error, "inbox listener lost its connection; workers poll until it is back");
                }
                Listened::NotConnected(error) => {
                    tracing::warn!(%error, retry_in_ms = backoff.as_millis() as u64, "inbox listener cannot connect");
                }
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    })
}

enum Listened {
    /// Never got to listen.
    NotConnected(String),
    /// Listened, then the connection ended.
    Lost(String),
}

async fn listen<T>(
    config: &tokio_postgres::Config,
    tls: T,
    payload: &str,
    wake: &watch::Sender<u64>,
) -> Listened
where
    T: MakeTlsConnect<Socket>,
    T::Stream: Send,
{
    let (client, mut connection) = match config.connect(tls).await {
        Ok(connected) => connected,
        Err(error) => return Listened::NotConnected(error.to_string()),
    };
    let bump = || wake.send_modify(|generation| *generation = generation.wrapping_add(1));
    // The connection delivers notifications as it is polled: poll it while
    // the LISTEN runs, and then for as long as it lives.
    let mut message = move |cx: &mut std::task::Context<'_>| match connection.poll_message(cx) {
        Poll::Ready(Some(Ok(AsyncMessage::Notification(note)))) => {
            Poll::Ready(Ok(note.channel() == CHANNEL && note.payload() == payload))
        }
        Poll::Ready(Some(Ok(_notice))) => Poll::Ready(Ok(false)),
        Poll::Ready(Some(Err(error))) => Poll::Ready(Err(error.to_string())),
        Poll::Ready(None) => Poll::Ready(Err("the server closed the connection".to_owned())),
        Poll::Pending => Poll::Pending,
    };
    let statement = format!("LISTEN {CHANNEL}");
    let mut listening = pin!(client.batch_execute(&statement));
    let started = poll_fn(|cx| loop {
        match message(cx) {
            Poll::Ready(Ok(ours)) => {
                if ours {
                    bump();
                }
            }
            Poll::Ready(Err(error)) => return Poll::Ready(Err(error)),
            Poll::Pending => return listening.as_mut().poll(cx).map_err(|error| error.to_string()),
        }
    })
    .await;
    if let Err(error) = started {
        return Listened::NotConnected(error);
    }
    tracing::debug!("inbox listener is listening");
    bump();
    loop {
        match poll_fn(&mut message).await {
            Ok(true) => bump(),
            Ok(false) => {}
            Err(error) => return Listened::Lost(error),
        }
    }
}
