//! [`compute_status`]: the sync status of one product, as the dashboard shows it. Pure,
//! total and table-driven.
//!
//! This module owns the meaning of every status: the states, their precedence, the
//! reasons shown to people, and how the legacy `shopify_sync_status` column is read. It
//! must not touch the network, the change store, the clock or the executor: whatever
//! it needs arrives in a [`StatusInput`], so that the same input gives the same answer
//! in Rust, Python and Node (the shared vectors in `tests/vectors/status.json` hold the
//! bindings to that). It depends on [`crate::model`] and on
//! [`Fingerprint`] only.
//!
//! ```
//! use shopify_sync::model::Gid;
//! use shopify_sync::staging::{FieldMask, ProductSnapshot};
//! use shopify_sync::status::{compute_status, StatusInput, SyncState};
//!
//! let base: ProductSnapshot = serde_json::from_str(r#"{"title": "Tee"}"#).unwrap();
//! let local: ProductSnapshot = serde_json::from_str(r#"{"title": "Tee, new"}"#).unwrap();
//! let input = StatusInput {
//!     shopify_id: Some(Gid::from_numeric_id(1)?),
//!     local_fingerprint: Some(local.fingerprint(FieldMask::ALL)),
//!     base_fingerprint: Some(base.fingerprint(FieldMask::ALL)),
//!     remote_fingerprint: Some(base.fingerprint(FieldMask::ALL)),
//!     ..StatusInput::default()
//! };
//! let status = compute_status(&input);
//! assert_eq!(status.state(), SyncState::LocalChanges);
//! assert_eq!(status.reason(), "changed locally since the last sync");
//! assert_eq!(
//!     status.fields().iter().collect::<Vec<_>>(),
//!     ["local_fingerprint", "base_fingerprint", "remote_fingerprint"]
//! );
//! # Ok::<(), shopify_sync::error::Error>(())
//! ```
//!
//! # The table
//!
//! The first row whose condition holds decides. "Present" means: an id or fingerprint
//! that is not `null`, `remote_deleted` true, a change count above zero, a `last_error`
//! that is not empty, a `legacy_status` that is one of the accepted values below. A
//! comparison such as `local = base` holds only when both fingerprints are present.
//! *Fields* lists what the output names as having driven the state (in italics: named
//! only when present).
//!
//! | rule | condition | state | reason | fields |
//! | --- | --- | --- | --- | --- |
//! | 1a | no `shopify_id`, a change applying | `pending_create` | not on Shopify yet; the create is being applied | shopify_id, changes.applying |
//! | 1b | no `shopify_id`, a change approved | `pending_create` | not on Shopify yet; the create is approved and waiting to be applied | shopify_id, changes.approved, *changes.staged* |
//! | 1c | no `shopify_id`, a change staged | `pending_create` | not on Shopify yet; the create is staged for review | shopify_id, changes.staged |
//! | 1d | no `shopify_id`, a failed change or a last error | `not_synced` | not on Shopify yet; the last attempt to create it failed | shopify_id, *changes.failed*, *last_error* |
//! | 1e | no `shopify_id` | `not_synced` | not on Shopify yet | shopify_id |
//! | 2 | `remote_deleted` | `deleted_remotely` | deleted on Shopify | remote_deleted |
//! | 3 | a change applying | `syncing` | a change is being applied to Shopify | changes.applying |
//! | 4a | a failed change | `error` | a change failed to apply | changes.failed, *last_error* |
//! | 4b | a last error | `error` | the last sync failed | last_error |
//! | 5a | a conflicting change | `conflict` | a change conflicts with an edit made on Shopify | changes.conflict, *changes.stale* |
//! | 5b | a stale change | `conflict` | an approved change is stale: Shopify changed after it was reviewed | changes.stale |
//! | 6a | an approved change | `pending` | approved changes are waiting to be applied | changes.approved, *changes.staged* |
//! | 6b | a staged change | `pending` | staged changes are waiting for review | changes.staged |
//! | 7a | local = remote | `synced` | local and Shopify match | local_fingerprint, remote_fingerprint |
//! | 7b | local, base, remote present, remote = base | `local_changes` | changed locally since the last sync | local, base, remote fingerprints |
//! | 7c | local, base, remote present, local = base | `remote_changes` | changed on Shopify since the last sync | local, base, remote fingerprints |
//! | 7d | local, base, remote present | `diverged` | changed both locally and on Shopify since the last sync | local, base, remote fingerprints |
//! | 7e | local, remote present, no base | `diverged` | local and Shopify differ, with no base to tell which side changed | local_fingerprint, remote_fingerprint |
//! | 7f | local, base present, no remote, local ≠ base | `local_changes` | changed locally since the last sync; Shopify's side was not read | local_fingerprint, base_fingerprint |
//! | 7g | remote, base present, no local, remote ≠ base | `remote_changes` | changed on Shopify since the last sync; the local side is unknown | remote_fingerprint, base_fingerprint |
//! | 7h | local = base, no remote | `assumed_synced` | unchanged locally since the last sync; Shopify's side was not read | local_fingerprint, base_fingerprint |
//! | 7i | remote = base, no local | `assumed_synced` | unchanged on Shopify since the last sync; the local side is unknown | remote_fingerprint, base_fingerprint |
//! | 8 | an accepted `legacy_status` | its state (below) | legacy status column: *state* | legacy_status |
//! | 9 | otherwise | `assumed_synced` | on Shopify; no evidence of changes either way | shopify_id |
//!
//! Notes on the refinements of the issue's list:
//!
//! - Without a Shopify id nothing can be deleted, conflicting or compared, so rule 1
//!   comes first; a create being applied still counts as `pending_create`, and a failed
//!   create stays `not_synced` (the reason says it failed).
//! - Both sides changed to the *same* content is `synced` (7a), whatever the base.
//! - The legacy column is read only when no two fingerprints could be compared (rows 7
//!   did not decide): a fingerprint comparison is always stronger evidence.
//!
//! # The legacy column
//!
//! [`SyncState::from_legacy`] reads `shopify_sync_status` after trimming ASCII
//! whitespace, lowercasing ASCII letters and reading `-` and spaces as `_`. Every state
//! name this function outputs is accepted and maps to itself, so writing the output
//! back into the column and reading it again gives the same state. A few older spellings
//! are accepted too; anything else (including an empty value) counts as absent.
//!
//! | accepted value | state |
//! | --- | --- |
//! | `not_synced`, `unsynced`, `never_synced` | `not_synced` |
//! | `pending_create` | `pending_create` |
//! | `deleted_remotely`, `deleted` | `deleted_remotely` |
//! | `syncing`, `in_progress` | `syncing` |
//! | `error`, `failed`, `sync_failed` | `error` |
//! | `conflict` | `conflict` |
//! | `pending`, `queued` | `pending` |
//! | `synced`, `in_sync` | `synced` |
//! | `local_changes`, `modified` | `local_changes` |
//! | `remote_changes` | `remote_changes` |
//! | `diverged`, `out_of_sync` | `diverged` |
//! | `assumed_synced` | `assumed_synced` |
//!
//! The column is a weak signal by nature: a caller that tracks changes in the change
//! store but not fingerprints gets back, for example, a `syncing` it wrote earlier even
//! after the apply finished. Record fingerprints to get out of that.
//!
//! # JSON
//!
//! [`StatusInput`] reads (and writes) `{"shopify_id": "gid://shopify/Product/1" | "1" |
//! 1 | "" | null, "local_fingerprint": "v1:..." | null, "base_fingerprint": ...,
//! "remote_fingerprint": ..., "remote_deleted": false, "changes": {"staged": 0,
//! "approved": 0, "applying": 0, "failed": 0, "stale": 0, "conflict": 0},
//! "last_error": null, "legacy_status": null}`; every key may be left out. A
//! [`SyncStatus`] writes `{"state": "local_changes", "rule": "7b", "reason": "...",
//! "fields": ["local_fingerprint", ...]}`.

