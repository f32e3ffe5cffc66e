//! [`MemoryStore`]: the change store in memory, for tests and short-lived tools.

use super::{ops, ChangeStore, SavedPlan, SnapshotBatch, SnapshotSide, StoredSnapshot, Txn};
use crate::error::{Error, Result};
use crate::staging::audit::{AuditEntry, AuditLog, AuditQuery};
use crate::staging::change::{
    ApplyResult, Change, ChangeId, ChangeState, PlanId, Review, Take, Target,
};
use crate::staging::plan::Plan;
use crate::staging::review::{ChangeFilter, Rejection, Rejections, ReviewAction, ReviewReport};
use futures::future::BoxFuture;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;
use std::sync::{Mutex, MutexGuard};

/// The change store in memory: the same rules as [`SqliteStore`](super::SqliteStore),
/// nothing kept after the process ends. Cheap to create; share it behind an `Arc`.
///
/// ```
/// use shopify_sync::staging::store::{ChangeStore, MemoryStore};
/// use shopify_sync::staging::ChangeFilter;
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let store = MemoryStore::new();
/// assert!(store.changes(&ChangeFilter::default()).await?.is_empty());
/// store.set_checkpoint("products.updated_at", "2026-07-01T00:00:00Z").await?;
/// assert_eq!(store.checkpoint("products.updated_at").await?.as_deref(), Some("2026-07-01T00:00:00Z"));
/// # Ok::<(), shopify_sync::error::Error>(())
/// # }).unwrap();
/// ```
#[derive(Debug, Default)]
pub struct MemoryStore {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// Plans without their changes, in insertion order.
    plans: Vec<Plan>,
    changes: Vec<Change>,
    by_id: HashMap<ChangeId, usize>,
    audit: AuditLog,
    rejections: Rejections,
    /// Snapshots by side, then by key: sorted, so a page is a range.
    snapshots: HashMap<SnapshotSide, BTreeMap<String, StoredSnapshot>>,
    checkpoints: HashMap<String, String>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    fn lock(&self) -> Result<MutexGuard<'_, State>> {
        self.state
            .lock()
            .map_err(|_| Error::invalid_input("the memory store was poisoned by a panic"))
    }

    fn run<T>(&self, f: impl FnOnce(&mut State) -> Result<T>) -> Result<T> {
        let mut state = self.lock()?;
        f(&mut state)
    }
}

impl Txn for State {
    fn plan_exists(&mut self, id: &PlanId) -> Result<bool> {
        Ok(self.plans.iter().any(|p| &p.id == id))
    }

    fn insert_plan(&mut self, plan: &Plan) -> Result<()> {
        let header = Plan {
            changes: Vec::new(),
            ..plan.clone()
        };
        self.plans.push(header);
        for c in &plan.changes {
            self.by_id.insert(c.id.clone(), self.changes.len());
            self.changes.push(c.clone());
        }
        Ok(())
    }

    fn get_change(&mut self, id: &ChangeId) -> Result<Option<Change>> {
        Ok(self.by_id.get(id).map(|&i| self.changes[i].clone()))
    }

    fn select_changes(&mut self, filter: &ChangeFilter) -> Result<Vec<Change>> {
        Ok(self
            .changes
            .iter()
            .filter(|c| filter.matches(c))
            .cloned()
            .collect())
    }

    fn unapplied_of(&mut self, target: &Target, except: &PlanId) -> Result<Vec<Change>> {
        Ok(self
            .changes
            .iter()
            .filter(|c| {
                &c.plan_id != except && c.state.is_unapplied() && c.target.same_entity(target)
            })
            .cloned()
            .collect())
    }

    fn update_change(&mut self, change: &Change, expected_version: u64) -> Result<()> {
        let i = *self
            .by_id
            .get(&change.id)
            .ok_or_else(|| ops::not_found(&change.id))?;
        if self.changes[i].version != expected_version {
            return Err(ops::lost_race(&change.id));
        }
        self.changes[i] = change.clone();
        Ok(())
    }

    fn append_audit(&mut self, entry: &mut AuditEntry) -> Result<()> {
        entry.seq = self.audit.append(entry.clone());
        Ok(())
    }

    fn add_rejections(&mut self, rejections: &[Rejection]) -> Result<()> {
        for r in rejections {
            self.rejections.insert(r.clone());
        }
        Ok(())
    }
}

