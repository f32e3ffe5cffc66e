//! [`SqliteStore`]: the change store in one SQLite file, the embedded default (see its
//! docs).

use super::{ops, ChangeStore, SavedPlan, SnapshotBatch, SnapshotSide, StoredSnapshot, Txn};
use crate::error::{Error, ErrorKind, Result};
use crate::staging::audit::{AuditEntry, AuditQuery};
use crate::staging::change::{
    ApplyResult, Change, ChangeId, ChangeState, PlanId, Review, Take, Target,
};
use crate::staging::plan::Plan;
use crate::staging::review::{ChangeFilter, Rejection, Rejections, ReviewAction, ReviewReport};
use chrono::{DateTime, SecondsFormat, Utc};
use futures::future::BoxFuture;
use rusqlite::{params, params_from_iter, Connection, OptionalExtension, TransactionBehavior};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The schema version this library writes (the file's `user_version`).
pub const SCHEMA_VERSION: u32 = 1;

/// The migrations, in order: `MIGRATIONS[n]` takes the schema from version `n` to
/// `n + 1`. Never edit one that has shipped; add a new one.
const MIGRATIONS: [&str; SCHEMA_VERSION as usize] = [r#"
CREATE TABLE plans (
    id          TEXT PRIMARY KEY,
    created_at  TEXT NOT NULL,
    json        TEXT NOT NULL          -- the plan without its changes
);
CREATE TABLE changes (
    id          TEXT PRIMARY KEY,
    plan_id     TEXT NOT NULL REFERENCES plans(id),
    seq         INTEGER NOT NULL,      -- position in its plan
    kind        TEXT NOT NULL,
    local_id    TEXT,
    shopify_id  TEXT,
    operation   TEXT NOT NULL,
    field       TEXT,
    state       TEXT NOT NULL,
    version     INTEGER NOT NULL,
    priority    INTEGER NOT NULL,
    json        TEXT NOT NULL          -- the whole change
);
CREATE INDEX changes_plan ON changes(plan_id, seq);
CREATE INDEX changes_state ON changes(state);
CREATE INDEX changes_shopify ON changes(shopify_id);
CREATE INDEX changes_local ON changes(local_id);
CREATE TABLE audit (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    at          TEXT NOT NULL,         -- RFC 3339, UTC, nanoseconds: sorts as text
    change_id   TEXT,
    plan_id     TEXT,
    shopify_id  TEXT,
    local_id    TEXT,
    json        TEXT NOT NULL          -- the entry (its seq is the row's)
);
CREATE INDEX audit_change ON audit(change_id);
CREATE INDEX audit_plan ON audit(plan_id);
CREATE INDEX audit_shopify ON audit(shopify_id);
CREATE INDEX audit_local ON audit(local_id);
CREATE INDEX audit_at ON audit(at);
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
    BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
    BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
CREATE TABLE rejections (
    target      TEXT NOT NULL,
    path        TEXT NOT NULL,
    value       TEXT NOT NULL,
    PRIMARY KEY (target, path, value)
) WITHOUT ROWID;
CREATE TABLE snapshots (
    side        TEXT NOT NULL,
    key         TEXT NOT NULL,
    json        TEXT NOT NULL,
    PRIMARY KEY (side, key)
) WITHOUT ROWID;
CREATE TABLE checkpoints (
    name        TEXT PRIMARY KEY,
    value       TEXT NOT NULL
) WITHOUT ROWID;
"#];

/// How hard SQLite makes each commit durable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Synchronous {
    /// `FULL` (the default): a commit survives a power loss.
    #[default]
    Full,
    /// `NORMAL`: a commit survives a process crash; the last commits may be lost on a
    /// power loss (never the file's consistency). Faster.
    Normal,
}

/// Options of [`SqliteStore::open_with`].
#[derive(Debug, Clone)]
pub struct SqliteOptions {
    /// Durability of commits (default [`Synchronous::Full`]).
    pub synchronous: Synchronous,
    /// How long a write waits for another process's write lock before failing with
    /// [`ErrorKind::Timeout`] (default 30 s).
    pub busy_timeout: Duration,
}

impl Default for SqliteOptions {
    fn default() -> SqliteOptions {
        SqliteOptions {
            synchronous: Synchronous::Full,
            busy_timeout: Duration::from_secs(30),
        }
    }
}

/// The change store in one SQLite file, the embedded default.
///
/// SQLite is bundled (compiled into the library), so no system library is needed. The
/// file is opened in WAL mode with `synchronous = FULL` by default: every method is one
/// transaction, committed durably before it returns; a process killed at any point
/// leaves the last committed state. Writes take the write lock up front (`BEGIN
/// IMMEDIATE`) and move a change only if its `version` is still the one read, so two
/// processes moving the same change cannot both win: the second one waits for the lock,
/// then sees the first one's state and is refused by the state machine.
///
/// The schema is versioned in the file's `user_version`; [`SqliteStore::open`] applies
/// the missing migrations in order, each in its own transaction, and refuses a file
/// written by a newer version of the library.
///
/// Opening is blocking; the methods of [`ChangeStore`] run on tokio's blocking pool
/// (inline when called outside a tokio runtime). Clone it to share one connection.
///
/// ```
/// use shopify_sync::staging::store::{ChangeStore, SqliteStore};
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let dir = std::env::temp_dir().join(format!("shopify-sync-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir).unwrap();
/// let store = SqliteStore::open(dir.join("store.db"))?;
/// store.set_checkpoint("cursor", "abc").await?;
/// drop(store);
/// let store = SqliteStore::open(dir.join("store.db"))?;
/// assert_eq!(store.checkpoint("cursor").await?.as_deref(), Some("abc"));
/// assert!(store.recovered().is_empty()); // no change was left applying
/// # std::fs::remove_dir_all(&dir).ok();
/// # Ok::<(), shopify_sync::error::Error>(())
/// # }).unwrap();
/// ```
#[derive(Debug, Clone)]
pub struct SqliteStore {
    conn: Arc<Mutex<Connection>>,
    path: PathBuf,
    recovered: Arc<Vec<ChangeId>>,
}

/// A SQLite error as the library's error.
fn sql(e: rusqlite::Error) -> Error {
    use rusqlite::ErrorCode;
    let code = e.sqlite_error_code();
    let message = format!("change store: {e}");
    match code {
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => Error::new(
            ErrorKind::Timeout,
            format!("{message} (another process held the write lock too long)"),
        ),
        Some(ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt) => Error::new(
            ErrorKind::Decode,
            format!("{message}: the file is not a usable change store"),
        ),
        Some(ErrorCode::ConstraintViolation) => Error::invalid_input(message),
        _ => Error::new(ErrorKind::Transport, message).with_retryable(false),
    }
    .with_source(e)
}

fn decode<T: serde::de::DeserializeOwned>(what: &str, json: &str) -> Result<T> {
    serde_json::from_str(json).map_err(|e| {
        Error::new(
            ErrorKind::Decode,
            format!("change store: {what} does not decode: {e}"),
        )
        .with_source(e)
    })
}

fn encode<T: serde::Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value)
        .map_err(|e| Error::invalid_input(format!("change store: does not serialize: {e}")))
}

/// Decode `(key, json)` rows of the snapshots table, failing on the first that does not
/// decode (the error names its key).
fn decode_snapshots(
    rows: impl Iterator<Item = rusqlite::Result<(String, String)>>,
) -> Result<Vec<(String, StoredSnapshot)>> {
    let mut out = Vec::new();
    for row in rows {
        let (key, json) = row.map_err(sql)?;
        let snap = decode(&format!("snapshot {key}"), &json)?;
        out.push((key, snap));
    }
    Ok(out)
}

fn time_text(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Nanos, true)
}

impl SqliteStore {
    /// The environment variable naming the store's file.
    pub const ENV: &'static str = "SHOPIFY_SYNC_STORE";
    /// The file used when [`SqliteStore::ENV`] is not set, in the current directory.
    pub const DEFAULT_FILE: &'static str = "shopify-sync.db";

    /// Open (or create) the store at `path` with the default options.
    pub fn open(path: impl AsRef<Path>) -> Result<SqliteStore> {
        SqliteStore::open_with(path, &SqliteOptions::default())
    }

    /// Open the store named by `SHOPIFY_SYNC_STORE`, or `shopify-sync.db` in the current
    /// directory when it is not set.
    pub fn open_default() -> Result<SqliteStore> {
        let path = std::env::var_os(SqliteStore::ENV)
            .filter(|p| !p.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(SqliteStore::DEFAULT_FILE));
        SqliteStore::open(path)
    }

    /// Open (or create) the store at `path`: set WAL mode, apply missing migrations,
    /// and list the changes left `applying` ([`SqliteStore::recovered`]).
    ///
    /// Fails with [`ErrorKind::InvalidInput`] when the file cannot be opened or was
    /// written by a newer version (its schema is above [`SCHEMA_VERSION`]), and
    /// [`ErrorKind::Decode`] when it is not a SQLite database.
    pub fn open_with(path: impl AsRef<Path>, options: &SqliteOptions) -> Result<SqliteStore> {
        let path = path.as_ref().to_path_buf();
        let fail = |e: Error| {
            Error::new(
                e.kind(),
                format!("cannot open the change store {}: {e}", path.display()),
            )
            .with_retryable(e.is_retryable())
        };
        let conn = Connection::open(&path).map_err(|e| fail(sql(e)))?;
        conn.busy_timeout(options.busy_timeout)
            .map_err(|e| fail(sql(e)))?;
        let mode: String = conn
            .pragma_update_and_check(None, "journal_mode", "wal", |r| r.get(0))
            .map_err(|e| fail(sql(e)))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(fail(Error::invalid_input(format!(
                "WAL mode is not available (journal mode {mode})"
            ))));
        }
        let sync = match options.synchronous {
            Synchronous::Full => "FULL",
            Synchronous::Normal => "NORMAL",
        };
        conn.pragma_update(None, "synchronous", sync)
            .map_err(|e| fail(sql(e)))?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(|e| fail(sql(e)))?;
        let mut conn = conn;
        migrate(&mut conn).map_err(fail)?;
        let recovered = {
            let mut stmt = conn
                .prepare("SELECT id FROM changes WHERE state = 'applying' ORDER BY rowid")
                .map_err(|e| fail(sql(e)))?;
            let ids = stmt
                .query_map([], |r| r.get::<_, String>(0))
                .map_err(|e| fail(sql(e)))?
                .collect::<rusqlite::Result<Vec<String>>>()
                .map_err(|e| fail(sql(e)))?;
            ids.into_iter().map(ChangeId::from).collect::<Vec<_>>()
        };
        if !recovered.is_empty() {
            tracing::warn!(
                store = %path.display(),
                count = recovered.len(),
                "changes were left applying: reconcile them with Shopify"
            );
        }
        Ok(SqliteStore {
            conn: Arc::new(Mutex::new(conn)),
            path,
            recovered: Arc::new(recovered),
        })
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The changes that were `applying` when the store was opened: an earlier process
    /// stopped while applying them. Read Shopify's state to reconcile each, then record
    /// the outcome with [`ChangeStore::finish_apply`]. ([`ChangeStore::in_flight`] lists
    /// the changes applying now.)
    pub fn recovered(&self) -> &[ChangeId] {
        &self.recovered
    }

    /// Run SQLite's integrity check; fails with [`ErrorKind::Decode`] naming the
    /// problem.
    pub fn check_integrity(&self) -> Result<()> {
        let conn = self.lock()?;
        let result: String = conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .map_err(sql)?;
        if result == "ok" {
            Ok(())
        } else {
            Err(Error::new(
                ErrorKind::Decode,
                format!(
                    "change store {} fails its integrity check: {result}",
                    self.path.display()
                ),
            ))
        }
    }

    /// The schema version of the file.
    pub fn schema_version(&self) -> Result<u32> {
        let conn = self.lock()?;
        conn.pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(sql)
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, Connection>> {
        self.conn.lock().map_err(|_| {
            Error::invalid_input("the change store connection was poisoned by a panic")
        })
    }

    /// Run `f` with the connection on the blocking pool.
    fn call<T, F>(&self, f: F) -> BoxFuture<'static, Result<T>>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T> + Send + 'static,
    {
        let conn = Arc::clone(&self.conn);
        let job = move || -> Result<T> {
            let mut c = conn.lock().map_err(|_| {
                Error::invalid_input("the change store connection was poisoned by a panic")
            })?;
            f(&mut c)
        };
        Box::pin(async move {
            match tokio::runtime::Handle::try_current() {
                Ok(handle) => handle.spawn_blocking(job).await.map_err(|e| {
                    Error::new(
                        ErrorKind::Cancelled,
                        format!("the change store task did not complete: {e}"),
                    )
                })?,
                Err(_) => job(),
            }
        })
    }

    /// Run `f` in a write transaction on the blocking pool.
    fn write<T, F>(&self, f: F) -> BoxFuture<'static, Result<T>>
    where
        T: Send + 'static,
        F: FnOnce(&mut SqlTxn<'_>) -> Result<T> + Send + 'static,
    {
        self.call(move |conn| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(sql)?;
            let out = f(&mut SqlTxn { tx: &tx })?;
            tx.commit().map_err(sql)?;
            Ok(out)
        })
    }
}

fn migrate(conn: &mut Connection) -> Result<()> {
    loop {
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sql)?;
        let version: u32 = tx
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(sql)?;
        if version > SCHEMA_VERSION {
            return Err(Error::invalid_input(format!(
                "it was written by a newer version of shopify-sync (schema {version}; this \
                 library knows schemas up to {SCHEMA_VERSION}): upgrade to open it"
            )));
        }
        if version == SCHEMA_VERSION {
            return Ok(());
        }
        tx.execute_batch(MIGRATIONS[version as usize])
            .map_err(sql)?;
        tx.pragma_update(None, "user_version", version + 1)
            .map_err(sql)?;
        tx.commit().map_err(sql)?;
    }
}

/// One write transaction.
struct SqlTxn<'t> {
    tx: &'t rusqlite::Transaction<'t>,
}