use crate::model::{Gid, Product};
use crate::staging::Fingerprint;
use serde::de::{self, Deserializer, Visitor};
use serde::ser::{SerializeSeq, SerializeStruct, Serializer};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// The sync state of a product. JSON: the snake_case name ([`SyncState::as_str`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum SyncState {
    /// Not on Shopify, and no create staged.
    NotSynced,
    /// Not on Shopify yet; a create is staged, approved or being applied.
    PendingCreate,
    /// Deleted on Shopify.
    DeletedRemotely,
    /// A change is being applied.
    Syncing,
    /// A change failed, or the last sync failed.
    Error,
    /// A change conflicts with an edit on Shopify, or went stale.
    Conflict,
    /// Changes are staged or approved, waiting.
    Pending,
    /// Local and Shopify content match.
    Synced,
    /// Changed locally since the last sync; Shopify unchanged.
    LocalChanges,
    /// Changed on Shopify since the last sync; local unchanged.
    RemoteChanges,
    /// Changed on both sides (or differs with no base to tell).
    Diverged,
    /// On Shopify, with no evidence either way.
    AssumedSynced,
}

impl SyncState {
    /// Every state, in precedence order.
    pub const ALL: [SyncState; 12] = [
        SyncState::NotSynced,
        SyncState::PendingCreate,
        SyncState::DeletedRemotely,
        SyncState::Syncing,
        SyncState::Error,
        SyncState::Conflict,
        SyncState::Pending,
        SyncState::Synced,
        SyncState::LocalChanges,
        SyncState::RemoteChanges,
        SyncState::Diverged,
        SyncState::AssumedSynced,
    ];