impl ChangeStore for MemoryStore {
    fn save_plan<'a>(&'a self, plan: &'a Plan, by: &'a Review) -> BoxFuture<'a, Result<SavedPlan>> {
        Box::pin(async move { self.run(|s| ops::save_plan(s, plan, by)) })
    }

    fn plan<'a>(&'a self, id: &'a PlanId) -> BoxFuture<'a, Result<Option<Plan>>> {
        Box::pin(async move {
            self.run(|s| {
                let Some(header) = s.plans.iter().find(|p| &p.id == id) else {
                    return Ok(None);
                };
                let mut plan = header.clone();
                plan.changes = s
                    .changes
                    .iter()
                    .filter(|c| &c.plan_id == id)
                    .cloned()
                    .collect();
                Ok(Some(plan))
            })
        })
    }

    fn change<'a>(&'a self, id: &'a ChangeId) -> BoxFuture<'a, Result<Option<Change>>> {
        Box::pin(async move { self.run(|s| s.get_change(id)) })
    }

    fn changes<'a>(&'a self, filter: &'a ChangeFilter) -> BoxFuture<'a, Result<Vec<Change>>> {
        Box::pin(async move { self.run(|s| s.select_changes(filter)) })
    }

    fn review<'a>(
        &'a self,
        action: ReviewAction,
        filter: &'a ChangeFilter,
        by: &'a Review,
    ) -> BoxFuture<'a, Result<ReviewReport>> {
        Box::pin(async move { self.run(|s| ops::review(s, action, filter, by)) })
    }

    fn resolve<'a>(
        &'a self,
        id: &'a ChangeId,
        path: Option<&'a str>,
        take: Take,
        value: Option<Value>,
        by: &'a Review,
    ) -> BoxFuture<'a, Result<Change>> {
        Box::pin(async move { self.run(|s| ops::resolve(s, id, path, take, value, by)) })
    }

    fn transition<'a>(
        &'a self,
        id: &'a ChangeId,
        to: ChangeState,
        by: &'a Review,
    ) -> BoxFuture<'a, Result<Change>> {
        Box::pin(async move { self.run(|s| ops::transition(s, id, to, None, by)) })
    }

    fn finish_apply<'a>(
        &'a self,
        id: &'a ChangeId,
        result: ApplyResult,
        by: &'a Review,
    ) -> BoxFuture<'a, Result<Change>> {
        Box::pin(async move {
            let to = result.outcome.state();
            self.run(|s| ops::transition(s, id, to, Some(result), by))
        })
    }

    fn audit<'a>(&'a self, query: &'a AuditQuery) -> BoxFuture<'a, Result<Vec<AuditEntry>>> {
        Box::pin(
            async move { self.run(|s| Ok(s.audit.query(query).into_iter().cloned().collect())) },
        )
    }

    fn rejections(&self) -> BoxFuture<'_, Result<Rejections>> {
        Box::pin(async move { self.run(|s| Ok(s.rejections.clone())) })
    }

    fn write_snapshots<'a>(&'a self, batch: &'a SnapshotBatch) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            self.run(|s| {
                for (side, key, snap) in &batch.put {
                    s.snapshots
                        .entry(*side)
                        .or_default()
                        .insert(key.clone(), snap.clone());
                }
                for (side, key) in &batch.delete {
                    if let Some(of_side) = s.snapshots.get_mut(side) {
                        of_side.remove(key);
                    }
                }
                for (name, value) in &batch.checkpoints {
                    s.checkpoints.insert(name.clone(), value.clone());
                }
                Ok(())
            })
        })
    }

    fn snapshots(
        &self,
        side: SnapshotSide,
    ) -> BoxFuture<'_, Result<Vec<(String, StoredSnapshot)>>> {
        Box::pin(async move {
            self.run(|s| {
                Ok(s.snapshots
                    .get(&side)
                    .map(|of_side| {
                        of_side
                            .iter()
                            .map(|(k, v)| (k.clone(), v.clone()))
                            .collect()
                    })
                    .unwrap_or_default())
            })
        })
    }

    fn snapshots_page<'a>(
        &'a self,
        side: SnapshotSide,
        after: Option<&'a str>,
        limit: usize,
    ) -> BoxFuture<'a, Result<Vec<(String, StoredSnapshot)>>> {
        Box::pin(async move {
            self.run(|s| {
                let Some(of_side) = s.snapshots.get(&side) else {
                    return Ok(Vec::new());
                };
                let from = after.map_or(Bound::Unbounded, Bound::Excluded);
                Ok(of_side
                    .range::<str, _>((from, Bound::Unbounded))
                    .take(limit)
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect())
            })
        })
    }

    fn snapshot<'a>(
        &'a self,
        side: SnapshotSide,
        key: &'a str,
    ) -> BoxFuture<'a, Result<Option<StoredSnapshot>>> {
        Box::pin(async move {
            self.run(|s| {
                Ok(s.snapshots
                    .get(&side)
                    .and_then(|of_side| of_side.get(key))
                    .cloned())
            })
        })
    }

    fn set_checkpoint<'a>(&'a self, name: &'a str, value: &'a str) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            self.run(|s| {
                s.checkpoints.insert(name.to_owned(), value.to_owned());
                Ok(())
            })
        })
    }

    fn checkpoint<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<Option<String>>> {
        Box::pin(async move { self.run(|s| Ok(s.checkpoints.get(name).cloned())) })
    }
}
