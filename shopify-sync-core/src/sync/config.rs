//! The sync engine's configuration: a struct of options with documented defaults.

use crate::executor::ExecutorConfig;
use std::time::Duration;

/// How a full pull reads the catalog. JSON: `"auto"`, `"paginated"`, `"bulk"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PullMode {
    /// Paginated below [`SyncConfig::bulk_pull_threshold`] products, a bulk query
    /// from there up (the count comes from `productsCount`).
    #[default]
    Auto,
    /// Paginated queries, whatever the size.
    Paginated,
    /// A bulk query, whatever the size.
    Bulk,
}

/// How an apply sends its writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WriteMode {
    /// Direct mutations below [`SyncConfig::bulk_write_threshold`] product updates, a
    /// bulk mutation from there up.
    #[default]
    Auto,
    /// One mutation per write, through the executor.
    Direct,
    /// Product updates through one bulk mutation (creates, deletes and membership stay
    /// direct).
    Bulk,
}

/// How a create names the product it makes, so that a retried create finds the product
/// instead of making a second one (`productSet`'s `identifier`).
///
/// ```
/// use shopify_sync::sync::CreateIdentifier;
/// let id = CreateIdentifier::custom_id("shopify_sync", "local_id");
/// assert_ne!(id, CreateIdentifier::Handle);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum CreateIdentifier {
    /// The product's handle (the default): unique per shop. Before the first attempt
    /// the engine checks that no product holds the handle yet, so a create never takes
    /// over a product it did not make.
    #[default]
    Handle,
    /// The caller's `local_id`, kept in a product metafield of type `id`
    /// (`namespace.key`), which Shopify keeps unique per shop. The engine creates the
    /// metafield definition the first time it needs it. A product found by its custom
    /// id is the one an earlier attempt made, so it is adopted, and handles may change
    /// freely.
    CustomId {
        /// The metafield's namespace.
        namespace: String,
        /// The metafield's key.
        key: String,
    },
}

impl CreateIdentifier {
    /// [`CreateIdentifier::CustomId`] in `namespace.key`.
    pub fn custom_id(namespace: impl Into<String>, key: impl Into<String>) -> CreateIdentifier {
        CreateIdentifier::CustomId {
            namespace: namespace.into(),
            key: key.into(),
        }
    }
}

/// Options of a [`SyncEngine`](super::SyncEngine).
///
/// | field | default |
/// | --- | --- |
/// | `pull_mode` | [`PullMode::Auto`] |
/// | `bulk_pull_threshold` | 25,000 products |
/// | `overlap` | 5 minutes |
/// | `write_mode` | [`WriteMode::Auto`] |
/// | `bulk_write_threshold` | 1,000 product updates |
/// | `guard_batch` | 100 ids per `nodes(ids:)` read |
/// | `create_identifier` | [`CreateIdentifier::Handle`] |
/// | `publications` | none |
/// | `actor` | `"shopify-sync"` |
/// | `executor` | [`ExecutorConfig::default`] |
#[derive(Debug, Clone)]
pub struct SyncConfig {
    /// How a full pull reads the catalog.
    pub pull_mode: PullMode,
    /// Products from which [`PullMode::Auto`] uses a bulk query. Bulk queries cost no
    /// rate-limit points but take Shopify's pace; tune against your store.
    pub bulk_pull_threshold: u64,
    /// How far before its cursor an incremental pull reads again: covers Shopify's
    /// search-index lag (a product written just before a pull may not be searchable yet).
    pub overlap: Duration,
    /// How an apply sends product updates.
    pub write_mode: WriteMode,
    /// Product updates from which [`WriteMode::Auto`] uses a bulk mutation.
    pub bulk_write_threshold: usize,
    /// Targets re-read per `nodes(ids:)` request by the stale guard (at most 250).
    pub guard_batch: usize,
    /// How creates name their product.
    pub create_identifier: CreateIdentifier,
    /// Publication gids new products are published to (`publishablePublish`): products
    /// created through the API are not on any sales channel until published.
    pub publications: Vec<String>,
    /// Who the audit trail names for the engine's own transitions.
    pub actor: String,
    /// The executor the writes run on.
    pub executor: ExecutorConfig,
}

impl Default for SyncConfig {
    fn default() -> SyncConfig {
        SyncConfig {
            pull_mode: PullMode::Auto,
            bulk_pull_threshold: 25_000,
            overlap: Duration::from_secs(300),
            write_mode: WriteMode::Auto,
            bulk_write_threshold: 1_000,
            guard_batch: 100,
            create_identifier: CreateIdentifier::Handle,
            publications: Vec::new(),
            actor: "shopify-sync".to_owned(),
            executor: ExecutorConfig::default(),
        }
    }
}
