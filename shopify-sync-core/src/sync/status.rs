//! The dashboard's status column for the caller's products, from what the store knows.

use super::{checkpoints, SyncEngine};
use crate::error::Result;
use crate::model::{Gid, Product};
use crate::staging::store::SnapshotSide;
use crate::staging::{
    ChangeFilter, ChangeState, FieldMask, Fingerprint, ProductSnapshot, Record, Snapshot,
};
use crate::status::{compute_statuses, ChangeCounts, StatusInput, SyncStatus};
use std::collections::HashMap;

impl SyncEngine {
    /// The [`StatusInput`] of each local product (in order): its fingerprints under
    /// `mask` against the stored base and remote snapshots, its open changes by state,
    /// and the message of its last failed change. Feed them to
    /// [`compute_statuses`], or call [`statuses`](Self::statuses).
    pub async fn status_inputs(
        &self,
        local: &[Record<ProductSnapshot>],
        mask: FieldMask,
    ) -> Result<Vec<StatusInput>> {
        let complete = self
            .store
            .checkpoint(checkpoints::FULL_PULL_AT)
            .await?
            .is_some();
        // Each side reduced to fingerprints as it is scanned: a page of whole snapshots
        // at a time, never the whole side.
        let mut by_local: HashMap<String, String> = HashMap::new();
        let mut base: HashMap<String, Fingerprint> = HashMap::new();
        self.scan(SnapshotSide::Base, |key, stored| {
            if let Snapshot::Product(_) = stored.snapshot {
                if let Some(local) = stored.local_id {
                    by_local.insert(local, key.clone());
                }
                base.insert(key, stored.snapshot.fingerprint(mask));
            }
        })
        .await?;
        let mut remote: HashMap<String, Fingerprint> = HashMap::new();
        self.scan(SnapshotSide::Remote, |key, stored| {
            if let Snapshot::Product(_) = stored.snapshot {
                remote.insert(key, stored.snapshot.fingerprint(mask));
            }
        })
        .await?;

        // Open changes and the last failure, by every key a target is known by.
        let open = ChangeFilter {
            states: Some(vec![
                ChangeState::Staged,
                ChangeState::Approved,
                ChangeState::Applying,
                ChangeState::Failed,
                ChangeState::Stale,
            ]),
            ..ChangeFilter::default()
        };
        let mut counts: HashMap<String, ChangeCounts> = HashMap::new();
        let mut errors: HashMap<String, String> = HashMap::new();
        for c in self.store.changes(&open).await? {
            for key in c.target.keys() {
                let n = counts.entry(key.clone()).or_default();
                match c.state {
                    ChangeState::Staged if c.has_conflict() => n.conflict += 1,
                    ChangeState::Staged => n.staged += 1,
                    ChangeState::Approved => n.approved += 1,
                    ChangeState::Applying => n.applying += 1,
                    ChangeState::Failed => {
                        n.failed += 1;
                        if let Some(m) = c.result.as_ref().and_then(|r| r.message.clone()) {
                            errors.insert(key, m);
                        }
                    }
                    ChangeState::Stale => n.stale += 1,
                    _ => {}
                }
            }
        }

        let mut out = Vec::with_capacity(local.len());
        for r in local {
            let gid: Option<Gid<Product>> = r.shopify_id.or_else(|| {
                r.local_id
                    .as_deref()
                    .and_then(|l| by_local.get(l))
                    .and_then(|k| Gid::parse(k).ok())
            });
            let key = gid.map(|g| g.to_string());
            let key = key.as_deref();
            let remote_fingerprint = key.and_then(|k| remote.get(k)).copied();
            let mut change_counts = ChangeCounts::default();
            let mut last_error = None;
            let keys = gid
                .map(|g| format!("product:{g}"))
                .into_iter()
                .chain(r.local_id.as_ref().map(|l| format!("product:local:{l}")));
            for k in keys {
                if let Some(n) = counts.get(&k) {
                    change_counts = *n;
                }
                if let Some(e) = errors.get(&k) {
                    last_error = Some(e.clone());
                }
            }
            out.push(StatusInput {
                shopify_id: gid,
                local_fingerprint: Some(r.snapshot.fingerprint(mask)),
                base_fingerprint: key.and_then(|k| base.get(k)).copied(),
                remote_fingerprint,
                remote_deleted: complete && gid.is_some() && remote_fingerprint.is_none(),
                changes: change_counts,
                last_error,
                ..StatusInput::default()
            });
        }
        Ok(out)
    }

    /// The status of each local product (in order): see
    /// [`status_inputs`](Self::status_inputs) and [`crate::status`].
    pub async fn statuses(
        &self,
        local: &[Record<ProductSnapshot>],
        mask: FieldMask,
    ) -> Result<Vec<SyncStatus>> {
        Ok(compute_statuses(&self.status_inputs(local, mask).await?))
    }
}