const UNAPPLIED: &str = "('staged', 'approved', 'failed', 'stale')";

fn read_changes(
    stmt: &mut rusqlite::Statement<'_>,
    params: impl rusqlite::Params,
) -> Result<Vec<Change>> {
    let rows = stmt
        .query_map(params, |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
        })
        .map_err(sql)?;
    let mut out = Vec::new();
    for row in rows {
        let (id, json) = row.map_err(sql)?;
        out.push(decode(&format!("change {id}"), &json)?);
    }
    Ok(out)
}

/// The SQL that selects a superset of what `filter` selects, and its parameters. The
/// most selective condition leads: a plan, ids or targets before states.
fn filter_sql(filter: &ChangeFilter) -> (String, Vec<String>) {
    let mut sql = String::from("SELECT id, json FROM changes WHERE 1 = 1");
    let mut params: Vec<String> = Vec::new();
    let narrow =
        filter.plan_id.is_some() || filter.change_ids.is_some() || filter.targets.is_some();
    let mut any_of = |sql: &mut String, column: &str, values: Vec<String>| {
        if values.len() == 1 {
            sql.push_str(&format!(" AND {column} = ?"));
        } else {
            let marks = vec!["?"; values.len()].join(", ");
            sql.push_str(&format!(" AND {column} IN ({marks})"));
        }
        params.extend(values);
    };
    if let Some(p) = &filter.plan_id {
        any_of(&mut sql, "plan_id", vec![p.to_string()]);
    }
    if let Some(ids) = &filter.change_ids {
        any_of(&mut sql, "id", ids.iter().map(|i| i.to_string()).collect());
    }
    if let Some(states) = &filter.states {
        // `+state`: do not use the state index when a narrower condition is there.
        let column = if narrow { "+state" } else { "state" };
        any_of(
            &mut sql,
            column,
            states.iter().map(|s| s.as_str().to_owned()).collect(),
        );
    }
    if let Some(ops) = &filter.operations {
        any_of(
            &mut sql,
            "+operation",
            ops.iter().map(|o| o.as_str().to_owned()).collect(),
        );
    }
    if let Some(targets) = &filter.targets {
        let marks = vec!["?"; targets.len()].join(", ");
        sql.push_str(&format!(
            " AND (shopify_id IN ({marks}) OR local_id IN ({marks}))"
        ));
        params.extend(targets.iter().cloned());
        params.extend(targets.iter().cloned());
    }
    sql.push_str(" ORDER BY rowid");
    (sql, params)
}

