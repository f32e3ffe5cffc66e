//! The engine's futures can be spawned on a multi-threaded runtime: they are `Send`.
use shopify_sync::client::config::ClientConfig;
use shopify_sync::client::ShopifyClient;
use shopify_sync::staging::store::{ChangeStore, MemoryStore};
use shopify_sync::staging::{ChangeFilter, FieldMask};
use shopify_sync::sync::{ApplyOptions, LocalCatalog, PullMode, SyncEngine, WebhookQueue};
use shopify_sync::webhook::WebhookSecrets;
use std::sync::Arc;

fn spawnable<F: std::future::Future + Send + 'static>(f: F) -> F {
    f
}

#[test]
fn engine_futures_are_send() {
    let config = ClientConfig::with_endpoint("http://127.0.0.1:9", Some("shop"), "token").unwrap();
    let store: Arc<dyn ChangeStore> = Arc::new(MemoryStore::new());
    let engine = SyncEngine::new(ShopifyClient::new(config).unwrap(), store);
    let queue = Arc::new(WebhookQueue::new(WebhookSecrets::new(["s"]).unwrap()));
    let e = engine.clone();
    drop(spawnable(async move { e.pull(PullMode::Auto).await }));
    let e = engine.clone();
    drop(spawnable(async move { e.pull_incremental().await }));
    let e = engine.clone();
    drop(spawnable(async move {
        e.plan(&LocalCatalog::default(), FieldMask::ALL).await
    }));
    let e = engine.clone();
    drop(spawnable(async move {
        e.baseline(&LocalCatalog::default(), FieldMask::ALL).await
    }));
    let e = engine.clone();
    drop(spawnable(
        async move { e.statuses(&[], FieldMask::ALL).await },
    ));
    let e = engine.clone();
    drop(spawnable(async move { e.reconcile().await }));
    let e = engine.clone();
    drop(spawnable(async move {
        e.apply_with(&ChangeFilter::default(), ApplyOptions::default())
            .await
    }));
    let e = engine.clone();
    drop(spawnable(async move { e.refresh(&queue).await }));
}