    /// The snake_case name: `"local_changes"`.
    pub fn as_str(self) -> &'static str {
        match self {
            SyncState::NotSynced => "not_synced",
            SyncState::PendingCreate => "pending_create",
            SyncState::DeletedRemotely => "deleted_remotely",
            SyncState::Syncing => "syncing",
            SyncState::Error => "error",
            SyncState::Conflict => "conflict",
            SyncState::Pending => "pending",
            SyncState::Synced => "synced",
            SyncState::LocalChanges => "local_changes",
            SyncState::RemoteChanges => "remote_changes",
            SyncState::Diverged => "diverged",
            SyncState::AssumedSynced => "assumed_synced",
        }
    }

    /// Read a legacy `shopify_sync_status` column value (see the
    /// [module docs](self#the-legacy-column) for the accepted values); `None` for
    /// anything else, which [`compute_status`] treats as absent.
    ///
    /// ```
    /// use shopify_sync::status::SyncState;
    /// assert_eq!(SyncState::from_legacy("local_changes"), Some(SyncState::LocalChanges));
    /// assert_eq!(SyncState::from_legacy(" Out-Of-Sync "), Some(SyncState::Diverged));
    /// assert_eq!(SyncState::from_legacy("maybe"), None);
    /// assert_eq!(SyncState::from_legacy(""), None);
    /// ```
    pub fn from_legacy(value: &str) -> Option<SyncState> {
        let value = value.trim_ascii();
        let mut buf = [0u8; 16];
        if value.len() > buf.len() {
            return None;
        }
        for (slot, b) in buf.iter_mut().zip(value.bytes()) {
            *slot = match b {
                b'-' | b' ' => b'_',
                b => b.to_ascii_lowercase(),
            };
        }
        Some(match &buf[..value.len()] {
            b"not_synced" | b"unsynced" | b"never_synced" => SyncState::NotSynced,
            b"pending_create" => SyncState::PendingCreate,
            b"deleted_remotely" | b"deleted" => SyncState::DeletedRemotely,
            b"syncing" | b"in_progress" => SyncState::Syncing,
            b"error" | b"failed" | b"sync_failed" => SyncState::Error,
            b"conflict" => SyncState::Conflict,
            b"pending" | b"queued" => SyncState::Pending,
            b"synced" | b"in_sync" => SyncState::Synced,
            b"local_changes" | b"modified" => SyncState::LocalChanges,
            b"remote_changes" => SyncState::RemoteChanges,
            b"diverged" | b"out_of_sync" => SyncState::Diverged,
            b"assumed_synced" => SyncState::AssumedSynced,
            _ => return None,
        })
    }

    fn legacy_reason(self) -> &'static str {
        match self {
            SyncState::NotSynced => "legacy status column: not_synced",
            SyncState::PendingCreate => "legacy status column: pending_create",
            SyncState::DeletedRemotely => "legacy status column: deleted_remotely",
            SyncState::Syncing => "legacy status column: syncing",
            SyncState::Error => "legacy status column: error",
            SyncState::Conflict => "legacy status column: conflict",
            SyncState::Pending => "legacy status column: pending",
            SyncState::Synced => "legacy status column: synced",
            SyncState::LocalChanges => "legacy status column: local_changes",
            SyncState::RemoteChanges => "legacy status column: remote_changes",
            SyncState::Diverged => "legacy status column: diverged",
            SyncState::AssumedSynced => "legacy status column: assumed_synced",
        }
    }
}

impl fmt::Display for SyncState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SyncState {
    type Err = crate::error::Error;

    /// The exact snake_case name (use [`SyncState::from_legacy`] for column values).
    fn from_str(s: &str) -> crate::error::Result<SyncState> {
        SyncState::ALL
            .into_iter()
            .find(|state| state.as_str() == s)
            .ok_or_else(|| {
                let shown: String = s.chars().take(40).collect();
                crate::error::Error::invalid_input(format!("unknown sync state {shown:?}"))
            })
    }
}

/// How many of a product's changes are in each state of the change store.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ChangeCounts {
    /// Staged, waiting for review.
    pub staged: u32,
    /// Approved, waiting to be applied.
    pub approved: u32,
    /// Being applied now.
    pub applying: u32,
    /// Failed to apply.
    pub failed: u32,
    /// Approved, but Shopify changed since the review: not written.
    pub stale: u32,
    /// Conflicting: changed on both sides to different values.
    pub conflict: u32,
}

