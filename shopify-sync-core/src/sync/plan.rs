//! Planning: the caller's local records against the stored base and remote snapshots.

use super::{checkpoints, SyncEngine};
use crate::error::{Error, ErrorKind, Result};
use crate::model::{Collection, Gid, Product};
use crate::staging::store::{SnapshotBatch, SnapshotSide, StoredSnapshot};
use crate::staging::{
    collection_eq, product_eq, CollectionSnapshot, FieldMask, Plan, PlanInput, Planner,
    ProductSnapshot, Record, Scope, Snapshot,
};

/// The merchant's side of a plan: their records with their `local_id` and, where known,
/// the Shopify id, and what the set covers.
///
/// ```
/// use shopify_sync::staging::{ProductSnapshot, Record, Scope};
/// use shopify_sync::sync::LocalCatalog;
///
/// let tee: ProductSnapshot = serde_json::from_str(r#"{"title": "Tee", "handle": "tee"}"#).unwrap();
/// let catalog = LocalCatalog {
///     products: vec![Record::new_local("42", tee)],
///     // Every product of the shop is in `products`: one missing is to be deleted.
///     product_scope: Scope::All,
///     ..LocalCatalog::default()
/// };
/// assert_eq!(catalog.products.len(), 1);
/// ```
#[derive(Debug, Clone, Default)]
pub struct LocalCatalog {
    /// Local products.
    pub products: Vec<Record<ProductSnapshot>>,
    /// Local collections.
    pub collections: Vec<Record<CollectionSnapshot>>,
    /// What `products` covers: [`Scope::Listed`] (the default) never proposes deletes.
    pub product_scope: Scope<Product>,
    /// What `collections` covers.
    pub collection_scope: Scope<Collection>,
}

/// The stored snapshots of one side, split by kind.
#[derive(Default)]
pub(crate) struct StoredSide {
    pub products: Vec<Record<ProductSnapshot>>,
    pub collections: Vec<Record<CollectionSnapshot>>,
}

impl SyncEngine {
    /// Plan the changes that bring Shopify to the local records for the fields in
    /// `mask`, against the stored base and remote snapshots (run [`pull`](Self::pull)
    /// first), and save the plan in the store with its changes `staged`. Remembered
    /// rejections are not proposed again.
    ///
    /// Deletions on Shopify's side are known only after a complete full pull: until
    /// then, a product absent from the remote snapshots is taken as unknown.
    pub async fn plan(&self, local: &LocalCatalog, mask: FieldMask) -> Result<Plan> {
        let base = self.stored_side(SnapshotSide::Base).await?;
        let remote = self.stored_side(SnapshotSide::Remote).await?;
        let complete = self
            .store
            .checkpoint(checkpoints::FULL_PULL_AT)
            .await?
            .is_some();
        let mut input = PlanInput::default();
        input.products.base = base.products;
        input.products.remote = remote.products;
        input.products.local = local.products.clone();
        input.products.local_scope = local.product_scope.clone();
        input.collections.base = base.collections;
        input.collections.remote = remote.collections;
        input.collections.local = local.collections.clone();
        input.collections.local_scope = local.collection_scope.clone();
        if complete {
            input.products.remote_scope = Scope::All;
            input.collections.remote_scope = Scope::All;
        }
        let plan = Planner::new(mask)
            .rejections(self.store.rejections().await?)
            .plan(&input);
        self.store.save_plan(&plan, &self.actor()).await?;
        Ok(plan)
    }

    /// Record that the local records agree with Shopify: for each local record with a
    /// Shopify id whose stored remote snapshot equals it under `mask`, the remote
    /// snapshot becomes its base (with the record's `local_id`). Run it once when
    /// adopting the engine on a catalog that is in sync, after the first pull: without
    /// a base, the first plan cannot tell which side changed a field and shows every
    /// difference as a conflict. Records that differ, or have no remote snapshot, are
    /// left without a base. Returns how many got one.
    pub async fn baseline(&self, local: &LocalCatalog, mask: FieldMask) -> Result<u64> {
        let mut batch = SnapshotBatch::default();
        for r in &local.products {
            let Some(id) = r.shopify_id else { continue };
            let key = id.to_string();
            if let Some(mut s) = self.store.snapshot(SnapshotSide::Remote, &key).await? {
                if matches!(&s.snapshot, Snapshot::Product(p) if product_eq(p, &r.snapshot, mask)) {
                    s.local_id = r.local_id.clone();
                    batch.put.push((SnapshotSide::Base, key, s));
                }
            }
        }
        for r in &local.collections {
            let Some(id) = r.shopify_id else { continue };
            let key = id.to_string();
            if let Some(mut s) = self.store.snapshot(SnapshotSide::Remote, &key).await? {
                if matches!(&s.snapshot, Snapshot::Collection(c) if collection_eq(c, &r.snapshot, mask))
                {
                    s.local_id = r.local_id.clone();
                    batch.put.push((SnapshotSide::Base, key, s));
                }
            }
        }
        let n = batch.put.len() as u64;
        self.store.write_snapshots(&batch).await?;
        Ok(n)
    }

    /// The stored snapshots of one side as plan records, built as the side is scanned
    /// (never held twice).
    pub(crate) async fn stored_side(&self, side: SnapshotSide) -> Result<StoredSide> {
        let mut out = StoredSide::default();
        let mut failed: Option<Error> = None;
        self.scan(side, |key, stored| {
            let StoredSnapshot {
                snapshot,
                updated_at,
                local_id,
                ..
            } = stored;
            let pushed = match snapshot {
                Snapshot::Product(p) => Gid::parse(&key).map(|id| {
                    out.products.push(Record {
                        local_id,
                        shopify_id: Some(id),
                        updated_at,
                        snapshot: p,
                    })
                }),
                Snapshot::Collection(c) => Gid::parse(&key).map(|id| {
                    out.collections.push(Record {
                        local_id,
                        shopify_id: Some(id),
                        updated_at,
                        snapshot: c,
                    })
                }),
            };
            if let Err(e) = pushed {
                failed.get_or_insert_with(|| {
                    Error::new(
                        ErrorKind::Decode,
                        format!("stored {} snapshot {key:?}: {e}", side.as_str()),
                    )
                });
            }
        })
        .await?;
        match failed {
            Some(e) => Err(e),
            None => Ok(out),
        }
    }
}
