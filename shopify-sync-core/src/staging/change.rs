//! [`Change`]: one reviewable write to Shopify, and the state machine every change
//! follows from staging to its apply result.
//!
//! This module owns the change's shape (its JSON is part of the plan file and crosses
//! languages), the states and the transitions between them, conflict resolution, and the
//! audit entry each transition produces. It is pure: the caller passes the time and the
//! actor in a [`Review`]; it must not touch the store, the network or the executor.
//!
//! # States
//!
//! ```text
//! staged ──> approved ──> applying ──> applied
//!    │           │            ├──────> failed ──┐
//!    │           │            └──────> stale ───┤ (back to review: staged)
//!    ├──> rejected                              │
//!    └──────────┴──> superseded <───────────────┘
//! ```
//!
//! `staged -> approved | rejected`; `approved -> applying -> applied | failed | stale`;
//! `failed` and `stale` return to review (`staged`); an unapplied change (`staged`,
//! `approved`, `failed`, `stale`) becomes `superseded` when its target is planned again.
//! Every other transition fails with
//! [`ErrorKind::InvalidInput`](crate::error::ErrorKind::InvalidInput) naming the change
//! and both states. A change with an unresolved conflict, an `error` row or a preflight
//! issue cannot be approved.
//!
//! ```
//! use shopify_sync::staging::{Change, ChangeState, Review};
//!
//! let mut change: Change = serde_json::from_str(r#"{
//!     "id": "p1.1", "plan_id": "p1", "operation": "update", "field": "title",
//!     "target": {"kind": "product", "local_id": "42", "shopify_id": "gid://shopify/Product/1"},
//!     "rows": [{"path": "title", "field": "title", "kind": "local",
//!               "base": "Tee", "local": "Tee 2", "remote": "Tee"}],
//!     "priority": 60, "state": "staged",
//!     "created_at": "2026-07-01T09:00:00Z", "updated_at": "2026-07-01T09:00:00Z"
//! }"#).unwrap();
//! let by = Review::new("ana@shop.example", "2026-07-01T10:00:00Z".parse().unwrap());
//! assert_eq!(change.state, ChangeState::Staged);
//! let entry = change.transition(ChangeState::Approved, &by)?;
//! assert_eq!(entry.action.as_str(), "approved");
//! let err = change.transition(ChangeState::Applied, &by).unwrap_err();
//! assert!(err.to_string().contains("cannot go from approved to applied"));
//! # Ok::<(), shopify_sync::error::Error>(())
//! ```

use super::audit::{AuditAction, AuditEntry};
use super::diff::{parse_path, validate_value, DiffRow, RowKind};
use super::fingerprint::Fingerprint;
use super::mask::Field;
use crate::error::{Error, Result};
use crate::model::{Gid, ProductVariant};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::fmt;

macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// The id as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> $name {
                $name(s.to_owned())
            }
        }

        impl From<String> for $name {
            fn from(s: String) -> $name {
                $name(s)
            }
        }
    };
}

string_id! {
    /// A plan's id: a random UUID (`"3f0c...-..."`), unique across processes.
    PlanId
}

string_id! {
    /// A change's id: its plan's id, a dot and its number in the plan
    /// (`"3f0c...-....17"`).
    ChangeId
}

impl PlanId {
    /// A new random id.
    pub fn random() -> PlanId {
        PlanId(uuid::Uuid::new_v4().to_string())
    }

    /// The id of this plan's `n`th change.
    pub fn change(&self, n: usize) -> ChangeId {
        ChangeId(format!("{}.{n}", self.0))
    }
}

/// What kind of entity a change is about (JSON `"product"` / `"collection"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TargetKind {
    /// A product (with its variants and memberships).
    Product,
    /// A collection.
    Collection,
}

impl TargetKind {
    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            TargetKind::Product => "product",
            TargetKind::Collection => "collection",
        }
    }
}

/// The entity a change is about: the caller's `local_id` (its primary key) and the
/// Shopify gid once there is one. JSON: `{"kind": "product", "local_id": "42",
/// "shopify_id": "gid://shopify/Product/1"}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Target {
    /// Product or collection.
    pub kind: TargetKind,
    /// The caller's id for the record, when it has one.
    #[serde(default)]
    pub local_id: Option<String>,
    /// The Shopify gid, when the entity exists on Shopify.
    #[serde(default)]
    pub shopify_id: Option<String>,
}

