//! The change store: where plans, changes, the audit trail, rejected proposals, base and
//! remote snapshots and checkpoints live between runs.
//!
//! This module owns the [`ChangeStore`] trait and the rules every implementation
//! follows, written once here and run inside each store's transaction:
//!
//! - saving a plan supersedes the older unapplied changes of its targets, and audits
//!   every new change as `planned`;
//! - every transition and resolution is checked by the state machine of
//!   [`change`](super::change), written with a conditional update (the change's
//!   `version`), and audited in the same transaction: a change never moves without its
//!   audit entry, and two writers (threads or processes) moving the same change cannot
//!   both win;
//! - a rejection is remembered per (target, path, value).
//!
//! Implementations: [`MemoryStore`] (tests, short-lived tools) and [`SqliteStore`] (the
//! embedded default: one file, WAL, versioned migrations). They must not touch the
//! network or the executor; they know nothing of Shopify beyond the staging types.
//!
//! ```
//! use shopify_sync::model::Gid;
//! use shopify_sync::staging::store::{ChangeStore, MemoryStore};
//! use shopify_sync::staging::*;
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let snap = |json: &str| serde_json::from_str::<ProductSnapshot>(json).unwrap();
//! let mut input = PlanInput::default();
//! input.products.local.push(Record::new_local("sku-1", snap(r#"{"title": "Tee"}"#)));
//! let plan = Planner::new(FieldMask::ALL).plan(&input);
//!
//! let store = MemoryStore::new();
//! let by = Review::now("ana");
//! store.save_plan(&plan, &by).await?;
//! let report = store.approve(&ChangeFilter::default().plan(&plan.id), &by).await?;
//! let id = &report.changed[0];
//! store.begin_apply(id, &Review::now("executor")).await?;
//! // A second worker cannot take the same change.
//! assert!(store.begin_apply(id, &Review::now("executor-2")).await.is_err());
//! let ids = IdMapping { local_id: Some("sku-1".into()), shopify_id: "gid://shopify/Product/7".into(), variants: vec![] };
//! let done = store.finish_apply(id, ApplyResult::applied(Some(ids)), &Review::now("executor")).await?;
//! assert_eq!(done.state, ChangeState::Applied);
//! let trail = store.audit(&AuditQuery::default().target("sku-1")).await?;
//! let actions: Vec<&str> = trail.iter().map(|e| e.action.as_str()).collect();
//! assert_eq!(actions, ["planned", "approved", "applying", "applied"]);
//! # Ok::<(), shopify_sync::error::Error>(())
//! # }).unwrap();
//! ```

mod memory;
mod sqlite;

pub use memory::MemoryStore;
pub use sqlite::{SqliteOptions, SqliteStore, Synchronous, SCHEMA_VERSION};

use super::audit::{audit_jsonl, AuditAction, AuditEntry, AuditQuery};
use super::change::{ApplyResult, Change, ChangeId, ChangeState, PlanId, Review, Take, Target};
use super::fingerprint::Fingerprint;
use super::plan::Plan;
use super::review::{
    review_changes, ChangeFilter, Rejection, Rejections, ReviewAction, ReviewReport,
};
use super::snapshot::Snapshot;
use crate::error::{Error, Result};
use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::HashSet;

/// Which side a stored snapshot is (JSON `"base"` / `"remote"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SnapshotSide {
    /// What was last synced.
    Base,
    /// What Shopify held when last read.
    Remote,
}

impl SnapshotSide {
    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            SnapshotSide::Base => "base",
            SnapshotSide::Remote => "remote",
        }
    }
}

/// A snapshot as stored: the content, its fingerprint and Shopify's `updatedAt`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoredSnapshot {
    /// The content.
    pub snapshot: Snapshot,
    /// Its fingerprint under the mask in use.
    #[serde(default)]
    pub fingerprint: Option<Fingerprint>,
    /// Shopify's `updatedAt`.
    #[serde(default)]
    pub updated_at: Option<DateTime<Utc>>,
    /// The caller's id of the entity, once known (base snapshots: joins a local record
    /// that does not carry the Shopify id yet).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local_id: Option<String>,
}

/// Snapshot writes and checkpoints committed together by
/// [`ChangeStore::write_snapshots`]: a pull's page and its cursor land in one
/// transaction, so a crash never leaves a cursor ahead of the data.
#[derive(Debug, Clone, Default)]
pub struct SnapshotBatch {
    /// Snapshots to insert or replace, by side and key.
    pub put: Vec<(SnapshotSide, String, StoredSnapshot)>,
    /// Snapshots to remove, by side and key (absent keys are ignored).
    pub delete: Vec<(SnapshotSide, String)>,
    /// Checkpoints to set, `(name, value)`.
    pub checkpoints: Vec<(String, String)>,
}

