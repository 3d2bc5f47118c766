//! The engine's JSON field reader, for benchmarks that compare it with other
//! ways of reading a delivery's id and type.

use std::borrow::Cow;

use crate::scheme::json::{self, Path};

/// Two dotted paths (a delivery's id and type, say) compiled once, read from
/// bodies the way a [`Spec`](crate::scheme::Spec) reads them: the first
/// string or integer at each path, stopping once both are found unless a key
/// could repeat, and a key repeated on a path refused.
#[derive(Debug, Clone)]
pub struct JsonFields {
    paths: [Path; 2],
}

impl JsonFields {
    /// Compiles `id` and `event_type`, such as `"id"` and `"event.type"`.
    pub fn new(id: &str, event_type: &str) -> Self {
        Self {
            paths: [json::path(id), json::path(event_type)],
        }
    }

    /// The two values, borrowed from `body` where they have no escapes;
    /// `None` for an absent path or a value of another type.
    ///
    /// # Errors
    ///
    /// The dotted path of a key repeated on one of the paths.
    pub fn read<'a>(&self, body: &'a [u8]) -> Result<[Option<Cow<'a, str>>; 2], Box<str>> {
        let [id, event_type] = &self.paths;
        json::find_unique(body, [Some(id), Some(event_type)]).map_err(|json::Duplicate(path)| path)
    }
}