/// Everything [`compute_status`] looks at. Every field has a neutral default, so build
/// it with `..StatusInput::default()`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StatusInput {
    /// The product's Shopify id; `None` when it is not on Shopify. JSON also accepts a
    /// legacy numeric id (`"123"` or `123`) and reads `""` as `null`.
    #[serde(deserialize_with = "lenient_product_id")]
    pub shopify_id: Option<Gid<Product>>,
    /// The fingerprint of the local content; `None` when unknown.
    pub local_fingerprint: Option<Fingerprint>,
    /// The fingerprint of the content as last synced; `None` when unknown.
    pub base_fingerprint: Option<Fingerprint>,
    /// The fingerprint of Shopify's content as last read; `None` when unknown.
    pub remote_fingerprint: Option<Fingerprint>,
    /// Whether Shopify reported the product deleted (webhook or a read by id).
    pub remote_deleted: bool,
    /// The product's changes by state.
    pub changes: ChangeCounts,
    /// The message of the last sync error, if the last sync failed; empty counts as
    /// absent.
    pub last_error: Option<String>,
    /// The legacy `shopify_sync_status` column, for gradual adoption; values that are
    /// not accepted count as absent (see [`SyncState::from_legacy`]).
    pub legacy_status: Option<String>,
}

fn lenient_product_id<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Gid<Product>>, D::Error> {
    struct IdVisitor;
    impl<'de> Visitor<'de> for IdVisitor {
        type Value = Option<Gid<Product>>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a Shopify product gid, a numeric id, \"\" or null")
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_any(IdVisitor)
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            if v.is_empty() {
                return Ok(None);
            }
            Gid::parse(v).map(Some).map_err(E::custom)
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
            Gid::from_numeric_id(v).map(Some).map_err(E::custom)
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
            let v = u64::try_from(v)
                .map_err(|_| E::custom(format!("invalid Product id {v}: ids are positive")))?;
            self.visit_u64(v)
        }
    }
    deserializer.deserialize_option(IdVisitor)
}

/// An input field of [`StatusInput`], by its JSON name.
const FIELD_NAMES: [&str; 13] = [
    "shopify_id",
    "local_fingerprint",
    "base_fingerprint",
    "remote_fingerprint",
    "remote_deleted",
    "changes.staged",
    "changes.approved",
    "changes.applying",
    "changes.failed",
    "changes.stale",
    "changes.conflict",
    "last_error",
    "legacy_status",
];

const ID: u32 = 1 << 0;
const LOCAL: u32 = 1 << 1;
const BASE: u32 = 1 << 2;
const REMOTE: u32 = 1 << 3;
const DELETED: u32 = 1 << 4;
const STAGED: u32 = 1 << 5;
const APPROVED: u32 = 1 << 6;
const APPLYING: u32 = 1 << 7;
const FAILED: u32 = 1 << 8;
const STALE: u32 = 1 << 9;
const CONFLICT: u32 = 1 << 10;
const LAST_ERROR: u32 = 1 << 11;
const LEGACY: u32 = 1 << 12;
/// Facts that are not input fields: fingerprint comparisons (both sides present).
const L_EQ_R: u32 = 1 << 16;
const L_EQ_B: u32 = 1 << 17;
const R_EQ_B: u32 = 1 << 18;
const FIELD_BITS: u32 = (1 << FIELD_NAMES.len()) - 1;

/// The input fields that drove a status: a small set, listed by JSON name
/// (`"shopify_id"`, `"local_fingerprint"`, `"changes.failed"`, `"last_error"` ...), in
/// the order [`StatusInput`] declares them.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct InputFields(u16);

impl InputFields {
    /// The field names, in declaration order.
    pub fn iter(self) -> impl Iterator<Item = &'static str> {
        FIELD_NAMES
            .into_iter()
            .enumerate()
            .filter(move |(i, _)| self.0 & (1 << i) != 0)
            .map(|(_, name)| name)
    }

    /// Whether the set holds the field with this JSON name.
    pub fn contains(self, name: &str) -> bool {
        self.iter().any(|n| n == name)
    }

    /// How many fields.
    pub fn len(self) -> usize {
        self.0.count_ones() as usize
    }

    /// Whether the set is empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
}

impl fmt::Debug for InputFields {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl Serialize for InputFields {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.len()))?;
        for name in self.iter() {
            seq.serialize_element(name)?;
        }
        seq.end()
    }
}

