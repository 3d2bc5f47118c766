//! The inbox's tables and statements, for a schema and a table-name prefix.
//!
//! Names are validated (ASCII letters, digits, `_`) and always quoted, so a
//! name is never SQL and never changes case. Times are the server's: every
//! statement reads `now()`, and durations travel as microseconds.

use std::fmt;

/// The channel the inbox notifies on; the payload names the inbox's tables,
/// so that one listener ignores another inbox's deliveries.
pub(crate) const CHANNEL: &str = "tower_webhook_inbox";

/// PostgreSQL truncates longer identifiers (`NAMEDATALEN - 1`).
const MAX_IDENT: usize = 63;

/// The longest name the schema creates after the prefix.
const LONGEST_SUFFIX: &str = "inbox_records_finished";

/// Every state's label, as the `state` column holds it.
const STATES: &str = "'pending', 'running', 'retrying', 'done', 'dead'";
/// The active states: those whose records carry `due_at`.
const ACTIVE: &str = "'pending', 'running', 'retrying'";

/// A schema or table-name prefix that is not a plain identifier.
#[derive(Debug)]
pub(crate) struct BadName {
    what: &'static str,
    name: String,
    why: &'static str,
}

impl fmt::Display for BadName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid {} {:?}: {}", self.what, self.name, self.why)
    }
}

impl std::error::Error for BadName {}

fn check(what: &'static str, name: &str, max: usize, empty_ok: bool) -> Result<(), BadName> {
    let bad = |why| BadName {
        what,
        name: name.to_owned(),
        why,
    };
    if name.is_empty() && !empty_ok {
        return Err(bad("it is empty"));
    }
    if name.len() > max {
        return Err(bad("it is too long for a PostgreSQL identifier"));
    }
    if !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return Err(bad("only ASCII letters, digits and '_' are allowed"));
    }
    if name.bytes().next().is_some_and(|b| b.is_ascii_digit()) {
        return Err(bad("it starts with a digit"));
    }
    Ok(())
}

/// Every statement the store runs, written once for its tables.
#[derive(Debug)]
pub(crate) struct Sql {
    pub(crate) schema: String,
    pub(crate) prefix: String,
    pub(crate) migration: String,
    /// Whether every table, sequence and index of the migration exists
    /// (one boolean): `open` skips the migration then, so that a replica
    /// starting beside running ones takes no table lock (`CREATE INDEX IF
    /// NOT EXISTS` locks its table before it looks, and deadlocked with a
    /// running replica's purge).
    pub(crate) installed: String,
    /// The notification's payload: the records table's name.
    pub(crate) payload: String,
    /// Tells the listeners there is work (a simple-query batch).
    pub(crate) notify: String,
    pub(crate) enqueue: String,
    pub(crate) lease: String,
    pub(crate) settle: String,
    pub(crate) heartbeat: String,
    pub(crate) list: String,
    pub(crate) list_state: String,
    pub(crate) get: String,
    pub(crate) requeue: String,
    pub(crate) purge_records: String,
    pub(crate) purge_keys: String,
    pub(crate) counts: String,
}

/// The columns of an `Entry`, in the order `row::entry` reads them.
pub(crate) const ENTRY_COLUMNS: &str =
    "id, scheme, event_id, event_type, state, attempts, received_at, due_at, finished_at, last_error";
/// The columns of a `Record` and its token, in the order `row::record` reads them.
pub(crate) const RECORD_COLUMNS: &str = "id, scheme, event_id, event_type, state, attempts, received_at, \
due_at, finished_at, last_error, signed_timestamp, method, uri, headers, body, lease_token";

/// The fence of every settle and heartbeat: the record is held under the token.
const HELD: &str = "WHERE id = $1::bigint AND lease_token = $2::bigint AND state = 'running'";

