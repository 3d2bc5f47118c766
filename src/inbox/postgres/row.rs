//! Rows to values, values to parameters.

use std::borrow::Cow;
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Uri};
use tokio_postgres::Row;

use super::super::encode::decode_headers;
use super::super::store::{Entry, InboxError, LeaseToken, Record, RecordId, State};

/// The longest duration a statement is given: 1000 years, far inside
/// PostgreSQL's timestamp range whichever way it is added.
const MAX_MICROS: u128 = 1000 * 365 * 24 * 3600 * 1_000_000;

/// `duration` in microseconds, the resolution of PostgreSQL's timestamps.
pub(super) fn micros(duration: Duration) -> i64 {
    duration.as_micros().min(MAX_MICROS) as i64
}

/// `text` as PostgreSQL text can hold it: NULs replaced.
pub(super) fn text(text: &str) -> Cow<'_, str> {
    if text.contains('\0') {
        Cow::Owned(text.replace('\0', "\u{fffd}"))
    } else {
        Cow::Borrowed(text)
    }
}

pub(super) fn state(label: &str) -> Result<State, InboxError> {
    State::from_label(label).ok_or_else(|| InboxError::new(format!("unknown record state {label:?}")))
}

/// The [`Entry`] in the columns of `ENTRY_COLUMNS`, starting at column `at`.
pub(super) fn entry(row: &Row, at: usize) -> Result<Entry, InboxError> {
    let attempts: i32 = row.try_get(at + 5).map_err(InboxError::new)?;
    Ok(Entry {
        id: RecordId::new(row.try_get(at).map_err(InboxError::new)?),
        scheme: row.try_get(at + 1).map_err(InboxError::new)?,
        event_id: row.try_get(at + 2).map_err(InboxError::new)?,
        event_type: row.try_get(at + 3).map_err(InboxError::new)?,
        state: state(row.try_get(at + 4).map_err(InboxError::new)?)?,
        attempts: u32::try_from(attempts).unwrap_or(0),
        received_at: row.try_get(at + 6).map_err(InboxError::new)?,
        next_attempt_at: row.try_get(at + 7).map_err(InboxError::new)?,
        finished_at: row.try_get(at + 8).map_err(InboxError::new)?,
        last_error: row.try_get(at + 9).map_err(InboxError::new)?,
    })
}

/// The [`Record`] and its lease token in the columns of `RECORD_COLUMNS`,
/// starting at column `at`.
pub(super) fn record(row: &Row, at: usize) -> Result<(Record, LeaseToken), InboxError> {
    let method: &str = row.try_get(at + 11).map_err(InboxError::new)?;
    let uri: &str = row.try_get(at + 12).map_err(InboxError::new)?;
    let headers: &[u8] = row.try_get(at + 13).map_err(InboxError::new)?;
    let body: Vec<u8> = row.try_get(at + 14).map_err(InboxError::new)?;
    let record = Record {
        entry: entry(row, at)?,
        timestamp: row.try_get(at + 10).map_err(InboxError::new)?,
        method: Method::from_bytes(method.as_bytes()).map_err(InboxError::new)?,
        uri: uri.parse::<Uri>().map_err(InboxError::new)?,
        headers: decode_headers(headers).map_err(InboxError::new)?,
        body: Bytes::from(body),
    };
    let token = LeaseToken::new(row.try_get(at + 15).map_err(InboxError::new)?);
    Ok((record, token))
}