/// One row of the table: the first row whose condition holds decides.
struct Row {
    rule: &'static str,
    /// Facts that must all hold.
    all: u32,
    /// Facts that must not hold.
    none: u32,
    /// Facts of which one must hold (0: no such condition).
    any: u32,
    /// The state; `None` for the legacy row (the column's state).
    state: Option<SyncState>,
    reason: &'static str,
    /// Fields always named.
    fields: u32,
    /// Fields named when present.
    also: u32,
}

const fn row(
    rule: &'static str,
    (all, none, any): (u32, u32, u32),
    state: Option<SyncState>,
    reason: &'static str,
    (fields, also): (u32, u32),
) -> Row {
    Row {
        rule,
        all,
        none,
        any,
        state,
        reason,
        fields,
        also,
    }
}

use SyncState as S;

#[rustfmt::skip]
static TABLE: [Row; 24] = [
    row("1a", (APPLYING, ID, 0), Some(S::PendingCreate),
        "not on Shopify yet; the create is being applied", (ID | APPLYING, 0)),
    row("1b", (APPROVED, ID, 0), Some(S::PendingCreate),
        "not on Shopify yet; the create is approved and waiting to be applied", (ID | APPROVED, STAGED)),
    row("1c", (STAGED, ID, 0), Some(S::PendingCreate),
        "not on Shopify yet; the create is staged for review", (ID | STAGED, 0)),
    row("1d", (0, ID, FAILED | LAST_ERROR), Some(S::NotSynced),
        "not on Shopify yet; the last attempt to create it failed", (ID, FAILED | LAST_ERROR)),
    row("1e", (0, ID, 0), Some(S::NotSynced), "not on Shopify yet", (ID, 0)),
    row("2", (DELETED, 0, 0), Some(S::DeletedRemotely), "deleted on Shopify", (DELETED, 0)),
    row("3", (APPLYING, 0, 0), Some(S::Syncing),
        "a change is being applied to Shopify", (APPLYING, 0)),
    row("4a", (FAILED, 0, 0), Some(S::Error), "a change failed to apply", (FAILED, LAST_ERROR)),
    row("4b", (LAST_ERROR, 0, 0), Some(S::Error), "the last sync failed", (LAST_ERROR, 0)),
    row("5a", (CONFLICT, 0, 0), Some(S::Conflict),
        "a change conflicts with an edit made on Shopify", (CONFLICT, STALE)),
    row("5b", (STALE, 0, 0), Some(S::Conflict),
        "an approved change is stale: Shopify changed after it was reviewed", (STALE, 0)),
    row("6a", (APPROVED, 0, 0), Some(S::Pending),
        "approved changes are waiting to be applied", (APPROVED, STAGED)),
    row("6b", (STAGED, 0, 0), Some(S::Pending),
        "staged changes are waiting for review", (STAGED, 0)),
    row("7a", (L_EQ_R, 0, 0), Some(S::Synced), "local and Shopify match", (LOCAL | REMOTE, 0)),
    row("7b", (LOCAL | BASE | REMOTE | R_EQ_B, 0, 0), Some(S::LocalChanges),
        "changed locally since the last sync", (LOCAL | BASE | REMOTE, 0)),
    row("7c", (LOCAL | BASE | REMOTE | L_EQ_B, 0, 0), Some(S::RemoteChanges),
        "changed on Shopify since the last sync", (LOCAL | BASE | REMOTE, 0)),
    row("7d", (LOCAL | BASE | REMOTE, 0, 0), Some(S::Diverged),
        "changed both locally and on Shopify since the last sync", (LOCAL | BASE | REMOTE, 0)),
    row("7e", (LOCAL | REMOTE, BASE, 0), Some(S::Diverged),
        "local and Shopify differ, with no base to tell which side changed", (LOCAL | REMOTE, 0)),
    row("7f", (LOCAL | BASE, REMOTE | L_EQ_B, 0), Some(S::LocalChanges),
        "changed locally since the last sync; Shopify's side was not read", (LOCAL | BASE, 0)),
    row("7g", (REMOTE | BASE, LOCAL | R_EQ_B, 0), Some(S::RemoteChanges),
        "changed on Shopify since the last sync; the local side is unknown", (REMOTE | BASE, 0)),
    row("7h", (L_EQ_B, REMOTE, 0), Some(S::AssumedSynced),
        "unchanged locally since the last sync; Shopify's side was not read", (LOCAL | BASE, 0)),
    row("7i", (R_EQ_B, LOCAL, 0), Some(S::AssumedSynced),
        "unchanged on Shopify since the last sync; the local side is unknown", (REMOTE | BASE, 0)),
    row("8", (LEGACY, 0, 0), None, "", (LEGACY, 0)),
    row("9", (0, 0, 0), Some(S::AssumedSynced),
        "on Shopify; no evidence of changes either way", (ID, 0)),
];