impl Sql {
    /// The statements for the tables `{prefix}inbox_records` and
    /// `{prefix}inbox_keys` in `schema`.
    pub(crate) fn new(schema: &str, prefix: &str) -> Result<Self, BadName> {
        check("schema", schema, MAX_IDENT, false)?;
        check("table prefix", prefix, MAX_IDENT - LONGEST_SUFFIX.len(), true)?;
        let name = |suffix: &str| format!("\"{schema}\".\"{prefix}{suffix}\"");
        let records = name("inbox_records");
        let keys = name("inbox_keys");
        let ids = name("inbox_record_ids");
        let payload = format!("{schema}.{prefix}inbox_records");
        // Sent after the writes commit, apart from them: a transaction that
        // notifies holds a lock across its commit that serializes every
        // other notifying commit, which would undo the server's group commit.
        // Not durable: a lost notification costs a poll.
        let notify = format!(
            "BEGIN; SET LOCAL synchronous_commit = off; SELECT pg_notify('{CHANNEL}', '{payload}'); COMMIT"
        );
        let create_schema = if schema == "public" {
            String::new()
        } else {
            format!("CREATE SCHEMA IF NOT EXISTS \"{schema}\";\n")
        };
        let migration = format!(
            "-- tower-webhook inbox, schema 1: idempotent; run it in one transaction.\n\
-- The lock keeps replicas that start together from creating the same table at once.\n\
SELECT pg_advisory_xact_lock(hashtext('tower-webhook inbox {payload}'));\n\
{create_schema}\
CREATE SEQUENCE IF NOT EXISTS {ids};\n\
-- A record per stored delivery. Active records (pending, running, retrying)\n\
-- carry due_at, when they may be leased next; done and dead ones do not, so\n\
-- the partial index {prefix}inbox_records_due holds the active records only.\n\
CREATE TABLE IF NOT EXISTS {records} (\n\
    id bigint PRIMARY KEY DEFAULT nextval('{ids}'),\n\
    scheme text NOT NULL,\n\
    event_id text NOT NULL,\n\
    event_type text,\n\
    signed_timestamp bigint,\n\
    method text NOT NULL,\n\
    uri text NOT NULL,\n\
    headers bytea NOT NULL,\n\
    body bytea NOT NULL,\n\
    received_at timestamptz NOT NULL,\n\
    state text NOT NULL CHECK (state IN ({STATES})),\n\
    attempts integer NOT NULL DEFAULT 0,\n\
    lease_token bigint NOT NULL DEFAULT 0,\n\
    due_at timestamptz,\n\
    finished_at timestamptz,\n\
    last_error text,\n\
    CHECK ((due_at IS NOT NULL) = (state IN ({ACTIVE})))\n\
);\n\
ALTER SEQUENCE {ids} OWNED BY {records}.id;\n\
CREATE INDEX IF NOT EXISTS \"{prefix}inbox_records_due\" ON {records} (scheme, due_at, id) WHERE due_at IS NOT NULL;\n\
CREATE INDEX IF NOT EXISTS \"{prefix}inbox_records_finished\" ON {records} (finished_at) WHERE finished_at IS NOT NULL;\n\
CREATE INDEX IF NOT EXISTS \"{prefix}inbox_records_state\" ON {records} (state, id);\n\
-- Replay keys, unique per scheme. A key outlives its record: when the\n\
-- record is purged, record_id becomes NULL and the key still dedups until\n\
-- the key retention passes.\n\
CREATE TABLE IF NOT EXISTS {keys} (\n\
    scheme text NOT NULL,\n\
    key text NOT NULL,\n\
    record_id bigint REFERENCES {records} (id) ON DELETE SET NULL,\n\
    stored_at timestamptz NOT NULL,\n\
    PRIMARY KEY (scheme, key)\n\
);\n\
CREATE INDEX IF NOT EXISTS \"{prefix}inbox_keys_record\" ON {keys} (record_id);\n\
CREATE INDEX IF NOT EXISTS \"{prefix}inbox_keys_orphaned\" ON {keys} (stored_at) WHERE record_id IS NULL;\n"
        );

        let objects: Vec<String> = [
            ids.clone(),
            records.clone(),
            keys.clone(),
            format!("\"{schema}\".\"{prefix}inbox_records_due\""),
            format!("\"{schema}\".\"{prefix}inbox_records_finished\""),
            format!("\"{schema}\".\"{prefix}inbox_records_state\""),
            format!("\"{schema}\".\"{prefix}inbox_keys_record\""),
            format!("\"{schema}\".\"{prefix}inbox_keys_orphaned\""),
        ]
        .iter()
        .map(|name| format!("'{name}'"))
        .collect();
        let installed = format!(
            "SELECT bool_and(to_regclass(name) IS NOT NULL) FROM unnest(ARRAY[{}]::text[]) AS name",
            objects.join(", ")
        );

        // One statement, so one round trip and one implicit transaction. A
        // key known to the statement's snapshot makes it a duplicate at
        // once. Otherwise every key is inserted, waiting out a concurrent
        // insert of the same key (ON CONFLICT), and the record only if every
        // key went in. Keys that went in while another did not would point
        // at no record: the foreign key refuses them at the statement's end,
        // so nothing of it is kept, and the caller runs the statement again
        // (its new snapshot then sees the winner).
        let enqueue = format!(
            "WITH known AS (\n\
    SELECT k.record_id, r.state FROM {keys} k LEFT JOIN {records} r ON r.id = k.record_id\n\
    WHERE k.scheme = $1::text AND k.key = ANY($2::text[])\n\
    ORDER BY array_position($2::text[], k.key) LIMIT 1\n\
), fresh AS (\n\
    SELECT nextval('{ids}') AS id WHERE NOT EXISTS (SELECT 1 FROM known)\n\
), stored_keys AS (\n\
    INSERT INTO {keys} (scheme, key, record_id, stored_at)\n\
    SELECT $1::text, key, fresh.id, now() FROM fresh, unnest($2::text[]) AS key\n\
    ON CONFLICT DO NOTHING RETURNING 1\n\
), stored AS (\n\
    INSERT INTO {records} (id, scheme, event_id, event_type, signed_timestamp, method, uri, headers, body,\n\
        received_at, state, due_at)\n\
    SELECT fresh.id, $1::text, $3::text, $4::text, $5::bigint, $6::text, $7::text, $8::bytea, $9::bytea,
        now(), 'pending', now() FROM fresh\n\
    WHERE (SELECT count(*) FROM stored_keys) = cardinality($2::text[])\n\
    RETURNING id\n\
)\n\
SELECT (SELECT id FROM stored), EXISTS (SELECT 1 FROM known), (SELECT record_id FROM known),\n\
    (SELECT state FROM known)"
        );