impl Target {
    /// Whether `id` names this target (its Shopify gid or its local id).
    pub fn is(&self, id: &str) -> bool {
        self.shopify_id.as_deref() == Some(id) || self.local_id.as_deref() == Some(id)
    }

    /// Whether two targets are the same entity (same kind, and the same Shopify gid or
    /// the same local id).
    pub fn same_entity(&self, other: &Target) -> bool {
        self.kind == other.kind
            && (matches!((&self.shopify_id, &other.shopify_id), (Some(a), Some(b)) if a == b)
                || matches!((&self.local_id, &other.local_id), (Some(a), Some(b)) if a == b))
    }

    /// The keys this target is known by (`product:gid://...`, `product:local:42`).
    pub fn keys(&self) -> impl Iterator<Item = String> + '_ {
        let kind = self.kind.as_str();
        self.shopify_id
            .iter()
            .map(move |id| format!("{kind}:{id}"))
            .chain(
                self.local_id
                    .iter()
                    .map(move |id| format!("{kind}:local:{id}")),
            )
    }

    /// Check the gid, when present, against the kind.
    pub(crate) fn validate(&self) -> Result<()> {
        if let Some(id) = &self.shopify_id {
            match self.kind {
                TargetKind::Product => Gid::<crate::model::Product>::parse(id).map(|_| ())?,
                TargetKind::Collection => Gid::<crate::model::Collection>::parse(id).map(|_| ())?,
            }
        }
        if self.shopify_id.is_none() && self.local_id.is_none() {
            return Err(Error::invalid_input(
                "a target needs a local_id or a shopify_id",
            ));
        }
        Ok(())
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.shopify_id, &self.local_id) {
            (Some(id), Some(local)) => write!(f, "{id} (local {local})"),
            (Some(id), None) => f.write_str(id),
            (None, Some(local)) => write!(f, "{} local {local}", self.kind.as_str()),
            (None, None) => write!(f, "{} (no id)", self.kind.as_str()),
        }
    }
}

/// What a change does on Shopify (JSON: the snake_case name).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Operation {
    /// Create the entity (its rows are its fields and variants).
    Create,
    /// Change one field (for products: one product field, or one variant field across
    /// the product's variants).
    Update,
    /// Delete the entity.
    Delete,
    /// Add one variant to an existing product.
    CreateVariant,
    /// Delete one variant: an implied deletion made explicit, applied only if approved.
    DeleteVariant,
    /// Add the product to one custom collection.
    AddToCollection,
    /// Remove the product from one custom collection.
    RemoveFromCollection,
}