/// The rule ids of the table, in order (for tests that check every row is covered).
#[doc(hidden)]
pub fn rules() -> impl Iterator<Item = &'static str> {
    TABLE.iter().map(|r| r.rule)
}

/// The outcome of [`compute_status`]: a state, a short reason for people, the input
/// fields that drove it, and the table row that decided.
///
/// Copy and allocation-free; serializes as `{"state", "rule", "reason", "fields"}`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct SyncStatus {
    state: SyncState,
    fields: InputFields,
    rule: &'static str,
    reason: &'static str,
}

impl SyncStatus {
    /// The state.
    pub fn state(&self) -> SyncState {
        self.state
    }

    /// A short human reason, e.g. `"changed locally since the last sync"`.
    pub fn reason(&self) -> &'static str {
        self.reason
    }

    /// The input fields that drove the state.
    pub fn fields(&self) -> InputFields {
        self.fields
    }

    /// The table row that decided (`"1a"` ... `"9"`, see the [module docs](self)).
    pub fn rule(&self) -> &'static str {
        self.rule
    }
}

impl fmt::Debug for SyncStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SyncStatus")
            .field("state", &self.state)
            .field("rule", &self.rule)
            .field("reason", &self.reason)
            .field("fields", &self.fields)
            .finish()
    }
}

impl fmt::Display for SyncStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.state, self.reason)
    }
}

impl Serialize for SyncStatus {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct("SyncStatus", 4)?;
        s.serialize_field("state", &self.state)?;
        s.serialize_field("rule", self.rule)?;
        s.serialize_field("reason", self.reason)?;
        s.serialize_field("fields", &self.fields)?;
        s.end()
    }
}

/// The sync status of one product: the first row of the [table](self#the-table) whose
/// condition holds. Pure and total: every input gives exactly one status, without
/// allocating or panicking.
///
/// ```
/// use shopify_sync::status::{compute_status, ChangeCounts, StatusInput, SyncState};
///
/// let never_pushed = StatusInput::default();
/// assert_eq!(compute_status(&never_pushed).state(), SyncState::NotSynced);
///
/// let failing: StatusInput = serde_json::from_str(r#"{
///     "shopify_id": "gid://shopify/Product/1",
///     "changes": {"failed": 1, "staged": 2},
///     "last_error": "Title can't be blank"
/// }"#).unwrap();
/// let status = compute_status(&failing);
/// assert_eq!(status.state(), SyncState::Error);
/// assert_eq!(status.rule(), "4a");
/// assert_eq!(
///     serde_json::to_value(status).unwrap(),
///     serde_json::json!({"state": "error", "rule": "4a", "reason": "a change failed to apply",
///                        "fields": ["changes.failed", "last_error"]})
/// );
///
/// // Gradual adoption: no fingerprints yet, the old column decides.
/// let legacy = StatusInput {
///     shopify_id: Some("123".parse()?),
///     legacy_status: Some("synced".into()),
///     ..StatusInput::default()
/// };
/// assert_eq!(compute_status(&legacy).state(), SyncState::Synced);
/// # Ok::<(), shopify_sync::error::Error>(())
/// ```
pub fn compute_status(input: &StatusInput) -> SyncStatus {
    let legacy = match input.legacy_status.as_deref() {
        Some(value) if !value.is_empty() => SyncState::from_legacy(value),
        _ => None,
    };
    let facts = facts(input, legacy.is_some());
    // Rule 9 holds for every input, so a row is always found.
    let row = TABLE
        .iter()
        .find(|r| {
            facts & r.all == r.all && facts & r.none == 0 && (r.any == 0 || facts & r.any != 0)
        })
        .unwrap_or(&TABLE[TABLE.len() - 1]);
    let (state, reason) = match (row.state, legacy) {
        (Some(state), _) => (state, row.reason),
        (None, Some(state)) => (state, state.legacy_reason()),
        // The legacy row requires LEGACY, which is set only when `legacy` is Some.
        (None, None) => (SyncState::AssumedSynced, TABLE[TABLE.len() - 1].reason),
    };
    let fields = (row.fields | (row.also & facts)) & FIELD_BITS;
    SyncStatus {
        state,
        // FIELD_BITS has 13 bits: the cast keeps them all.
        fields: InputFields(fields as u16),
        rule: row.rule,
        reason,
    }
}