        // One statement leases a batch: SKIP LOCKED passes over the rows
        // another worker is leasing this instant. A running record whose
        // lease expired at the maximum of attempts is buried instead.
        let lease = format!(
            "WITH due AS (\n\
    SELECT id, due_at FROM {records}\n\
    WHERE scheme = $1::text AND due_at IS NOT NULL AND due_at <= now()\n\
    ORDER BY due_at, id LIMIT $2::bigint\n\
    FOR UPDATE SKIP LOCKED\n\
), buried AS (\n\
    UPDATE {records} r SET state = 'dead', due_at = NULL, finished_at = now(),\n\
        last_error = 'lease expired at attempt ' || r.attempts\n\
    FROM due WHERE r.id = due.id AND r.state = 'running' AND r.attempts >= $4::integer\n\
    RETURNING r.id\n\
), taken AS (\n\
    UPDATE {records} r SET state = 'running', attempts = r.attempts + 1, lease_token = r.lease_token + 1,\n\
        due_at = now() + $3::bigint * interval '1 microsecond'\n\
    FROM due WHERE r.id = due.id AND NOT (r.state = 'running' AND r.attempts >= $4::integer)\n\
    RETURNING {returning}\n\
)\n\
SELECT b.buried, {taken} FROM (SELECT count(*) AS buried FROM buried) b\n\
LEFT JOIN (taken t JOIN due d ON d.id = t.id) ON true ORDER BY d.due_at, t.id",
            returning = RECORD_COLUMNS
                .split(", ")
                .map(|column| format!("r.{column}"))
                .collect::<Vec<_>>()
                .join(", "),
            taken = RECORD_COLUMNS
                .split(", ")
                .map(|column| format!("t.{column}"))
                .collect::<Vec<_>>()
                .join(", "),
        );