impl SnapshotBatch {
    /// Whether it writes nothing.
    pub fn is_empty(&self) -> bool {
        self.put.is_empty() && self.delete.is_empty() && self.checkpoints.is_empty()
    }
}

/// What saving a plan did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedPlan {
    /// The plan.
    pub plan_id: PlanId,
    /// How many changes were saved.
    pub changes: usize,
    /// Older unapplied changes of the same targets, now `superseded`.
    pub superseded: Vec<ChangeId>,
}

/// Where plans, changes, audit entries, rejections, snapshots and checkpoints live.
/// See the [module docs](self). Object safe: use it as `Arc<dyn ChangeStore>`.
///
/// Every method is atomic: it completes or leaves the store as it was.
pub trait ChangeStore: Send + Sync {
    /// Save a freshly computed plan and its changes (all `staged`; a plan is reviewed
    /// in the store, where the review is audited). Older unapplied changes of the same
    /// targets become `superseded`. Fails with
    /// [`ErrorKind::InvalidInput`](crate::error::ErrorKind::InvalidInput) when the plan
    /// is already saved, is inconsistent, or holds a change that is not `staged`.
    fn save_plan<'a>(&'a self, plan: &'a Plan, by: &'a Review) -> BoxFuture<'a, Result<SavedPlan>>;

    /// The plan with its changes in their current states.
    fn plan<'a>(&'a self, id: &'a PlanId) -> BoxFuture<'a, Result<Option<Plan>>>;

    /// One change.
    fn change<'a>(&'a self, id: &'a ChangeId) -> BoxFuture<'a, Result<Option<Change>>>;

    /// The changes a filter selects, in plan order (plans by time).
    fn changes<'a>(&'a self, filter: &'a ChangeFilter) -> BoxFuture<'a, Result<Vec<Change>>>;

    /// Approve or reject the selected `staged` changes (see
    /// [`review_changes`]); rejections are remembered.
    fn review<'a>(
        &'a self,
        action: ReviewAction,
        filter: &'a ChangeFilter,
        by: &'a Review,
    ) -> BoxFuture<'a, Result<ReviewReport>>;

    /// Resolve conflicts of one change (see [`Change::resolve`]).
    fn resolve<'a>(
        &'a self,
        id: &'a ChangeId,
        path: Option<&'a str>,
        take: Take,
        value: Option<Value>,
        by: &'a Review,
    ) -> BoxFuture<'a, Result<Change>>;

    /// Move one change (see [`Change::transition`]): the error names the change and both
    /// states when the machine does not allow it, or when another writer moved it first.
    fn transition<'a>(
        &'a self,
        id: &'a ChangeId,
        to: ChangeState,
        by: &'a Review,
    ) -> BoxFuture<'a, Result<Change>>;

    /// Record an apply result: `applying -> applied | failed | stale`.
    fn finish_apply<'a>(
        &'a self,
        id: &'a ChangeId,
        result: ApplyResult,
        by: &'a Review,
    ) -> BoxFuture<'a, Result<Change>>;

    /// The audit entries a query selects, in `seq` order.
    fn audit<'a>(&'a self, query: &'a AuditQuery) -> BoxFuture<'a, Result<Vec<AuditEntry>>>;

    /// Every remembered rejection, for the [`Planner`](super::Planner).
    fn rejections(&self) -> BoxFuture<'_, Result<Rejections>>;

    /// Insert, replace and delete snapshots and set checkpoints, in one transaction.
    fn write_snapshots<'a>(&'a self, batch: &'a SnapshotBatch) -> BoxFuture<'a, Result<()>>;

    /// Every snapshot of one side, sorted by key. This holds the whole side in memory:
    /// to read a large side, page through it with
    /// [`snapshots_page`](ChangeStore::snapshots_page).
    fn snapshots(&self, side: SnapshotSide)
        -> BoxFuture<'_, Result<Vec<(String, StoredSnapshot)>>>;

    /// One page of the snapshots of one side: the first `limit` whose key sorts after
    /// `after` (from the first key on `None`), sorted by key. Keys compare as strings,
    /// byte by byte (SQLite's `BINARY` collation, Rust's `str` order), which is not
    /// numeric order for gids: that does not matter for paging.
    ///
    /// To read a side page by page, pass the last key of each page as the next `after`;
    /// a page shorter than `limit` is the last one (a `limit` of 0 gives an empty page).
    /// Each page is read on its own: a snapshot written or deleted between two pages is
    /// seen by the later pages when its key is after theirs, and every key present
    /// throughout is listed exactly once.
    ///
    /// The default implementation filters [`snapshots`](ChangeStore::snapshots), so it
    /// holds the whole side while it does; [`MemoryStore`] and [`SqliteStore`] read only
    /// the page. Other stores should do the same.
    fn snapshots_page<'a>(
        &'a self,
        side: SnapshotSide,
        after: Option<&'a str>,
        limit: usize,
    ) -> BoxFuture<'a, Result<Vec<(String, StoredSnapshot)>>> {
        Box::pin(async move {
            let all = self.snapshots(side).await?;
            Ok(all
                .into_iter()
                .filter(|(key, _)| after.is_none_or(|a| key.as_str() > a))
                .take(limit)
                .collect())
        })
    }

    /// One stored snapshot.
    fn snapshot<'a>(
        &'a self,
        side: SnapshotSide,
        key: &'a str,
    ) -> BoxFuture<'a, Result<Option<StoredSnapshot>>>;

    /// Set a named checkpoint (a cursor, the time of the last pull ...).
    fn set_checkpoint<'a>(&'a self, name: &'a str, value: &'a str) -> BoxFuture<'a, Result<()>>;

    /// A named checkpoint.
    fn checkpoint<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<Option<String>>>;

    /// Store snapshots of one side, by key (use the entity's gid).
    fn put_snapshots<'a>(
        &'a self,
        side: SnapshotSide,
        entries: &'a [(String, StoredSnapshot)],
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            let batch = SnapshotBatch {
                put: entries
                    .iter()
                    .map(|(k, s)| (side, k.clone(), s.clone()))
                    .collect(),
                ..SnapshotBatch::default()
            };
            self.write_snapshots(&batch).await
        })
    }

    /// Approve the selected `staged` changes.
    fn approve<'a>(
        &'a self,
        filter: &'a ChangeFilter,
        by: &'a Review,
    ) -> BoxFuture<'a, Result<ReviewReport>> {
        self.review(ReviewAction::Approve, filter, by)
    }

    /// Reject the selected `staged` changes, remembering the rejections.
    fn reject<'a>(
        &'a self,
        filter: &'a ChangeFilter,
        by: &'a Review,
    ) -> BoxFuture<'a, Result<ReviewReport>> {
        self.review(ReviewAction::Reject, filter, by)
    }

    /// Take an approved change for applying: `approved -> applying`. Of two workers
    /// taking the same change, one gets an error.
    fn begin_apply<'a>(
        &'a self,
        id: &'a ChangeId,
        by: &'a Review,
    ) -> BoxFuture<'a, Result<Change>> {
        self.transition(id, ChangeState::Applying, by)
    }

    /// The changes left `applying` (after a crash: to reconcile by reading Shopify,
    /// then [`finish_apply`](ChangeStore::finish_apply)).
    fn in_flight(&self) -> BoxFuture<'_, Result<Vec<Change>>> {
        Box::pin(async move {
            let filter = ChangeFilter::default().state(ChangeState::Applying);
            self.changes(&filter).await
        })
    }

    /// The audit entries a query selects, as JSONL.
    fn export_audit_jsonl<'a>(&'a self, query: &'a AuditQuery) -> BoxFuture<'a, Result<String>> {
        Box::pin(async move { Ok(audit_jsonl(&self.audit(query).await?)) })
    }
}