impl Operation {
    /// Every operation.
    pub const ALL: [Operation; 7] = [
        Operation::Create,
        Operation::Update,
        Operation::Delete,
        Operation::CreateVariant,
        Operation::DeleteVariant,
        Operation::AddToCollection,
        Operation::RemoveFromCollection,
    ];

    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Create => "create",
            Operation::Update => "update",
            Operation::Delete => "delete",
            Operation::CreateVariant => "create_variant",
            Operation::DeleteVariant => "delete_variant",
            Operation::AddToCollection => "add_to_collection",
            Operation::RemoveFromCollection => "remove_from_collection",
        }
    }

    /// The default priority (higher runs first): creates first so that later changes
    /// can name the new ids, deletions last.
    pub fn default_priority(self) -> i32 {
        match self {
            Operation::Create => 100,
            Operation::CreateVariant => 80,
            Operation::Update => 60,
            Operation::AddToCollection => 50,
            Operation::RemoveFromCollection => 40,
            Operation::DeleteVariant => 30,
            Operation::Delete => 10,
        }
    }

    /// The operation named `name`.
    pub fn parse(name: &str) -> Result<Operation> {
        Operation::ALL
            .into_iter()
            .find(|o| o.as_str() == name)
            .ok_or_else(|| {
                let shown: String = name.chars().take(60).collect();
                Error::invalid_input(format!("unknown operation {shown:?}"))
            })
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a change is in its life (see the [module docs](self) for the machine).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeState {
    /// Waiting for review.
    Staged,
    /// Approved, waiting to be applied.
    Approved,
    /// Rejected by a reviewer (final).
    Rejected,
    /// Being applied: its outcome is not recorded yet. Found on reopen after a crash,
    /// it must be reconciled by reading the remote state.
    Applying,
    /// Written to Shopify (final).
    Applied,
    /// The write failed; back to review from here.
    Failed,
    /// Not written: Shopify changed after the review. Back to review from here.
    Stale,
    /// Replaced by a newer plan of the same target (final).
    Superseded,
}

impl ChangeState {
    /// Every state.
    pub const ALL: [ChangeState; 8] = [
        ChangeState::Staged,
        ChangeState::Approved,
        ChangeState::Rejected,
        ChangeState::Applying,
        ChangeState::Applied,
        ChangeState::Failed,
        ChangeState::Stale,
        ChangeState::Superseded,
    ];

    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeState::Staged => "staged",
            ChangeState::Approved => "approved",
            ChangeState::Rejected => "rejected",
            ChangeState::Applying => "applying",
            ChangeState::Applied => "applied",
            ChangeState::Failed => "failed",
            ChangeState::Stale => "stale",
            ChangeState::Superseded => "superseded",
        }
    }

    /// The state named `name`.
    pub fn parse(name: &str) -> Result<ChangeState> {
        ChangeState::ALL
            .into_iter()
            .find(|s| s.as_str() == name)
            .ok_or_else(|| {
                let shown: String = name.chars().take(60).collect();
                Error::invalid_input(format!("unknown change state {shown:?}"))
            })
    }

    /// Whether the machine allows `self -> to`.
    ///
    /// ```
    /// use shopify_sync::staging::ChangeState::*;
    /// assert!(Staged.can_become(Approved));
    /// assert!(Failed.can_become(Staged));
    /// assert!(!Applied.can_become(Staged));
    /// assert!(!Applying.can_become(Superseded));
    /// ```
    pub fn can_become(self, to: ChangeState) -> bool {
        use ChangeState::*;
        matches!(
            (self, to),
            (Staged, Approved | Rejected | Superseded)
                | (Approved, Applying | Superseded)
                | (Applying, Applied | Failed | Stale)
                | (Failed | Stale, Staged | Superseded)
        )
    }

    /// Whether nothing can happen to the change any more.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            ChangeState::Rejected | ChangeState::Applied | ChangeState::Superseded
        )
    }

    /// Whether the change is not applied and not in flight: a newer plan of its target
    /// supersedes it.
    pub fn is_unapplied(self) -> bool {
        matches!(
            self,
            ChangeState::Staged | ChangeState::Approved | ChangeState::Failed | ChangeState::Stale
        )
    }
}

impl fmt::Display for ChangeState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who acts, when, and why: passed to every review action and transition, and written
/// to the audit trail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Review {
    /// Who (a user, or a process such as `"executor"`).
    pub actor: String,
    /// When.
    pub at: DateTime<Utc>,
    /// An optional comment.
    #[serde(default)]
    pub comment: Option<String>,
}

impl Review {
    /// `actor` at time `at`, no comment.
    pub fn new(actor: impl Into<String>, at: DateTime<Utc>) -> Review {
        Review {
            actor: actor.into(),
            at,
            comment: None,
        }
    }

    /// `actor`, now (reads the clock).
    pub fn now(actor: impl Into<String>) -> Review {
        Review::new(actor, Utc::now())
    }

    /// The same, with a comment.
    #[must_use]
    pub fn with_comment(mut self, comment: impl Into<String>) -> Review {
        self.comment = Some(comment.into());
        self
    }
}

/// What a reviewer took to resolve a conflict (JSON: `"local"`, `"remote"`, `"value"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Take {
    /// The local value.
    Local,
    /// Shopify's value (nothing is written for the row).
    Remote,
    /// A value the reviewer gave.
    Value,
}

/// A conflict's resolution: what was taken and the value that will be written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Resolution {
    /// What was taken.
    pub take: Take,
    /// The value to write.
    pub value: Value,
}

/// One row of a change: a [`DiffRow`] and, for a conflict, its resolution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChangeRow {
    /// Where in the entity (see [`diff`](mod@super::diff)).
    pub path: String,
    /// The managed field; `null` for whole entities and whole variants.
    #[serde(default)]
    pub field: Option<Field>,
    /// How the sides relate: `local` or `conflict` in a change.
    pub kind: RowKind,
    /// The value at the last sync.
    #[serde(default)]
    pub base: Value,
    /// The local value.
    #[serde(default)]
    pub local: Value,
    /// Shopify's value when planned.
    #[serde(default)]
    pub remote: Value,
    /// The resolution of a conflict, once resolved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolution: Option<Resolution>,
}