        // Settles a batch: `$3` is each one's outcome, `release` for a
        // release (whose attempt is given back). The rows are locked in id
        // order first, so that two batches never deadlock on each other.
        let settle = format!(
            "WITH s AS (\n\
    SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::bigint[], $5::text[])\n\
        AS s(id, token, outcome, after_us, message)\n\
), held AS (\n\
    SELECT r.id FROM {records} r JOIN s ON r.id = s.id\n\
    WHERE r.lease_token = s.token AND r.state = 'running'\n\
    ORDER BY r.id FOR UPDATE OF r\n\
), settled AS (\n\
    UPDATE {records} r SET\n\
        state = CASE s.outcome WHEN 'release' THEN CASE WHEN r.attempts <= 1 THEN 'pending' ELSE 'retrying' END\n\
            ELSE s.outcome END,\n\
        attempts = CASE s.outcome WHEN 'release' THEN greatest(r.attempts - 1, 0) ELSE r.attempts END,\n\
        due_at = CASE s.outcome WHEN 'retrying' THEN now() + s.after_us * interval '1 microsecond'\n\
            WHEN 'release' THEN now() END,\n\
        finished_at = CASE WHEN s.outcome IN ('done', 'dead') THEN now() END,\n\
        last_error = CASE s.outcome WHEN 'done' THEN NULL WHEN 'release' THEN r.last_error ELSE s.message END\n\
    FROM s JOIN held ON held.id = s.id\n\
    WHERE r.id = s.id AND r.lease_token = s.token AND r.state = 'running'\n\
    RETURNING r.id\n\
)\n\
SELECT id FROM settled"
        );
        let heartbeat =
            format!("UPDATE {records} SET due_at = now() + $3::bigint * interval '1 microsecond' {HELD}");
        let list = format!(
            "SELECT {ENTRY_COLUMNS} FROM {records} WHERE id < $1::bigint ORDER BY id DESC LIMIT $2::bigint"
        );
        let list_state = format!(
            "SELECT {ENTRY_COLUMNS} FROM {records} WHERE state = $3::text AND id < $1::bigint ORDER BY id DESC LIMIT $2::bigint"
        );
        let get = format!("SELECT {RECORD_COLUMNS} FROM {records} WHERE id = $1::bigint");
        let requeue = format!(
            "WITH found AS (\n\
    SELECT id, state FROM {records} WHERE id = $1::bigint FOR UPDATE\n\
), revived AS (\n\
    UPDATE {records} r SET state = 'pending', attempts = 0, due_at = now(), finished_at = NULL, last_error = NULL\n\
    FROM found WHERE r.id = found.id AND found.state = 'dead' RETURNING r.id\n\
)\n\
SELECT found.state, (SELECT count(*) FROM revived) FROM found"
        );
        let purge_records = format!(
            "DELETE FROM {records} WHERE id IN (SELECT id FROM {records}\n\
    WHERE finished_at IS NOT NULL AND finished_at <= now() - $1::bigint * interval '1 microsecond' LIMIT $2::bigint)"
        );
        // A purged record's keys have no record_id any more; a key goes
        // only then, and once the key retention has passed.
        let purge_keys = format!(
            "DELETE FROM {keys} WHERE (scheme, key) IN (SELECT scheme, key FROM {keys}\n\
    WHERE record_id IS NULL AND stored_at < now() - $1::bigint * interval '1 microsecond' LIMIT $2::bigint)"
        );
        let counts = format!("SELECT state, count(*) FROM {records} GROUP BY state");
        Ok(Self {
            schema: schema.to_owned(),
            prefix: prefix.to_owned(),
            migration,
            installed,
            payload,
            notify,
            enqueue,
            lease,
            settle,
            heartbeat,
            list,
            list_state,
            get,
            requeue,
            purge_records,
            purge_keys,
            counts,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_plain_identifiers_and_quoted() {
        let sql = Sql::new("webhooks", "shop_").unwrap();
        assert!(sql.migration.contains("\"webhooks\".\"shop_inbox_records\""));
        assert!(sql.migration.contains("CREATE SCHEMA IF NOT EXISTS \"webhooks\""));
        assert_eq!(sql.payload, "webhooks.shop_inbox_records");
        let public = Sql::new("public", "").unwrap();
        assert!(public.migration.contains("\"public\".\"inbox_keys\""));
        assert!(!public.migration.contains("CREATE SCHEMA"));
        // The installed check names every object the migration creates.
        let created = sql.migration.matches(" IF NOT EXISTS ").count() - 1;
        assert_eq!(
            sql.installed.matches("'\"webhooks\".").count(),
            created,
            "{}",
            sql.installed
        );
        for name in sql.installed.split('\'').skip(1).step_by(2) {
            let (_, table) = name.split_once('.').unwrap();
            assert!(sql.migration.contains(table), "{name}");
        }

        for (schema, prefix) in [
            ("", "x"),
            ("a\"; DROP TABLE x; --", ""),
            ("public", "p'"),
            ("public", "a b"),
            ("1abc", ""),
            ("public", "é"),
            (&"s".repeat(64), ""),
            ("public", &"p".repeat(MAX_IDENT - LONGEST_SUFFIX.len() + 1)),
        ] {
            let error = Sql::new(schema, prefix).unwrap_err();
            assert!(error.to_string().starts_with("invalid "), "{error}");
        }
        assert!(Sql::new(&"s".repeat(63), &"p".repeat(MAX_IDENT - LONGEST_SUFFIX.len())).is_ok());
    }

    /// Leasing, enqueueing, settling, listing by state and purging can
    /// each use an index, never needing a scan of the table: their cost
    /// stays flat as done records pile up. (Scans are switched off so that
    /// the planner shows the index it can use even on empty tables.) Needs
    /// the server at `POSTGRES_TEST_URL`.
    #[tokio::test]
    async fn every_statement_can_use_an_index() {
        let Ok(url) = std::env::var("POSTGRES_TEST_URL") else {
            use std::io::Write;
            let _ = writeln!(
                std::io::stderr(),
                "note: POSTGRES_TEST_URL is not set: skipping the query plan test"
            );
            return;
        };
        let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(connection);
        let schema = format!("tower_webhook_test_{:016x}", rand::random::<u64>());
        let sql = Sql::new(&schema, "").unwrap();
        client
            .batch_execute(&format!("BEGIN; {} COMMIT;", sql.migration))
            .await
            .unwrap();
        client.batch_execute("SET enable_seqscan = off").await.unwrap();
        let plan = |statement: String, params: Vec<Box<dyn tokio_postgres::types::ToSql + Sync + Send>>| {
            let client = &client;
            async move {
                let params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = params
                    .iter()
                    .map(|p| &**p as &(dyn tokio_postgres::types::ToSql + Sync))
                    .collect();
                let rows = client
                    .query(&format!("EXPLAIN {statement}"), &params)
                    .await
                    .unwrap();
                rows.iter()
                    .map(|row| row.get::<_, String>(0))
                    .collect::<Vec<_>>()
                    .join("\n")
            }
        };
        let keys = vec!["evt_1".to_owned()];
        let enqueue = plan(
            sql.enqueue.clone(),
            vec![
                Box::new("petstore"),
                Box::new(keys),
                Box::new("evt_1"),
                Box::new(None::<String>),
                Box::new(None::<i64>),
                Box::new("POST"),
                Box::new("/"),
                Box::new(vec![1_u8]),
                Box::new(Vec::<u8>::new()),
            ],
        )
        .await;
        assert!(enqueue.contains("inbox_keys_pkey"), "{enqueue}");
        let lease = plan(
            sql.lease.clone(),
            vec![
                Box::new("petstore"),
                Box::new(10_i64),
                Box::new(1_i64),
                Box::new(8_i32),
            ],
        )
        .await;
        assert!(lease.contains("inbox_records_due"), "{lease}");
        let done = plan(
            sql.settle.clone(),
            vec![
                Box::new(vec![1_i64]),
                Box::new(vec![1_i64]),
                Box::new(vec!["done"]),
                Box::new(vec![0_i64]),
                Box::new(vec![None::<String>]),
            ],
        )
        .await;
        // By its primary key, or by (state, id): either finds the one row.
        assert!(done.contains("Index Scan using inbox_records_"), "{done}");
        let listed = plan(
            sql.list_state.clone(),
            vec![Box::new(10_i64), Box::new(10_i64), Box::new("dead")],
        )
        .await;
        assert!(listed.contains("inbox_records_state"), "{listed}");
        let purge = plan(sql.purge_records.clone(), vec![Box::new(1_i64), Box::new(10_i64)]).await;
        assert!(purge.contains("inbox_records_finished"), "{purge}");
        let keys = plan(sql.purge_keys.clone(), vec![Box::new(1_i64), Box::new(10_i64)]).await;
        assert!(keys.contains("inbox_keys_orphaned"), "{keys}");
        for plan in [&enqueue, &lease, &done, &listed, &purge, &keys] {
            assert!(!plan.contains("Seq Scan on inbox_records"), "{plan}");
            assert!(!plan.contains("Seq Scan on inbox_keys"), "{plan}");
        }
        client
            .batch_execute(&format!("DROP SCHEMA \"{schema}\" CASCADE"))
            .await
            .unwrap();
    }
}