/// What a store does inside one of its transactions. The rules above are written once
/// against this, in [`ops`].
pub(crate) trait Txn {
    fn plan_exists(&mut self, id: &PlanId) -> Result<bool>;
    /// Insert the plan (its header and its changes).
    fn insert_plan(&mut self, plan: &Plan) -> Result<()>;
    fn get_change(&mut self, id: &ChangeId) -> Result<Option<Change>>;
    /// Changes the filter selects (may be a superset; callers re-check the filter).
    fn select_changes(&mut self, filter: &ChangeFilter) -> Result<Vec<Change>>;
    /// Unapplied changes of this target in other plans.
    fn unapplied_of(&mut self, target: &Target, except: &PlanId) -> Result<Vec<Change>>;
    /// Write a change whose version was `expected_version` when read.
    fn update_change(&mut self, change: &Change, expected_version: u64) -> Result<()>;
    /// Append an entry; sets its `seq`.
    fn append_audit(&mut self, entry: &mut AuditEntry) -> Result<()>;
    fn add_rejections(&mut self, rejections: &[Rejection]) -> Result<()>;
}

pub(crate) mod ops {
    use super::*;

    pub(crate) fn not_found(id: &ChangeId) -> Error {
        Error::invalid_input(format!("no change {id} in the store"))
    }