impl From<DiffRow> for ChangeRow {
    fn from(r: DiffRow) -> ChangeRow {
        ChangeRow {
            path: r.path,
            field: r.field,
            kind: r.kind,
            base: r.base,
            local: r.local,
            remote: r.remote,
            resolution: None,
        }
    }
}

impl ChangeRow {
    /// Whether the row is a conflict nobody resolved yet.
    pub fn is_unresolved_conflict(&self) -> bool {
        self.kind == RowKind::Conflict && self.resolution.is_none()
    }

    /// The value applying the row writes: the resolution's, else the local value;
    /// `None` when nothing is to be written (resolved to the remote value, or an
    /// unresolved conflict).
    pub fn write_value(&self) -> Option<&Value> {
        match (&self.resolution, self.kind) {
            (Some(r), _) if r.take == Take::Remote => None,
            (Some(r), _) => Some(&r.value),
            (None, RowKind::Local) => Some(&self.local),
            (None, _) => None,
        }
    }
}

/// What a preflight check found (JSON: the snake_case name).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PreflightCode {
    /// More than 2,048 variants.
    TooManyVariants,
    /// More than 3 options.
    TooManyOptions,
    /// An explicit handle that, normalised, is another entity's handle.
    HandleCollision,
    /// An empty or blank title.
    BlankTitle,
    /// A negative price or compare-at price.
    NegativePrice,
    /// A list over 250 items (tags, option values, collections, rules).
    ListTooLong,
}

/// A problem found before a change is ever sent; a flagged change cannot be approved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PreflightIssue {
    /// What kind of problem.
    pub code: PreflightCode,
    /// Where (a diff path).
    pub path: String,
    /// A sentence for people.
    pub message: String,
}

/// The guard against writing over a remote edit made after the review: the remote
/// state the change was computed against.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaleGuard {
    /// Shopify's `updatedAt` of the entity when planned.
    #[serde(default)]
    pub remote_updated_at: Option<DateTime<Utc>>,
    /// The fingerprint of Shopify's snapshot under the plan's mask when planned.
    #[serde(default)]
    pub remote_fingerprint: Option<Fingerprint>,
}

impl StaleGuard {
    /// Whether the remote moved since planning: the fingerprints differ when both are
    /// known (edits to unmanaged fields do not count), else the `updatedAt`s differ when
    /// both are known. With nothing to compare, not stale.
    ///
    /// ```
    /// use shopify_sync::staging::{Fingerprint, StaleGuard};
    /// let guard = StaleGuard { remote_updated_at: None, remote_fingerprint: Some(Fingerprint::from_digest([1; 32])) };
    /// assert!(!guard.is_stale(None, Some(Fingerprint::from_digest([1; 32]))));
    /// assert!(guard.is_stale(None, Some(Fingerprint::from_digest([2; 32]))));
    /// ```
    pub fn is_stale(
        &self,
        remote_updated_at: Option<DateTime<Utc>>,
        remote_fingerprint: Option<Fingerprint>,
    ) -> bool {
        match (self.remote_fingerprint, remote_fingerprint) {
            (Some(a), Some(b)) => a != b,
            _ => matches!(
                (self.remote_updated_at, remote_updated_at),
                (Some(a), Some(b)) if a != b
            ),
        }
    }
}

/// How an apply ended (JSON: the snake_case name).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApplyOutcome {
    /// Written.
    Applied,
    /// Not written: an error.
    Failed,
    /// Not written: the remote moved since review.
    Stale,
}

impl ApplyOutcome {
    /// The state a change ends in.
    pub fn state(self) -> ChangeState {
        match self {
            ApplyOutcome::Applied => ChangeState::Applied,
            ApplyOutcome::Failed => ChangeState::Failed,
            ApplyOutcome::Stale => ChangeState::Stale,
        }
    }
}

/// A variant's id after an apply, named by its key in the change's paths.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VariantIdMapping {
    /// The variant's key as the diff paths name it (`sku:TEE-1`, `options:Size=S`).
    pub key: String,
    /// Its Shopify gid.
    pub id: Gid<ProductVariant>,
}

