//! What the sync engine's integration tests share: a simulator, a client for it, a temp
//! SQLite path, and the merchant's table as it is right after adoption.
#![allow(dead_code)]

use shopify_sync::client::config::ClientConfig;
use shopify_sync::client::ShopifyClient;
use shopify_sync::model::{Gid, Product};
use shopify_sync::staging::store::{ChangeStore, SnapshotSide};
use shopify_sync::staging::{FieldMask, ProductSnapshot, Record, Snapshot};
use shopify_sync::sync::{LocalCatalog, PullMode, SyncEngine};
use shopify_sync_sim::catalog::CatalogSpec;
use shopify_sync_sim::{CatalogSource, SimConfig, Simulator};
use std::collections::BTreeMap;
use std::ops::Range;
use std::path::PathBuf;
use std::time::Duration;

/// Local products by local id (`L<numeric id>` for adopted ones).
pub type Local = BTreeMap<String, Record<ProductSnapshot>>;

/// A simulator with a generated catalog, on top of `config`.
pub async fn sim_with(products: usize, collections: usize, config: SimConfig) -> Simulator {
    Simulator::start(SimConfig {
        catalog: CatalogSource::Generated(CatalogSpec {
            products,
            collections,
            ..CatalogSpec::default()
        }),
        ..config
    })
    .await
    .expect("a simulator")
}

/// A simulator with a generated catalog and default settings.
pub async fn sim(products: usize, collections: usize) -> Simulator {
    sim_with(products, collections, SimConfig::default()).await
}

/// A client for `sim` with short retry backoffs.
pub fn client(sim: &Simulator) -> ShopifyClient {
    let mut config =
        ClientConfig::with_endpoint(&sim.endpoint(), Some(sim.shop()), sim.access_token())
            .expect("a config");
    config.retry.initial_backoff = Duration::from_millis(5);
    config.retry.max_backoff = Duration::from_millis(50);
    ShopifyClient::new(config).expect("a client")
}

/// A fresh SQLite path, unique per process and name.
pub fn temp_db(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("shopify-sync-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a temp dir");
    dir.join("store.db")
}

/// The merchant's table right after the first sync: every remote product, with a
/// local id.
pub async fn local_from_remote(store: &dyn ChangeStore) -> Local {
    let mut out = Local::new();
    for (key, s) in store
        .snapshots(SnapshotSide::Remote)
        .await
        .expect("snapshots")
    {
        if let Snapshot::Product(p) = s.snapshot {
            let gid: Gid<Product> = Gid::parse(&key).expect("a gid");
            let local_id = format!("L{}", gid.numeric_id());
            out.insert(local_id.clone(), Record::synced(local_id, gid, p));
        }
    }
    out
}

/// The local products as a catalog to plan from.
pub fn catalog(local: &Local) -> LocalCatalog {
    LocalCatalog {
        products: local.values().cloned().collect(),
        ..LocalCatalog::default()
    }
}

/// Pull the store, read the merchant's table as it is after adoption, and record it as
/// the base.
pub async fn adopt(engine: &SyncEngine, store: &dyn ChangeStore) -> Local {
    engine.pull(PullMode::Paginated).await.expect("a pull");
    let local = local_from_remote(store).await;
    engine
        .baseline(&catalog(&local), FieldMask::ALL)
        .await
        .expect("a baseline");
    local
}

/// Local edits: ` (<name>)` after the titles of the products at `titles` (in key
/// order), `price` on every variant of those at `prices`, and `creates` new products
/// `NEW-<n>` with the handle `<name>-<n>`.
pub fn edit(
    local: &mut Local,
    titles: Range<usize>,
    prices: Range<usize>,
    price: &str,
    creates: usize,
    name: &str,
) {
    let keys: Vec<String> = local.keys().cloned().collect();
    for k in &keys[titles] {
        let r = local.get_mut(k).expect("a product");
        r.snapshot.title = format!("{} ({name})", r.snapshot.title);
    }
    for k in &keys[prices] {
        for v in &mut local.get_mut(k).expect("a product").snapshot.variants {
            v.price = Some(price.parse().expect("a price"));
        }
    }
    for n in 0..creates {
        let p: ProductSnapshot = serde_json::from_value(serde_json::json!({
            "title": format!("{name} {n}"), "handle": format!("{name}-{n}"),
            "variants": [{"price": "5.00", "sku": format!("{name}-{n}")}]
        }))
        .expect("a snapshot");
        local.insert(format!("NEW-{n}"), Record::new_local(format!("NEW-{n}"), p));
    }
}