impl Txn for SqlTxn<'_> {
    fn plan_exists(&mut self, id: &PlanId) -> Result<bool> {
        self.tx
            .query_row("SELECT 1 FROM plans WHERE id = ?1", [id.as_str()], |_| {
                Ok(())
            })
            .optional()
            .map(|r| r.is_some())
            .map_err(sql)
    }

    fn insert_plan(&mut self, plan: &Plan) -> Result<()> {
        let header = Plan {
            changes: Vec::new(),
            ..plan.clone()
        };
        self.tx
            .execute(
                "INSERT INTO plans (id, created_at, json) VALUES (?1, ?2, ?3)",
                params![
                    plan.id.as_str(),
                    time_text(plan.created_at),
                    encode(&header)?
                ],
            )
            .map_err(sql)?;
        let mut stmt = self
            .tx
            .prepare_cached(
                "INSERT INTO changes (id, plan_id, seq, kind, local_id, shopify_id, operation, \
                 field, state, version, priority, json) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
            )
            .map_err(sql)?;
        for (seq, c) in plan.changes.iter().enumerate() {
            stmt.execute(params![
                c.id.as_str(),
                c.plan_id.as_str(),
                seq as i64,
                c.target.kind.as_str(),
                c.target.local_id,
                c.target.shopify_id,
                c.operation.as_str(),
                c.field.map(|f| f.as_str()),
                c.state.as_str(),
                c.version as i64,
                c.priority,
                encode(c)?,
            ])
            .map_err(sql)?;
        }
        Ok(())
    }

    fn get_change(&mut self, id: &ChangeId) -> Result<Option<Change>> {
        let mut stmt = self
            .tx
            .prepare_cached("SELECT id, json FROM changes WHERE id = ?1")
            .map_err(sql)?;
        Ok(read_changes(&mut stmt, [id.as_str()])?.pop())
    }

    fn select_changes(&mut self, filter: &ChangeFilter) -> Result<Vec<Change>> {
        let (text, params) = filter_sql(filter);
        let mut stmt = self.tx.prepare(&text).map_err(sql)?;
        let mut changes = read_changes(&mut stmt, params_from_iter(params.iter()))?;
        changes.retain(|c| filter.matches(c));
        Ok(changes)
    }

    fn unapplied_of(&mut self, target: &Target, except: &PlanId) -> Result<Vec<Change>> {
        // Two indexed lookups (an OR of the two columns would scan the table).
        let mut changes = Vec::new();
        for (column, id) in [
            ("shopify_id", target.shopify_id.as_deref()),
            ("local_id", target.local_id.as_deref()),
        ] {
            let Some(id) = id else { continue };
            let mut stmt = self
                .tx
                .prepare_cached(&format!(
                    "SELECT id, json FROM changes WHERE kind = ?1 AND {column} = ?2 \
                     AND state IN {UNAPPLIED} AND plan_id <> ?3 ORDER BY rowid"
                ))
                .map_err(sql)?;
            for c in read_changes(
                &mut stmt,
                params![target.kind.as_str(), id, except.as_str()],
            )? {
                if !changes.iter().any(|x: &Change| x.id == c.id) {
                    changes.push(c);
                }
            }
        }
        changes.retain(|c| c.target.same_entity(target));
        Ok(changes)
    }

    fn update_change(&mut self, change: &Change, expected_version: u64) -> Result<()> {
        let mut stmt = self
            .tx
            .prepare_cached(
                "UPDATE changes SET state = ?1, version = ?2, json = ?3 WHERE id = ?4 AND version = ?5",
            )
            .map_err(sql)?;
        let n = stmt
            .execute(params![
                change.state.as_str(),
                change.version as i64,
                encode(change)?,
                change.id.as_str(),
                expected_version as i64,
            ])
            .map_err(sql)?;
        if n == 1 {
            Ok(())
        } else {
            Err(ops::lost_race(&change.id))
        }
    }

    fn append_audit(&mut self, entry: &mut AuditEntry) -> Result<()> {
        let mut stmt = self
            .tx
            .prepare_cached(
                "INSERT INTO audit (at, change_id, plan_id, shopify_id, local_id, json) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )
            .map_err(sql)?;
        entry.seq = 0;
        stmt.execute(params![
            time_text(entry.at),
            entry.change_id.as_ref().map(|c| c.as_str()),
            entry.plan_id.as_ref().map(|p| p.as_str()),
            entry.target.as_ref().and_then(|t| t.shopify_id.as_deref()),
            entry.target.as_ref().and_then(|t| t.local_id.as_deref()),
            encode(entry)?,
        ])
        .map_err(sql)?;
        entry.seq = self.tx.last_insert_rowid() as u64;
        Ok(())
    }

    fn add_rejections(&mut self, rejections: &[Rejection]) -> Result<()> {
        let mut stmt = self
            .tx
            .prepare_cached(
                "INSERT OR IGNORE INTO rejections (target, path, value) VALUES (?1, ?2, ?3)",
            )
            .map_err(sql)?;
        for r in rejections {
            stmt.execute(params![r.target, r.path, r.value])
                .map_err(sql)?;
        }
        Ok(())
    }
}