/// The ids an apply produced: what the backend writes into its `shopify_product_id`
/// column (and its variants' columns).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdMapping {
    /// The caller's id of the record.
    #[serde(default)]
    pub local_id: Option<String>,
    /// The entity's Shopify gid.
    pub shopify_id: String,
    /// The variants' gids.
    #[serde(default)]
    pub variants: Vec<VariantIdMapping>,
}

/// The result of applying one change: the outcome, an error message, the id mapping.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApplyResult {
    /// How it ended.
    pub outcome: ApplyOutcome,
    /// What went wrong, for `failed` and `stale`.
    #[serde(default)]
    pub message: Option<String>,
    /// The ids, for `applied`.
    #[serde(default)]
    pub ids: Option<IdMapping>,
}

impl ApplyResult {
    /// Applied, with the ids it produced.
    pub fn applied(ids: Option<IdMapping>) -> ApplyResult {
        ApplyResult {
            outcome: ApplyOutcome::Applied,
            message: None,
            ids,
        }
    }

    /// Failed with `message`.
    pub fn failed(message: impl Into<String>) -> ApplyResult {
        ApplyResult {
            outcome: ApplyOutcome::Failed,
            message: Some(message.into()),
            ids: None,
        }
    }

    /// Not written: the remote moved since review.
    pub fn stale(message: impl Into<String>) -> ApplyResult {
        ApplyResult {
            outcome: ApplyOutcome::Stale,
            message: Some(message.into()),
            ids: None,
        }
    }
}

/// One reviewable write: a target, an operation, its rows, the stale guard, a priority
/// and a state (see the [module docs](self)).
///
/// JSON (as in plan files): `{"id", "plan_id", "target", "operation", "field", "rows",
/// "guard", "priority", "state", "version", "preflight", "result", "created_at",
/// "updated_at"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Change {
    /// The id.
    pub id: ChangeId,
    /// The plan that proposed it.
    pub plan_id: PlanId,
    /// What it is about.
    pub target: Target,
    /// What it does.
    pub operation: Operation,
    /// For `update`: the field it changes.
    #[serde(default)]
    pub field: Option<Field>,
    /// The rows (side by side values).
    pub rows: Vec<ChangeRow>,
    /// The remote state it was computed against.
    #[serde(default)]
    pub guard: StaleGuard,
    /// Higher runs first (see [`Operation::default_priority`]).
    pub priority: i32,
    /// Where it is in its life.
    pub state: ChangeState,
    /// Bumped by every transition and resolution: the store's guard against a lost
    /// update.
    #[serde(default)]
    pub version: u64,
    /// Problems found before sending; a flagged change cannot be approved.
    #[serde(default)]
    pub preflight: Vec<PreflightIssue>,
    /// The last apply result.
    #[serde(default)]
    pub result: Option<ApplyResult>,
    /// When it was planned.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

impl Change {
    /// How many conflicts are not resolved yet.
    pub fn unresolved_conflicts(&self) -> usize {
        self.rows
            .iter()
            .filter(|r| r.is_unresolved_conflict())
            .count()
    }

    /// Whether any row is or was a conflict.
    pub fn has_conflict(&self) -> bool {
        self.rows.iter().any(|r| r.kind == RowKind::Conflict)
    }

    /// Why the change cannot be approved, if it cannot.
    pub fn approval_blocker(&self) -> Option<String> {
        let conflicts = self.unresolved_conflicts();
        if conflicts > 0 {
            return Some(format!(
                "{conflicts} unresolved conflict(s): resolve them first"
            ));
        }
        if let Some(row) = self.rows.iter().find(|r| r.kind == RowKind::Error) {
            return Some(format!("row {} could not be diffed", row.path));
        }
        if let Some(issue) = self.preflight.first() {
            return Some(format!("preflight: {}", issue.message));
        }
        None
    }

    /// The `(path, value)` pairs applying the change writes (see
    /// [`ChangeRow::write_value`]).
    pub fn writes(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.rows
            .iter()
            .filter_map(|r| r.write_value().map(|v| (r.path.as_str(), v)))
    }

    fn refuse(&self, to: ChangeState) -> Error {
        Error::invalid_input(format!(
            "change {}: cannot go from {} to {}",
            self.id, self.state, to
        ))
    }

