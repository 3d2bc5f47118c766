//! A dead-letter sink appending JSON lines to a file, synced to disk.

use std::collections::HashSet;
use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use super::{DeadLetter, DeadLetterError, DeadLetterSink};

/// A [`DeadLetterSink`] appending each letter as one line of JSON
/// ([`DeadLetter::to_json_line`]) to a file, synced to disk before the
/// delivery is acknowledged.
///
/// The write runs on tokio's blocking pool. Read the file back with
/// [`FileDeadLetters::read`].
///
/// The file is capped ([`max_bytes`](Self::max_bytes), default
/// [`FileDeadLetters::DEFAULT_MAX_BYTES`]): a letter that would take it past
/// the cap is refused, so the delivery is answered `503` and released for
/// the sender's retry (nothing is lost) while the disk is not filled by a
/// flood of deliveries that a handler marks permanent. Move or empty the
/// file to make room.
pub struct FileDeadLetters {
    path: PathBuf,
    file: Arc<Mutex<File>>,
    max_bytes: u64,
    /// The fingerprints of the letters this sink wrote or found in the file.
    kept: Arc<Mutex<HashSet<[u8; 32]>>>,
}

impl FileDeadLetters {
    /// Opens (or creates) `path` for appending.
    ///
    /// # Errors
    ///
    /// When the file cannot be opened.
    pub fn open(path: impl AsRef<Path>) -> std::io::Result<Self> {
        let path = path.as_ref().to_owned();
        let file = OpenOptions::new().create(true).append(true).open(&path)?;
        // Letters already in the file count as kept; an unreadable line
        // (a letter cut short by a crash) only costs its deduplication.
        let kept = match Self::read(&path) {
            Ok(letters) => letters.iter().map(DeadLetter::fingerprint).collect(),
            Err(_) => HashSet::new(),
        };
        Ok(Self {
            path,
            file: Arc::new(Mutex::new(file)),
            max_bytes: Self::DEFAULT_MAX_BYTES,
            kept: Arc::new(Mutex::new(kept)),
        })
    }

    /// The default cap on the file's size: 1 GiB.
    pub const DEFAULT_MAX_BYTES: u64 = 1 << 30;

    /// Caps the file at `bytes`: a letter that would take it past the cap is
    /// refused (see the type's docs).
    #[must_use]
    pub fn max_bytes(mut self, bytes: u64) -> Self {
        self.max_bytes = bytes;
        self
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Every letter in the file at `path`, oldest first.
    ///
    /// # Errors
    ///
    /// When the file cannot be read, or a line is not a dead letter.
    pub fn read(path: impl AsRef<Path>) -> Result<Vec<DeadLetter>, DeadLetterError> {
        let file = File::open(path).map_err(DeadLetterError::new)?;
        let mut letters = Vec::new();
        for line in BufReader::new(file).lines() {
            let line = line.map_err(DeadLetterError::new)?;
            if !line.trim().is_empty() {
                letters.push(DeadLetter::from_json_line(&line)?);
            }
        }
        Ok(letters)
    }
}

fn append(file: &Mutex<File>, line: &[u8], max_bytes: u64) -> std::io::Result<()> {
    let mut file = file.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let len = file.metadata()?.len();
    if len.saturating_add(line.len() as u64) > max_bytes {
        return Err(std::io::Error::other(format!(
            "the dead-letter file is full ({len} bytes, cap {max_bytes})"
        )));
    }
    file.write_all(line)?;
    file.sync_data()
}

impl DeadLetterSink for FileDeadLetters {
    async fn store(&self, letter: DeadLetter) -> Result<(), DeadLetterError> {
        // One letter per body: a resent capture does not fill the file.
        let fingerprint = letter.fingerprint();
        if !self
            .kept
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .insert(fingerprint)
        {
            tracing::debug!(
                event_id = letter.id(),
                "dead letter with the same body kept already"
            );
            return Ok(());
        }
        let mut line = letter.to_json_line().into_bytes();
        line.push(b'\n');
        let file = Arc::clone(&self.file);
        let max_bytes = self.max_bytes;
        let written = match tokio::runtime::Handle::try_current() {
            Ok(runtime) => runtime
                .spawn_blocking(move || append(&file, &line, max_bytes))
                .await
                .map_err(DeadLetterError::new)?,
            Err(_) => append(&file, &line, max_bytes),
        };
        if written.is_err() {
            // Not kept: the sender's retry must find the body new.
            self.kept
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .remove(&fingerprint);
        }
        written.map_err(DeadLetterError::new)
    }
}

impl fmt::Debug for FileDeadLetters {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileDeadLetters")
            .field("path", &self.path)
            .field("max_bytes", &self.max_bytes)
            .finish_non_exhaustive()
    }
}