    pub(crate) fn lost_race(id: &ChangeId) -> Error {
        Error::invalid_input(format!(
            "change {id} was moved by another writer at the same time: read it again"
        ))
    }

    pub(crate) fn save_plan<T: Txn>(tx: &mut T, plan: &Plan, by: &Review) -> Result<SavedPlan> {
        plan.validate()?;
        if let Some(c) = plan
            .changes
            .iter()
            .find(|c| c.state != ChangeState::Staged || c.version != 0)
        {
            return Err(Error::invalid_input(format!(
                "change {} is {} (version {}): a plan is saved before any review",
                c.id, c.state, c.version
            )));
        }
        if tx.plan_exists(&plan.id)? {
            return Err(Error::invalid_input(format!(
                "plan {} is already in the store",
                plan.id
            )));
        }
        let mut superseded = Vec::new();
        let mut seen: HashSet<&Target> = HashSet::new();
        let comment = format!("superseded by plan {}", plan.id);
        for c in &plan.changes {
            if !seen.insert(&c.target) {
                continue;
            }
            for mut old in tx.unapplied_of(&c.target, &plan.id)? {
                if !old.state.is_unapplied() || superseded.contains(&old.id) {
                    continue;
                }
                let version = old.version;
                let mut entry = old.transition(ChangeState::Superseded, by)?;
                entry.comment = Some(comment.clone());
                tx.update_change(&old, version)?;
                tx.append_audit(&mut entry)?;
                superseded.push(old.id);
            }
        }
        tx.insert_plan(plan)?;
        for c in &plan.changes {
            let mut entry = AuditEntry::for_change(
                c,
                AuditAction::Planned,
                by,
                Value::Null,
                json!({ "state": ChangeState::Staged, "operation": c.operation, "rows": c.rows.len() }),
            );
            tx.append_audit(&mut entry)?;
        }
        Ok(SavedPlan {
            plan_id: plan.id.clone(),
            changes: plan.changes.len(),
            superseded,
        })
    }

    pub(crate) fn review<T: Txn>(
        tx: &mut T,
        action: ReviewAction,
        filter: &ChangeFilter,
        by: &Review,
    ) -> Result<ReviewReport> {
        // Only staged changes can be reviewed: read those, then apply the caller's filter.
        let mut narrowed = filter.clone();
        narrowed.states = Some(vec![ChangeState::Staged]);
        let mut changes = tx.select_changes(&narrowed)?;
        let versions: Vec<u64> = changes.iter().map(|c| c.version).collect();
        let mut report = review_changes(changes.iter_mut(), filter, action, by);
        let moved: HashSet<&ChangeId> = report.changed.iter().collect();
        for (c, version) in changes.iter().zip(versions) {
            if moved.contains(&c.id) {
                tx.update_change(c, version)?;
                if action == ReviewAction::Reject {
                    tx.add_rejections(&Rejections::of_change(c))?;
                }
            }
        }
        for entry in &mut report.audit {
            tx.append_audit(entry)?;
        }
        Ok(report)
    }

    pub(crate) fn resolve<T: Txn>(
        tx: &mut T,
        id: &ChangeId,
        path: Option<&str>,
        take: Take,
        value: Option<Value>,
        by: &Review,
    ) -> Result<Change> {
        let mut c = tx.get_change(id)?.ok_or_else(|| not_found(id))?;
        let version = c.version;
        let mut entry = c.resolve(path, take, value, by)?;
        tx.update_change(&c, version)?;
        tx.append_audit(&mut entry)?;
        Ok(c)
    }

    pub(crate) fn transition<T: Txn>(
        tx: &mut T,
        id: &ChangeId,
        to: ChangeState,
        result: Option<ApplyResult>,
        by: &Review,
    ) -> Result<Change> {
        let mut c = tx.get_change(id)?.ok_or_else(|| not_found(id))?;
        let version = c.version;
        let mut entry = match result {
            Some(result) => c.finish_apply(result, by)?,
            None => c.transition(to, by)?,
        };
        tx.update_change(&c, version)?;
        tx.append_audit(&mut entry)?;
        Ok(c)
    }
}