fn read_plan(conn: &mut Connection, id: &PlanId) -> Result<Option<Plan>> {
    let tx = conn.transaction().map_err(sql)?;
    let header: Option<String> = tx
        .query_row("SELECT json FROM plans WHERE id = ?1", [id.as_str()], |r| {
            r.get(0)
        })
        .optional()
        .map_err(sql)?;
    let Some(header) = header else {
        return Ok(None);
    };
    let mut plan: Plan = decode(&format!("plan {id}"), &header)?;
    let mut stmt = tx
        .prepare("SELECT id, json FROM changes WHERE plan_id = ?1 ORDER BY seq")
        .map_err(sql)?;
    plan.changes = read_changes(&mut stmt, [id.as_str()])?;
    Ok(Some(plan))
}

fn read_audit(conn: &mut Connection, q: &AuditQuery) -> Result<Vec<AuditEntry>> {
    let mut text = String::from("SELECT seq, json FROM audit WHERE 1 = 1");
    let mut params: Vec<rusqlite::types::Value> = Vec::new();
    use rusqlite::types::Value as V;
    if let Some(c) = &q.change_id {
        text.push_str(" AND change_id = ?");
        params.push(V::Text(c.to_string()));
    }
    if let Some(p) = &q.plan_id {
        text.push_str(" AND plan_id = ?");
        params.push(V::Text(p.to_string()));
    }
    if let Some(t) = &q.target {
        text.push_str(" AND (shopify_id = ? OR local_id = ?)");
        params.push(V::Text(t.clone()));
        params.push(V::Text(t.clone()));
    }
    if let Some(at) = q.since {
        text.push_str(" AND at >= ?");
        params.push(V::Text(time_text(at)));
    }
    if let Some(at) = q.until {
        text.push_str(" AND at < ?");
        params.push(V::Text(time_text(at)));
    }
    if let Some(s) = q.after_seq {
        text.push_str(" AND seq > ?");
        params.push(V::Integer(i64::try_from(s).unwrap_or(i64::MAX)));
    }
    text.push_str(" ORDER BY seq");
    if let Some(limit) = q.limit {
        text.push_str(" LIMIT ?");
        params.push(V::Integer(i64::try_from(limit).unwrap_or(i64::MAX)));
    }
    let tx = conn.transaction().map_err(sql)?;
    let mut stmt = tx.prepare(&text).map_err(sql)?;
    let rows = stmt
        .query_map(params_from_iter(params.iter()), |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
        })
        .map_err(sql)?;
    let mut out = Vec::new();
    for row in rows {
        let (seq, json) = row.map_err(sql)?;
        let mut entry: AuditEntry = decode(&format!("audit entry {seq}"), &json)?;
        entry.seq = seq as u64;
        out.push(entry);
    }
    Ok(out)
}