fn facts(input: &StatusInput, legacy: bool) -> u32 {
    let bit = |cond: bool, bit: u32| if cond { bit } else { 0 };
    let c = &input.changes;
    let (l, b, r) = (
        input.local_fingerprint,
        input.base_fingerprint,
        input.remote_fingerprint,
    );
    let eq = |x: Option<Fingerprint>, y: Option<Fingerprint>| matches!((x, y), (Some(x), Some(y)) if x == y);
    bit(input.shopify_id.is_some(), ID)
        | bit(l.is_some(), LOCAL)
        | bit(b.is_some(), BASE)
        | bit(r.is_some(), REMOTE)
        | bit(input.remote_deleted, DELETED)
        | bit(c.staged > 0, STAGED)
        | bit(c.approved > 0, APPROVED)
        | bit(c.applying > 0, APPLYING)
        | bit(c.failed > 0, FAILED)
        | bit(c.stale > 0, STALE)
        | bit(c.conflict > 0, CONFLICT)
        | bit(
            input.last_error.as_deref().is_some_and(|e| !e.is_empty()),
            LAST_ERROR,
        )
        | bit(legacy, LEGACY)
        | bit(eq(l, r), L_EQ_R)
        | bit(eq(l, b), L_EQ_B)
        | bit(eq(r, b), R_EQ_B)
}

