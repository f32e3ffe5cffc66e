//! Staging: what the sync compares, what it proposes, and what it remembers. Canonical
//! snapshots of products and collections, the field mask that says which fields the
//! caller manages, the versioned fingerprint of a snapshot under a mask; the three-way
//! [`diff`](mod@diff), the [`change`](mod@change) and [`plan`](mod@plan) types with their
//! state machine, [`review`](mod@review), the append-only [`audit`] trail, and the
//! [`store`] that keeps them (in memory or in one SQLite file).
//!
//! This module owns the canonical form of catalog content and the normalisations that
//! make a value that round-trips through Shopify compare equal (decimals by value, tags,
//! handles, empty strings that Shopify stores as `null`), and every rule about changes.
//! Apart from the store, it does no I/O: it must not touch the network or the executor,
//! and knows nothing of the client or the bindings (times default to now and can be
//! passed in, for tests and replays).
//!
//! - [`ProductSnapshot`], [`CollectionSnapshot`] (and [`Snapshot`], either of them
//!   tagged with its `kind`): built from the model with `from_product` /
//!   `from_collection`, or read from snake_case JSON.
//! - [`FieldMask`]: the set of managed [`Field`]s; unmanaged fields take no part in the
//!   fingerprint or the diff.
//! - [`Fingerprint`]: `v1:<sha-256 hex>` of the snapshot's canonical document, specified
//!   byte for byte in [`fingerprint`] so that another implementation can reproduce it.
//!
//! ```
//! use shopify_sync::model::Product;
//! use shopify_sync::staging::{Field, FieldMask, ProductSnapshot};
//!
//! // What the merchant's database holds, and what Shopify echoed after the write.
//! let local: ProductSnapshot = serde_json::from_str(r#"{
//!     "title": "Tee", "tags": [" Red ", "red", "sale"], "vendor": "In-house",
//!     "variants": [{"price": "10", "sku": "TEE-1"}]
//! }"#).unwrap();
//! let remote: Product = serde_json::from_str(r#"{
//!     "id": "gid://shopify/Product/1", "title": "Tee", "tags": ["Red", "sale"], "vendor": "Hermes",
//!     "variants": [{"id": "gid://shopify/ProductVariant/2", "price": "10.00", "sku": "TEE-1"}]
//! }"#).unwrap();
//! let remote = ProductSnapshot::from_product(&remote);
//!
//! // The vendor is managed in the Shopify admin, not by this sync.
//! let mask = FieldMask::PRODUCT.without(Field::Vendor);
//! assert_eq!(local.fingerprint(mask), remote.fingerprint(mask));
//! assert_ne!(local.fingerprint(FieldMask::ALL), remote.fingerprint(FieldMask::ALL));
//! ```

pub mod fingerprint;
mod mask;
mod snapshot;

pub use fingerprint::{canonical_collection, canonical_product, Fingerprint};
pub use mask::{Field, FieldMask};
pub use snapshot::{
    normalize_handle, normalize_tags, CollectionSnapshot, OptionSnapshot, ProductSnapshot,
    RuleSetSnapshot, Snapshot, VariantSnapshot,
};

pub mod audit;
pub mod change;
pub mod diff;
pub mod plan;
pub mod review;

pub use audit::{audit_jsonl, AuditAction, AuditEntry, AuditLog, AuditQuery};
pub use change::{
    ApplyOutcome, ApplyResult, Change, ChangeId, ChangeRow, ChangeState, IdMapping, Operation,
    PlanId, PreflightCode, PreflightIssue, Resolution, Review, StaleGuard, Take, Target,
    TargetKind, VariantIdMapping,
};
pub use diff::{
    collection_eq, diff, diff_collection, diff_product, diff_with, patch_collection, patch_product,
    product_eq, DiffOptions, DiffRow, RowKind,
};
pub use plan::{
    Entity, Plan, PlanInput, PlanSummary, Planner, Record, ReviewRow, Scope, Sides, TargetRows,
    PLAN_FILE_VERSION, PLAN_FORMAT,
};
pub use review::{
    review_changes, ChangeFilter, Rejection, Rejections, ReviewAction, ReviewReport, SkippedChange,
};
pub mod store;