impl ChangeStore for SqliteStore {
    fn save_plan<'a>(&'a self, plan: &'a Plan, by: &'a Review) -> BoxFuture<'a, Result<SavedPlan>> {
        let (plan, by) = (plan.clone(), by.clone());
        self.write(move |tx| ops::save_plan(tx, &plan, &by))
    }

    fn plan<'a>(&'a self, id: &'a PlanId) -> BoxFuture<'a, Result<Option<Plan>>> {
        let id = id.clone();
        self.call(move |conn| read_plan(conn, &id))
    }

    fn change<'a>(&'a self, id: &'a ChangeId) -> BoxFuture<'a, Result<Option<Change>>> {
        let id = id.clone();
        self.call(move |conn| {
            let mut stmt = conn
                .prepare_cached("SELECT id, json FROM changes WHERE id = ?1")
                .map_err(sql)?;
            Ok(read_changes(&mut stmt, [id.as_str()])?.pop())
        })
    }

    fn changes<'a>(&'a self, filter: &'a ChangeFilter) -> BoxFuture<'a, Result<Vec<Change>>> {
        let filter = filter.clone();
        self.call(move |conn| {
            let (text, params) = filter_sql(&filter);
            let mut stmt = conn.prepare(&text).map_err(sql)?;
            let mut changes = read_changes(&mut stmt, params_from_iter(params.iter()))?;
            changes.retain(|c| filter.matches(c));
            Ok(changes)
        })
    }

    fn review<'a>(
        &'a self,
        action: ReviewAction,
        filter: &'a ChangeFilter,
        by: &'a Review,
    ) -> BoxFuture<'a, Result<ReviewReport>> {
        let (filter, by) = (filter.clone(), by.clone());
        self.write(move |tx| ops::review(tx, action, &filter, &by))
    }

    fn resolve<'a>(
        &'a self,
        id: &'a ChangeId,
        path: Option<&'a str>,
        take: Take,
        value: Option<Value>,
        by: &'a Review,
    ) -> BoxFuture<'a, Result<Change>> {
        let (id, path, by) = (id.clone(), path.map(str::to_owned), by.clone());
        self.write(move |tx| ops::resolve(tx, &id, path.as_deref(), take, value, &by))
    }

    fn transition<'a>(
        &'a self,
        id: &'a ChangeId,
        to: ChangeState,
        by: &'a Review,
    ) -> BoxFuture<'a, Result<Change>> {
        let (id, by) = (id.clone(), by.clone());
        self.write(move |tx| ops::transition(tx, &id, to, None, &by))
    }

    fn finish_apply<'a>(
        &'a self,
        id: &'a ChangeId,
        result: ApplyResult,
        by: &'a Review,
    ) -> BoxFuture<'a, Result<Change>> {
        let (id, by) = (id.clone(), by.clone());
        let to = result.outcome.state();
        self.write(move |tx| ops::transition(tx, &id, to, Some(result), &by))
    }

    fn audit<'a>(&'a self, query: &'a AuditQuery) -> BoxFuture<'a, Result<Vec<AuditEntry>>> {
        let query = query.clone();
        self.call(move |conn| read_audit(conn, &query))
    }

    fn rejections(&self) -> BoxFuture<'_, Result<Rejections>> {
        self.call(|conn| {
            let mut stmt = conn
                .prepare("SELECT target, path, value FROM rejections")
                .map_err(sql)?;
            let rows = stmt
                .query_map([], |r| {
                    Ok(Rejection {
                        target: r.get(0)?,
                        path: r.get(1)?,
                        value: r.get(2)?,
                    })
                })
                .map_err(sql)?;
            rows.collect::<rusqlite::Result<Rejections>>().map_err(sql)
        })
    }

    fn write_snapshots<'a>(&'a self, batch: &'a SnapshotBatch) -> BoxFuture<'a, Result<()>> {
        let encoded: Result<Vec<(SnapshotSide, String, String)>> = batch
            .put
            .iter()
            .map(|(side, k, s)| Ok((*side, k.clone(), encode(s)?)))
            .collect();
        let deletes = batch.delete.clone();
        let checkpoints = batch.checkpoints.clone();
        let write = encoded.map(|encoded| {
            self.write(move |tx| {
                let mut put = tx
                    .tx
                    .prepare_cached(
                        "INSERT OR REPLACE INTO snapshots (side, key, json) VALUES (?1, ?2, ?3)",
                    )
                    .map_err(sql)?;
                for (side, key, json) in &encoded {
                    put.execute(params![side.as_str(), key, json])
                        .map_err(sql)?;
                }
                let mut del = tx
                    .tx
                    .prepare_cached("DELETE FROM snapshots WHERE side = ?1 AND key = ?2")
                    .map_err(sql)?;
                for (side, key) in &deletes {
                    del.execute(params![side.as_str(), key]).map_err(sql)?;
                }
                let mut cp = tx
                    .tx
                    .prepare_cached(
                        "INSERT OR REPLACE INTO checkpoints (name, value) VALUES (?1, ?2)",
                    )
                    .map_err(sql)?;
                for (name, value) in &checkpoints {
                    cp.execute(params![name, value]).map_err(sql)?;
                }
                Ok(())
            })
        });
        Box::pin(async move { write?.await })
    }

    fn snapshots(
        &self,
        side: SnapshotSide,
    ) -> BoxFuture<'_, Result<Vec<(String, StoredSnapshot)>>> {
        self.call(move |conn| {
            let mut stmt = conn
                .prepare_cached("SELECT key, json FROM snapshots WHERE side = ?1 ORDER BY key")
                .map_err(sql)?;
            let rows = stmt
                .query_map(params![side.as_str()], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
                })
                .map_err(sql)?;
            decode_snapshots(rows)
        })
    }

    fn snapshots_page<'a>(
        &'a self,
        side: SnapshotSide,
        after: Option<&'a str>,
        limit: usize,
    ) -> BoxFuture<'a, Result<Vec<(String, StoredSnapshot)>>> {
        let after = after.map(str::to_owned);
        // SQLite's LIMIT is a signed 64-bit integer; a negative one means no limit.
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.call(move |conn| {
            let row = |r: &rusqlite::Row<'_>| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?));
            // The primary key (side, key) makes each page a range scan.
            match after {
                Some(after) => {
                    let mut stmt = conn
                        .prepare_cached(
                            "SELECT key, json FROM snapshots WHERE side = ?1 AND key > ?2 \
                             ORDER BY key LIMIT ?3",
                        )
                        .map_err(sql)?;
                    let rows = stmt
                        .query_map(params![side.as_str(), after, limit], row)
                        .map_err(sql)?;
                    decode_snapshots(rows)
                }
                None => {
                    let mut stmt = conn
                        .prepare_cached(
                            "SELECT key, json FROM snapshots WHERE side = ?1 ORDER BY key LIMIT ?2",
                        )
                        .map_err(sql)?;
                    let rows = stmt
                        .query_map(params![side.as_str(), limit], row)
                        .map_err(sql)?;
                    decode_snapshots(rows)
                }
            }
        })
    }

    fn snapshot<'a>(
        &'a self,
        side: SnapshotSide,
        key: &'a str,
    ) -> BoxFuture<'a, Result<Option<StoredSnapshot>>> {
        let key = key.to_owned();
        self.call(move |conn| {
            let json: Option<String> = conn
                .query_row(
                    "SELECT json FROM snapshots WHERE side = ?1 AND key = ?2",
                    params![side.as_str(), key],
                    |r| r.get(0),
                )
                .optional()
                .map_err(sql)?;
            json.map(|j| decode(&format!("snapshot {key}"), &j))
                .transpose()
        })
    }

    fn set_checkpoint<'a>(&'a self, name: &'a str, value: &'a str) -> BoxFuture<'a, Result<()>> {
        let (name, value) = (name.to_owned(), value.to_owned());
        self.write(move |tx| {
            tx.tx
                .execute(
                    "INSERT OR REPLACE INTO checkpoints (name, value) VALUES (?1, ?2)",
                    params![name, value],
                )
                .map_err(sql)?;
            Ok(())
        })
    }

    fn checkpoint<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<Option<String>>> {
        let name = name.to_owned();
        self.call(move |conn| {
            conn.query_row(
                "SELECT value FROM checkpoints WHERE name = ?1",
                [name],
                |r| r.get(0),
            )
            .optional()
            .map_err(sql)
        })
    }
}