    /// Move to `to` if the machine allows it (see the [module docs](self)); approving
    /// also requires no [`approval_blocker`](Change::approval_blocker). Returns the audit
    /// entry of the transition (its `seq` is assigned when it is appended).
    pub fn transition(&mut self, to: ChangeState, by: &Review) -> Result<AuditEntry> {
        if !self.state.can_become(to) {
            return Err(self.refuse(to));
        }
        if to == ChangeState::Approved {
            if let Some(why) = self.approval_blocker() {
                return Err(Error::invalid_input(format!(
                    "change {} cannot be approved: {why}",
                    self.id
                )));
            }
        }
        let from = self.state;
        self.state = to;
        self.version += 1;
        self.updated_at = by.at;
        let action = match to {
            ChangeState::Staged => AuditAction::ReturnedToReview,
            other => AuditAction::for_state(other),
        };
        Ok(AuditEntry::for_change(
            self,
            action,
            by,
            json!({ "state": from }),
            json!({ "state": to }),
        ))
    }

    /// Record an apply result: `applying -> applied | failed | stale`.
    pub fn finish_apply(&mut self, result: ApplyResult, by: &Review) -> Result<AuditEntry> {
        let to = result.outcome.state();
        if self.state != ChangeState::Applying {
            return Err(self.refuse(to));
        }
        let mut entry = self.transition(to, by)?;
        entry.after = json!({ "state": to, "result": &result });
        self.result = Some(result);
        Ok(entry)
    }

    /// Resolve conflicts of a `staged` change by taking the local value, the remote
    /// value or a given value. `path` names one conflict row; `None` resolves every
    /// unresolved conflict of the change (a given value then needs exactly one).
    /// A given value must be valid for the path (a price a decimal string ...).
    pub fn resolve(
        &mut self,
        path: Option<&str>,
        take: Take,
        value: Option<Value>,
        by: &Review,
    ) -> Result<AuditEntry> {
        if self.state != ChangeState::Staged {
            return Err(Error::invalid_input(format!(
                "change {}: only a staged change can be resolved, it is {}",
                self.id, self.state
            )));
        }
        let picked: Vec<usize> = match path {
            Some(p) => {
                let i = self.rows.iter().position(|r| r.path == p).ok_or_else(|| {
                    Error::invalid_input(format!("change {}: no row {p:?}", self.id))
                })?;
                if self.rows[i].kind != RowKind::Conflict {
                    return Err(Error::invalid_input(format!(
                        "change {}: row {p:?} is not a conflict",
                        self.id
                    )));
                }
                vec![i]
            }
            None => (0..self.rows.len())
                .filter(|&i| self.rows[i].is_unresolved_conflict())
                .collect(),
        };
        if picked.is_empty() {
            return Err(Error::invalid_input(format!(
                "change {}: no unresolved conflict to resolve",
                self.id
            )));
        }
        let given = match (take, value) {
            (Take::Value, Some(v)) => {
                if picked.len() != 1 {
                    return Err(Error::invalid_input(format!(
                        "change {}: a given value resolves one row; name its path",
                        self.id
                    )));
                }
                validate_value(self.target.kind.as_str(), &self.rows[picked[0]].path, &v)?;
                Some(v)
            }
            (Take::Value, None) => {
                return Err(Error::invalid_input("take value needs a value"));
            }
            (_, Some(_)) => {
                return Err(Error::invalid_input(
                    "a value is given only with take value",
                ))
            }
            (_, None) => None,
        };
        let mut before = Vec::new();
        let mut after = Vec::new();
        for &i in &picked {
            let row = &mut self.rows[i];
            let value = match take {
                Take::Local => row.local.clone(),
                Take::Remote => row.remote.clone(),
                Take::Value => given.clone().unwrap_or(Value::Null),
            };
            before.push(json!({ "path": row.path, "resolution": row.resolution }));
            row.resolution = Some(Resolution { take, value });
            after.push(json!({ "path": row.path, "resolution": row.resolution }));
        }
        self.version += 1;
        self.updated_at = by.at;
        Ok(AuditEntry::for_change(
            self,
            AuditAction::Resolved,
            by,
            Value::Array(before),
            Value::Array(after),
        ))
    }

    /// Check the change's own consistency (as read from a file or a store).
    pub(crate) fn validate(&self) -> Result<()> {
        self.target.validate()?;
        for row in &self.rows {
            parse_path(&row.path)?;
        }
        Ok(())
    }
}