/// [`compute_status`] for many products at once, in order.
///
/// ```
/// use shopify_sync::status::{compute_statuses, StatusInput, SyncState};
/// let inputs = vec![StatusInput::default(); 3];
/// let statuses = compute_statuses(&inputs);
/// assert!(statuses.iter().all(|s| s.state() == SyncState::NotSynced));
/// ```
pub fn compute_statuses(inputs: &[StatusInput]) -> Vec<SyncStatus> {
    inputs.iter().map(compute_status).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fp(n: u8) -> Option<Fingerprint> {
        Some(Fingerprint::from_digest([n; 32]))
    }

    fn on_shopify() -> StatusInput {
        StatusInput {
            shopify_id: Some(Gid::from_numeric_id(1).unwrap()),
            ..StatusInput::default()
        }
    }

    #[test]
    fn table_is_well_formed() {
        let mut seen = std::collections::HashSet::new();
        for r in &TABLE {
            assert!(seen.insert(r.rule), "duplicate rule {}", r.rule);
            assert!(r.fields != 0, "{} names no field", r.rule);
            assert_eq!(r.state.is_none(), r.rule == "8");
        }
        let last = &TABLE[TABLE.len() - 1];
        assert_eq!((last.all, last.none, last.any), (0, 0, 0));
        // The module docs list every rule with its reason.
        let docs = include_str!("status.rs");
        for r in TABLE.iter().filter(|r| r.state.is_some()) {
            let line = format!("//! | {} |", r.rule);
            let doc_line = docs
                .lines()
                .find(|l| l.starts_with(&line))
                .unwrap_or_else(|| panic!("rule {} is not documented", r.rule));
            assert!(doc_line.contains(r.reason), "{doc_line}");
            let state = format!("`{}`", r.state.map_or("", SyncState::as_str));
            assert!(doc_line.contains(&state), "{doc_line}");
        }
    }

    #[test]
    fn precedence_follows_the_issue() {
        let mut input = on_shopify();
        input.local_fingerprint = fp(1);
        input.base_fingerprint = fp(2);
        input.remote_fingerprint = fp(3);
        input.legacy_status = Some("synced".into());
        assert_eq!(compute_status(&input).state(), SyncState::Diverged);
        input.changes.staged = 1;
        assert_eq!(compute_status(&input).state(), SyncState::Pending);
        input.changes.stale = 1;
        assert_eq!(compute_status(&input).state(), SyncState::Conflict);
        input.last_error = Some("boom".into());
        assert_eq!(compute_status(&input).state(), SyncState::Error);
        input.changes.applying = 1;
        assert_eq!(compute_status(&input).state(), SyncState::Syncing);
        input.remote_deleted = true;
        assert_eq!(compute_status(&input).state(), SyncState::DeletedRemotely);
        input.shopify_id = None;
        assert_eq!(compute_status(&input).state(), SyncState::PendingCreate);
        input.changes = ChangeCounts::default();
        assert_eq!(compute_status(&input).state(), SyncState::NotSynced);
        assert_eq!(compute_status(&input).rule(), "1d");
    }

    #[test]
    fn every_output_state_read_back_from_the_column_is_stable() {
        for state in SyncState::ALL {
            assert_eq!(SyncState::from_legacy(state.as_str()), Some(state));
            assert_eq!(state.as_str().parse::<SyncState>().unwrap(), state);
            assert_eq!(serde_json::to_value(state).unwrap(), state.as_str());
            let input = StatusInput {
                legacy_status: Some(state.as_str().into()),
                ..on_shopify()
            };
            let status = compute_status(&input);
            assert_eq!(status.state(), state);
            assert_eq!(status.rule(), "8");
            assert!(status.reason().ends_with(state.as_str()));
        }
        assert!("Synced".parse::<SyncState>().is_err());
        for unknown in [
            "",
            " ",
            "ok",
            "synced!",
            "sync ed",
            "x".repeat(100).as_str(),
            "é",
        ] {
            assert_eq!(SyncState::from_legacy(unknown), None, "{unknown:?}");
            let input = StatusInput {
                legacy_status: Some(unknown.into()),
                ..on_shopify()
            };
            assert_eq!(compute_status(&input).rule(), "9");
        }
        assert_eq!(
            SyncState::from_legacy("\tIN SYNC\n"),
            Some(SyncState::Synced)
        );
        assert_eq!(
            SyncState::from_legacy("Never-Synced"),
            Some(SyncState::NotSynced)
        );
    }

    #[test]
    fn json_shapes() {
        let input: StatusInput = serde_json::from_value(json!({
            "shopify_id": 123,
            "changes": {"conflict": 2},
            "legacy_status": "pending"
        }))
        .unwrap();
        assert_eq!(input.shopify_id.unwrap().numeric_id(), 123);
        let back: StatusInput =
            serde_json::from_value(serde_json::to_value(&input).unwrap()).unwrap();
        assert_eq!(back, input);
        for id in [json!(""), json!(null)] {
            let i: StatusInput = serde_json::from_value(json!({"shopify_id": id})).unwrap();
            assert_eq!(i.shopify_id, None);
        }
        for bad in [
            json!({"shopify_id": "gid://shopify/Collection/1"}),
            json!({"shopify_id": -1}),
            json!({"shopify_id": 0}),
            json!({"changes": {"staged": -1}}),
            json!({"changes": {"approvd": 1}}),
            json!({"local_fingerprint": "abc"}),
            json!({"remote_deleted": "yes"}),
            json!({"unknown": 1}),
        ] {
            assert!(
                serde_json::from_value::<StatusInput>(bad.clone()).is_err(),
                "{bad}"
            );
        }
        let status = compute_status(&input);
        assert_eq!(
            format!("{status}"),
            "conflict: a change conflicts with an edit made on Shopify"
        );
        assert!(format!("{status:?}").contains("rule: \"5a\""));
        assert!(status.fields().contains("changes.conflict"));
        assert!(!status.fields().contains("legacy_status"));
        assert_eq!(status.fields().len(), 1);
        assert!(!status.fields().is_empty());
    }

    #[test]
    fn empty_last_error_is_absent() {
        let input = StatusInput {
            last_error: Some(String::new()),
            ..on_shopify()
        };
        assert_eq!(compute_status(&input).state(), SyncState::AssumedSynced);
    }

    #[test]
    fn total_over_every_combination_of_facts() {
        // Every combination of presence and equality of the fingerprints, counts and
        // flags: exactly one status each, consistent with the table's conditions.
        let fps = [None, fp(1), fp(2), fp(3)];
        let mut n = 0;
        for bits in 0u32..(1 << 9) {
            for l in fps {
                for b in fps {
                    for r in fps {
                        let on = |i: u32| bits & (1 << i) != 0;
                        let input = StatusInput {
                            shopify_id: on(0).then(|| Gid::from_numeric_id(7).unwrap()),
                            local_fingerprint: l,
                            base_fingerprint: b,
                            remote_fingerprint: r,
                            remote_deleted: on(1),
                            changes: ChangeCounts {
                                staged: u32::from(on(2)),
                                approved: u32::from(on(3)),
                                applying: u32::from(on(4)) * u32::MAX,
                                failed: u32::from(on(5)),
                                stale: u32::from(on(6)),
                                conflict: u32::from(on(7)),
                            },
                            last_error: None,
                            legacy_status: on(8).then(|| "remote_changes".to_string()),
                        };
                        let status = compute_status(&input);
                        n += 1;
                        if input.shopify_id.is_none() {
                            assert!(matches!(
                                status.state(),
                                SyncState::NotSynced | SyncState::PendingCreate
                            ));
                        }
                        if status.state() == SyncState::Synced {
                            assert_eq!(l, r);
                        }
                        if l.is_some() && r.is_some() && l != r && status.rule().starts_with('7') {
                            assert_ne!(status.state(), SyncState::Synced);
                        }
                        assert!(!status.fields().is_empty());
                    }
                }
            }
        }
        assert_eq!(n, 512 * 64);
        let batch = compute_statuses(&[on_shopify(), StatusInput::default()]);
        assert_eq!(
            batch.iter().map(SyncStatus::state).collect::<Vec<_>>(),
            [SyncState::AssumedSynced, SyncState::NotSynced]
        );
    }
}