#[cfg(test)]
pub(crate) mod doc_support {
    //! A change for the tests.
    use super::*;

    /// A staged title change.
    pub fn change() -> Change {
        let at: DateTime<Utc> = DateTime::from_timestamp(1_782_900_000, 0).unwrap_or_default();
        let plan = PlanId::from("doc-plan");
        Change {
            id: plan.change(1),
            plan_id: plan,
            target: Target {
                kind: TargetKind::Product,
                local_id: Some("42".into()),
                shopify_id: Some("gid://shopify/Product/1".into()),
            },
            operation: Operation::Update,
            field: Some(Field::Title),
            rows: vec![ChangeRow {
                path: "title".into(),
                field: Some(Field::Title),
                kind: RowKind::Local,
                base: json!("Tee"),
                local: json!("Tee 2"),
                remote: json!("Tee"),
                resolution: None,
            }],
            guard: StaleGuard::default(),
            priority: Operation::Update.default_priority(),
            state: ChangeState::Staged,
            version: 0,
            preflight: vec![],
            result: None,
            created_at: at,
            updated_at: at,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn by() -> Review {
        Review::new("t", DateTime::from_timestamp(1_782_900_100, 0).unwrap())
    }

    #[test]
    fn the_machine_is_exactly_the_table() {
        use ChangeState::*;
        let allowed = [
            (Staged, Approved),
            (Staged, Rejected),
            (Staged, Superseded),
            (Approved, Applying),
            (Approved, Superseded),
            (Applying, Applied),
            (Applying, Failed),
            (Applying, Stale),
            (Failed, Staged),
            (Failed, Superseded),
            (Stale, Staged),
            (Stale, Superseded),
        ];
        for from in ChangeState::ALL {
            for to in ChangeState::ALL {
                assert_eq!(
                    from.can_become(to),
                    allowed.contains(&(from, to)),
                    "{from} -> {to}"
                );
                let mut c = doc_support::change();
                c.state = from;
                let r = c.transition(to, &by());
                assert_eq!(r.is_ok(), allowed.contains(&(from, to)));
                if let Err(e) = r {
                    assert_eq!(e.kind(), crate::error::ErrorKind::InvalidInput);
                    let msg = e.to_string();
                    assert!(msg.contains(c.id.as_str()) && msg.contains(from.as_str()));
                    assert!(msg.contains(to.as_str()), "{msg}");
                    assert_eq!(c.state, from);
                    assert_eq!(c.version, 0);
                }
            }
            assert_eq!(ChangeState::parse(from.as_str()).unwrap(), from);
        }
    }

    #[test]
    fn conflicts_block_approval_until_resolved() {
        let mut c = doc_support::change();
        c.rows[0].kind = RowKind::Conflict;
        c.rows[0].remote = json!("Remote tee");
        let e = c.transition(ChangeState::Approved, &by()).unwrap_err();
        assert!(e.to_string().contains("unresolved"), "{e}");
        assert!(c.resolve(Some("nope"), Take::Local, None, &by()).is_err());
        assert!(c
            .resolve(None, Take::Value, Some(json!(12)), &by())
            .is_err());
        let entry = c.resolve(None, Take::Remote, None, &by()).unwrap();
        assert_eq!(entry.action, AuditAction::Resolved);
        assert_eq!(c.writes().count(), 0);
        // Naming the row resolves it again.
        c.resolve(Some("title"), Take::Value, Some(json!("Mine")), &by())
            .unwrap();
        assert_eq!(c.writes().collect::<Vec<_>>(), [("title", &json!("Mine"))]);
        assert!(c.resolve(None, Take::Local, None, &by()).is_err());
        c.transition(ChangeState::Approved, &by()).unwrap();
    }

    #[test]
    fn apply_results_need_applying() {
        let mut c = doc_support::change();
        assert!(c.finish_apply(ApplyResult::applied(None), &by()).is_err());
        c.transition(ChangeState::Approved, &by()).unwrap();
        c.transition(ChangeState::Applying, &by()).unwrap();
        let e = c.finish_apply(ApplyResult::failed("boom"), &by()).unwrap();
        assert_eq!(e.action, AuditAction::Failed);
        assert_eq!(e.after["result"]["message"], "boom");
        assert_eq!(c.state, ChangeState::Failed);
        c.transition(ChangeState::Staged, &by()).unwrap();
    }
}
