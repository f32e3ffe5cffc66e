//! Webhook-driven refresh against the simulator over real HTTP: signed REST-shaped
//! deliveries mark products and collections dirty, `SyncEngine::refresh` re-reads them
//! through GraphQL into the remote snapshots of a `MemoryStore`. Bad signatures,
//! repeats, out-of-order deliveries, deletes, collection membership and failures.
use futures::TryStreamExt;
use serde_json::{json, Value};
use shopify_sync::client::config::ClientConfig;
use shopify_sync::client::products::ProductQuery;
use shopify_sync::client::ShopifyClient;
use shopify_sync::model::{Collection, Gid, Product};
use shopify_sync::staging::store::{ChangeStore, MemoryStore, SnapshotSide, StoredSnapshot};
use shopify_sync::staging::{CollectionSnapshot, FieldMask, ProductSnapshot, Snapshot};
use shopify_sync::sync::{SyncEngine, WebhookQueue};
use shopify_sync::webhook::{WebhookError, WebhookPayload, WebhookSecret, WebhookSecrets};
use shopify_sync_sim::catalog::CatalogSpec;
use shopify_sync_sim::faults::Fault;
use shopify_sync_sim::{CatalogSource, SimConfig, Simulator};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

const SECRET: &str = "shpss_refresh_current";
const OLD_SECRET: &str = "shpss_refresh_previous";

struct Fixture {
    sim: Simulator,
    engine: SyncEngine,
    queue: WebhookQueue,
}

async fn fixture(products: usize) -> Fixture {
    let sim = Simulator::start(SimConfig {
        catalog: CatalogSource::Generated(CatalogSpec {
            products,
            collections: 4, // three custom, one smart
            ..CatalogSpec::default()
        }),
        ..SimConfig::default()
    })
    .await
    .expect("the simulator starts");
    let mut config =
        ClientConfig::with_endpoint(&sim.endpoint(), Some(sim.shop()), sim.access_token())
            .expect("a valid config");
    config.retry.max_attempts = 2;
    config.retry.initial_backoff = Duration::from_millis(5);
    config.retry.max_backoff = Duration::from_millis(20);
    let client = ShopifyClient::new(config).expect("a client");
    let store: Arc<dyn ChangeStore> = Arc::new(MemoryStore::new());
    let engine = SyncEngine::new(client, store);
    let queue =
        WebhookQueue::new(WebhookSecrets::new([SECRET, OLD_SECRET]).unwrap()).for_shop(sim.shop());
    seed(&engine).await;
    Fixture { sim, engine, queue }
}

fn stored(snapshot: Snapshot, updated_at: Option<chrono::DateTime<chrono::Utc>>) -> StoredSnapshot {
    StoredSnapshot {
        fingerprint: Some(snapshot.fingerprint(FieldMask::ALL)),
        snapshot,
        updated_at,
        local_id: None,
    }
}

/// The remote snapshots as a pull would write them, read through the client's own
/// listings (not through the refresh's code): every product with its custom-collection
/// membership, every collection.
async fn remote_state(client: &ShopifyClient) -> BTreeMap<String, StoredSnapshot> {
    let products: Vec<Product> = client
        .products(ProductQuery::default())
        .try_collect()
        .await
        .unwrap();
    let collections: Vec<Collection> = client.collections(None).try_collect().await.unwrap();
    let mut members: HashMap<Gid<Product>, Vec<Gid<Collection>>> = HashMap::new();
    for c in collections.iter().filter(|c| c.rule_set.is_none()) {
        let ids: Vec<Gid<Product>> = client
            .collection_product_ids(c.id)
            .try_collect()
            .await
            .unwrap();
        for p in ids {
            members.entry(p).or_default().push(c.id);
        }
    }
    let mut out = BTreeMap::new();
    for p in &products {
        let snap = ProductSnapshot::from_product(p)
            .with_collections(members.get(&p.id).cloned().unwrap_or_default());
        out.insert(
            p.id.to_string(),
            stored(Snapshot::Product(snap), p.updated_at),
        );
    }
    for c in &collections {
        let snap = CollectionSnapshot::from_collection(c);
        out.insert(
            c.id.to_string(),
            stored(Snapshot::Collection(snap), c.updated_at),
        );
    }
    out
}

async fn seed(engine: &SyncEngine) {
    let entries: Vec<(String, StoredSnapshot)> =
        remote_state(engine.client()).await.into_iter().collect();
    engine
        .store()
        .put_snapshots(SnapshotSide::Remote, &entries)
        .await
        .unwrap();
}

async fn stored_state(engine: &SyncEngine) -> BTreeMap<String, StoredSnapshot> {
    engine
        .store()
        .snapshots(SnapshotSide::Remote)
        .await
        .unwrap()
        .into_iter()
        .collect()
}

async fn remote_product(engine: &SyncEngine, id: Gid<Product>) -> Option<ProductSnapshot> {
    let s = engine
        .store()
        .snapshot(SnapshotSide::Remote, &id.to_string())
        .await
        .unwrap()?;
    assert_eq!(
        s.fingerprint,
        Some(s.snapshot.fingerprint(FieldMask::ALL)),
        "the stored fingerprint is the snapshot's"
    );
    match s.snapshot {
        Snapshot::Product(p) => Some(p),
        other => panic!("{other:?}"),
    }
}

async fn products(engine: &SyncEngine) -> Vec<Product> {
    engine
        .client()
        .products(ProductQuery::default())
        .try_collect()
        .await
        .unwrap()
}

// ----- deliveries ----------------------------------------------------------------------

static EVENTS: AtomicU64 = AtomicU64::new(1);

/// One delivery as Shopify would send it: REST JSON body, signed headers.
#[derive(Clone)]
struct Delivery {
    topic: String,
    body: Vec<u8>,
    event_id: String,
    webhook_id: String,
    triggered_at: Option<String>,
    shop: String,
}

impl Delivery {
    fn new(topic: &str, body: Value, shop: &str) -> Delivery {
        let n = EVENTS.fetch_add(1, Ordering::Relaxed);
        Delivery {
            topic: topic.into(),
            body: serde_json::to_vec(&body).unwrap(),
            event_id: format!("4b2d8c1e-0000-4000-8000-{n:012}"),
            webhook_id: format!("b54557e4-0000-4000-8000-{n:012}"),
            triggered_at: Some(format!("2026-03-01T12:00:{:02}.000000Z", n % 60)),
            shop: shop.into(),
        }
    }

    fn at(mut self, triggered_at: Option<&str>) -> Delivery {
        self.triggered_at = triggered_at.map(str::to_string);
        self
    }

    fn headers(&self, signature: &str) -> Vec<(String, String)> {
        let mut h = vec![
            ("X-Shopify-Topic".to_string(), self.topic.clone()),
            ("X-Shopify-Hmac-Sha256".into(), signature.to_string()),
            ("X-Shopify-Shop-Domain".into(), self.shop.clone()),
            ("X-Shopify-Event-Id".into(), self.event_id.clone()),
            ("X-Shopify-Webhook-Id".into(), self.webhook_id.clone()),
            ("X-Shopify-API-Version".into(), "2026-07".into()),
            ("Content-Type".into(), "application/json".into()),
        ];
        if let Some(t) = &self.triggered_at {
            h.push(("X-Shopify-Triggered-At".into(), t.clone()));
        }
        h
    }

    fn signed(&self) -> Vec<(String, String)> {
        self.headers(&WebhookSecret::new(SECRET).sign(&self.body))
    }

    /// Deliver it to the queue, as a web handler would.
    fn deliver(&self, queue: &WebhookQueue) -> Result<Got, WebhookError> {
        queue.receive(self.signed(), &self.body).map(|r| Got {
            outcome: r.outcome.as_str(),
            product_id: r.product_id(),
            collection_id: r.collection_id(),
            current_secret: r.webhook.verified.is_current(),
            payload: r.webhook.payload,
        })
    }
}

/// What the queue answered, copied out of its `Received`.
#[derive(Debug)]
struct Got {
    outcome: &'static str,
    product_id: Option<Gid<Product>>,
    collection_id: Option<Gid<Collection>>,
    current_secret: bool,
    payload: Option<WebhookPayload>,
}

impl Got {
    fn is_marked(&self) -> bool {
        self.outcome == "marked"
    }

    fn is_duplicate(&self) -> bool {
        self.outcome == "duplicate"
    }

    fn is_stale(&self) -> bool {
        self.outcome == "stale"
    }

    fn is_ignored(&self) -> bool {
        self.outcome == "ignored"
    }
}

/// The REST `products/update` (or `products/create`) body for a product.
fn rest_product(p: &Product) -> Value {
    json!({
        "admin_graphql_api_id": p.id.to_string(),
        "id": p.id.numeric_id(),
        "title": p.title,
        "handle": p.handle,
        "body_html": p.description_html,
        "vendor": p.vendor,
        "product_type": p.product_type,
        "status": "active",
        "published_scope": "web",
        "tags": p.tags.join(", "),
        "updated_at": p.updated_at,
        "variants": p.variants.iter().map(|v| json!({
            "admin_graphql_api_id": v.id.to_string(),
            "id": v.id.numeric_id(),
            "product_id": p.id.numeric_id(),
            "title": v.title,
            "sku": v.sku.clone().unwrap_or_default(),
            "price": v.price.map(|m| m.to_string()),
            "compare_at_price": v.compare_at_price.map(|m| m.to_string()),
        })).collect::<Vec<_>>(),
        "options": [],
        "images": [],
        "image": null,
    })
}

/// The REST `collections/update` body for a collection.
fn rest_collection(c: &Collection) -> Value {
    json!({
        "admin_graphql_api_id": c.id.to_string(),
        "id": c.id.numeric_id(),
        "handle": c.handle,
        "title": c.title,
        "updated_at": c.updated_at,
        "body_html": c.description_html,
        "published_at": "2026-01-01T00:00:00-05:00",
        "sort_order": "manual",
        "template_suffix": null,
        "published_scope": "web",
    })
}

fn update_of(shop: &str, p: &Product) -> Delivery {
    Delivery::new("products/update", rest_product(p), shop)
}

fn delete_of(shop: &str, id: Gid<Product>) -> Delivery {
    Delivery::new("products/delete", json!({"id": id.numeric_id()}), shop)
}

// ----- tests ---------------------------------------------------------------------------

#[tokio::test]
async fn an_update_delivery_re_reads_the_product_through_graphql() {
    let f = fixture(20).await;
    let before = stored_state(&f.engine).await;
    let all = products(&f.engine).await;
    let target = &all[3];
    let updated = f
        .engine
        .client()
        .product_update(json!({"id": target.id.to_string(), "title": "Renamed on Shopify"}))
        .await
        .unwrap();
    // The payload is only a signal: its (older) content is never what gets written.
    let mut payload = updated.clone();
    payload.title = "What the payload says".into();
    let r = update_of(f.sim.shop(), &payload).deliver(&f.queue).unwrap();
    assert!(r.is_marked(), "{:?}", r.outcome);
    assert_eq!(r.product_id, Some(target.id));
    assert!(r.current_secret);
    assert_eq!(f.queue.pending(), 1);

    let report = f.engine.refresh(&f.queue).await.unwrap();
    assert_eq!(report.products, 1);
    assert_eq!((report.collections, report.deleted), (0, 0));
    assert_eq!(f.queue.pending(), 0);
    let snap = remote_product(&f.engine, target.id).await.unwrap();
    assert_eq!(snap.title, "Renamed on Shopify");
    let after = stored_state(&f.engine).await;
    let key = target.id.to_string();
    assert_eq!(after[&key].updated_at, updated.updated_at);
    // Membership came with the re-read, unchanged.
    match &before[&key].snapshot {
        Snapshot::Product(p) => assert_eq!(snap.collections, p.collections),
        other => panic!("{other:?}"),
    }
    // Nothing else moved.
    for (k, s) in &before {
        if *k != key {
            assert_eq!(after.get(k), Some(s), "{k} was not refreshed");
        }
    }
    // An empty queue refreshes nothing and sends nothing.
    let requests = f.sim.stats().requests;
    let report = f.engine.refresh(&f.queue).await.unwrap();
    assert_eq!(report, Default::default());
    assert_eq!(f.sim.stats().requests, requests);
}

#[tokio::test]
async fn a_refresh_writes_exactly_what_a_listing_reads() {
    let f = fixture(20).await;
    let before = stored_state(&f.engine).await;
    for p in products(&f.engine).await {
        assert!(update_of(f.sim.shop(), &p)
            .deliver(&f.queue)
            .unwrap()
            .is_marked());
    }
    let c = f
        .engine
        .client()
        .collection(Gid::from_numeric_id(400_000_000_000).unwrap())
        .await
        .unwrap()
        .unwrap();
    Delivery::new("collections/update", rest_collection(&c), f.sim.shop())
        .deliver(&f.queue)
        .unwrap();
    assert_eq!(f.queue.pending(), 21);
    let report = f.engine.refresh(&f.queue).await.unwrap();
    assert_eq!((report.products, report.collections), (20, 1));
    assert_eq!(report.memberships, 0, "nothing changed on Shopify");
    assert_eq!(stored_state(&f.engine).await, before);
}

#[tokio::test]
async fn bad_signatures_are_refused_and_mark_nothing() {
    let f = fixture(5).await;
    let p = &products(&f.engine).await[0];
    let d = update_of(f.sim.shop(), p);
    let wrong = WebhookSecret::new("not-our-secret").sign(&d.body);
    let refusals = [
        f.queue.receive(d.headers(&wrong), &d.body),
        // Signed, then altered: the HMAC covers the raw bytes.
        f.queue
            .receive(d.signed(), &[&d.body[..d.body.len() - 1], b" }"].concat()),
        f.queue.receive(d.headers("bm90LWEtc2lnbmF0dXJl"), &d.body),
        f.queue.receive(d.headers("%%%"), &d.body),
        f.queue.receive(
            d.signed()
                .into_iter()
                .filter(|(k, _)| k != "X-Shopify-Hmac-Sha256"),
            &d.body,
        ),
    ];
    for r in refusals {
        let e = r.unwrap_err();
        assert_eq!(e.http_status(), 401, "{e}");
    }
    assert_eq!(f.queue.pending(), 0);
    assert!(f.queue.drain().is_empty());
    // A refused delivery is not remembered: Shopify's retry of it, correctly signed, is
    // processed.
    assert!(d.deliver(&f.queue).unwrap().is_marked());
    // During a secret rotation, the old secret still verifies.
    let d2 = update_of(f.sim.shop(), &products(&f.engine).await[1]);
    let old = WebhookSecret::new(OLD_SECRET).sign(&d2.body);
    let r = f.queue.receive(d2.headers(&old), &d2.body).unwrap();
    assert!(r.is_marked() && !r.webhook.verified.is_current());
    // Another shop's delivery, although signed with our secret (a public app), is not
    // ours.
    let d3 = update_of("another-shop.myshopify.com", &products(&f.engine).await[2]);
    assert_eq!(d3.deliver(&f.queue).unwrap_err().http_status(), 400);
    assert_eq!(f.queue.pending(), 2);
}

#[tokio::test]
async fn repeated_deliveries_are_deduplicated() {
    let f = fixture(5).await;
    let all = products(&f.engine).await;
    let d = update_of(f.sim.shop(), &all[0]);
    assert!(d.deliver(&f.queue).unwrap().is_marked());
    // Shopify's retry of the same delivery.
    let r = d.deliver(&f.queue).unwrap();
    assert!(r.is_duplicate(), "{:?}", r.outcome);
    // The same event for a second subscription: another webhook id, the same event id.
    let mut other_subscription = d.clone();
    other_subscription.webhook_id = "a-second-subscription".into();
    assert!(other_subscription.deliver(&f.queue).unwrap().is_duplicate());
    // A new event about the same product merges into the same mark.
    let later = update_of(f.sim.shop(), &all[0]).at(Some("2026-03-01T13:00:00Z"));
    assert!(later.deliver(&f.queue).unwrap().is_marked());
    assert_eq!(f.queue.pending(), 1);
    let report = f.engine.refresh(&f.queue).await.unwrap();
    assert_eq!((report.products, report.duplicates), (1, 2));
}

#[tokio::test]
async fn a_delete_delivery_removes_the_remote_snapshot() {
    let f = fixture(10).await;
    let before = stored_state(&f.engine).await;
    let all = products(&f.engine).await;
    let gone = all[2].id;
    f.engine.client().product_delete(gone).await.unwrap();
    let r = delete_of(f.sim.shop(), gone).deliver(&f.queue).unwrap();
    assert!(r.is_marked());
    assert_eq!(r.product_id, Some(gone));
    let report = f.engine.refresh(&f.queue).await.unwrap();
    assert_eq!((report.products, report.deleted), (0, 1));
    assert_eq!(remote_product(&f.engine, gone).await, None);
    let after = stored_state(&f.engine).await;
    assert_eq!(after.len(), before.len() - 1);
    for (k, s) in &after {
        assert_eq!(before.get(k), Some(s));
    }
}

#[tokio::test]
async fn a_late_update_never_resurrects_a_deleted_product() {
    let f = fixture(10).await;
    let shop = f.sim.shop().to_string();
    let all = products(&f.engine).await;
    let t1 = Some("2026-03-01T12:00:00Z");
    let t2 = Some("2026-03-01T12:00:09Z");

    // 1. The delete is delivered and refreshed; the older update arrives afterwards.
    let p = &all[0];
    let renamed = f
        .engine
        .client()
        .product_update(json!({"id": p.id.to_string(), "title": "Renamed, then deleted"}))
        .await
        .unwrap();
    let late_update = update_of(&shop, &renamed).at(t1);
    f.engine.client().product_delete(p.id).await.unwrap();
    assert!(delete_of(&shop, p.id)
        .at(t2)
        .deliver(&f.queue)
        .unwrap()
        .is_marked());
    let report = f.engine.refresh(&f.queue).await.unwrap();
    assert_eq!(report.deleted, 1);
    let r = late_update.deliver(&f.queue).unwrap();
    assert!(r.is_stale(), "{:?}", r.outcome);
    assert_eq!(f.queue.pending(), 0);
    let report = f.engine.refresh(&f.queue).await.unwrap();
    assert_eq!(report.stale, 1);
    assert_eq!((report.products, report.deleted), (0, 0));
    assert_eq!(remote_product(&f.engine, p.id).await, None);

    // 2. Both arrive before a refresh, the delete first: the mark stays a delete.
    let q = &all[1];
    f.engine.client().product_delete(q.id).await.unwrap();
    assert!(delete_of(&shop, q.id)
        .at(t2)
        .deliver(&f.queue)
        .unwrap()
        .is_marked());
    assert!(update_of(&shop, q)
        .at(t1)
        .deliver(&f.queue)
        .unwrap()
        .is_stale());
    let dirty = f.queue.drain();
    assert!(dirty.products[&q.id].deleted);
    assert_eq!(dirty.products[&q.id].deliveries, 1);
    f.queue.requeue(dirty);
    let report = f.engine.refresh(&f.queue).await.unwrap();
    assert_eq!((report.products, report.deleted, report.stale), (0, 1, 1));
    assert_eq!(remote_product(&f.engine, q.id).await, None);

    // 3. A late update that cannot be ordered (no X-Shopify-Triggered-At) marks the
    //    product, and the re-read decides: still gone.
    let r = update_of(&shop, &renamed)
        .at(None)
        .deliver(&f.queue)
        .unwrap();
    assert!(r.is_marked());
    let report = f.engine.refresh(&f.queue).await.unwrap();
    assert_eq!((report.products, report.deleted), (0, 1));
    assert_eq!(remote_product(&f.engine, p.id).await, None);

    // 4. In order (update, then delete), both mark, and the product is gone.
    let s = &all[2];
    assert!(update_of(&shop, s)
        .at(t1)
        .deliver(&f.queue)
        .unwrap()
        .is_marked());
    f.engine.client().product_delete(s.id).await.unwrap();
    assert!(delete_of(&shop, s.id)
        .at(t2)
        .deliver(&f.queue)
        .unwrap()
        .is_marked());
    assert_eq!(f.queue.pending(), 1);
    let report = f.engine.refresh(&f.queue).await.unwrap();
    assert_eq!(report.deleted, 1);
    assert_eq!(remote_product(&f.engine, s.id).await, None);
    // The untouched products are all still there.
    assert!(remote_product(&f.engine, all[3].id).await.is_some());
}

#[tokio::test]
async fn a_product_created_on_shopify_is_new_remote_data() {
    let f = fixture(5).await;
    let created = f
        .engine
        .client()
        .product_create(json!({"title": "Made in the admin", "vendor": "Acme", "tags": ["new"]}))
        .await
        .unwrap();
    assert_eq!(remote_product(&f.engine, created.id).await, None);
    Delivery::new("products/create", rest_product(&created), f.sim.shop())
        .deliver(&f.queue)
        .unwrap();
    let report = f.engine.refresh(&f.queue).await.unwrap();
    assert_eq!(report.products, 1);
    let snap = remote_product(&f.engine, created.id).await.unwrap();
    assert_eq!(snap, ProductSnapshot::from_product(&created));
}

/// The first custom collection with at least one member, one member and one product
/// that is not a member.
async fn custom_collection(f: &Fixture) -> (Collection, Gid<Product>, Gid<Product>) {
    let client = f.engine.client();
    let all = products(&f.engine).await;
    let collections: Vec<Collection> = client.collections(None).try_collect().await.unwrap();
    for c in collections.into_iter().filter(|c| c.rule_set.is_none()) {
        let members: Vec<Gid<Product>> = client
            .collection_product_ids(c.id)
            .try_collect()
            .await
            .unwrap();
        let outsider = all.iter().map(|p| p.id).find(|id| !members.contains(id));
        if let (Some(member), Some(outsider)) = (members.first(), outsider) {
            return (c, *member, outsider);
        }
    }
    panic!("the generated catalog has a custom collection with members");
}

#[tokio::test]
async fn a_collection_update_refreshes_the_collection_and_its_membership() {
    let f = fixture(20).await;
    let before = stored_state(&f.engine).await;
    let (c, leaver, joiner) = custom_collection(&f).await;
    let client = f.engine.client();
    let renamed = client
        .collection_update(json!({"id": c.id.to_string(), "title": "Renamed collection"}))
        .await
        .unwrap();
    client
        .collection_add_products(c.id, &[joiner])
        .await
        .unwrap();
    client
        .collection_remove_products(c.id, &[leaver])
        .await
        .unwrap();

    let r = Delivery::new(
        "collections/update",
        rest_collection(&renamed),
        f.sim.shop(),
    )
    .deliver(&f.queue)
    .unwrap();
    assert!(r.is_marked());
    assert_eq!(r.collection_id, Some(c.id));
    let report = f.engine.refresh(&f.queue).await.unwrap();
    assert_eq!(report.collections, 1);
    assert_eq!(report.memberships, 2, "one product joined, one left");
    assert_eq!(report.products, 0);

    let after = stored_state(&f.engine).await;
    match &after[&c.id.to_string()].snapshot {
        Snapshot::Collection(s) => assert_eq!(s.title, "Renamed collection"),
        other => panic!("{other:?}"),
    }
    assert!(remote_product(&f.engine, joiner)
        .await
        .unwrap()
        .collections
        .contains(&c.id));
    assert!(!remote_product(&f.engine, leaver)
        .await
        .unwrap()
        .collections
        .contains(&c.id));
    // Membership is not a product edit: the products' updatedAt stays as read.
    for id in [joiner, leaver] {
        let key = id.to_string();
        assert_eq!(after[&key].updated_at, before[&key].updated_at);
    }
    // And the store now holds what a fresh listing reads.
    assert_eq!(after, remote_state(client).await);
}

#[tokio::test]
async fn a_collection_delete_removes_it_from_every_product() {
    let f = fixture(20).await;
    let (c, _, _) = custom_collection(&f).await;
    let members: Vec<Gid<Product>> = f
        .engine
        .client()
        .collection_product_ids(c.id)
        .try_collect()
        .await
        .unwrap();
    f.engine.client().collection_delete(c.id).await.unwrap();
    let r = Delivery::new(
        "collections/delete",
        json!({"id": c.id.numeric_id(), "published_scope": "web"}),
        f.sim.shop(),
    )
    .deliver(&f.queue)
    .unwrap();
    assert!(r.is_marked());
    let report = f.engine.refresh(&f.queue).await.unwrap();
    assert_eq!((report.collections, report.deleted), (0, 1));
    assert_eq!(report.memberships, members.len() as u64);
    let after = stored_state(&f.engine).await;
    assert!(!after.contains_key(&c.id.to_string()));
    for s in after.values() {
        if let Snapshot::Product(p) = &s.snapshot {
            assert!(!p.collections.contains(&c.id));
        }
    }
    assert_eq!(after, remote_state(f.engine.client()).await);
}

#[tokio::test]
async fn other_topics_are_accepted_and_ignored() {
    let f = fixture(3).await;
    let bulk = Delivery::new(
        "bulk_operations/finish",
        json!({"admin_graphql_api_id": "gid://shopify/BulkOperation/1", "status": "completed",
               "type": "query", "error_code": null, "completed_at": "2026-03-01T12:00:00Z",
               "created_at": "2026-03-01T11:59:00Z"}),
        f.sim.shop(),
    );
    let r = bulk.deliver(&f.queue).unwrap();
    assert!(r.is_ignored(), "{:?}", r.outcome);
    assert!(r.payload.is_some(), "the caller gets the payload to act on");
    let r = Delivery::new("app/uninstalled", json!({"id": 1}), f.sim.shop())
        .deliver(&f.queue)
        .unwrap();
    assert!(r.is_ignored());
    assert_eq!(r.payload, None);
    assert_eq!(f.queue.pending(), 0);
    let report = f.engine.refresh(&f.queue).await.unwrap();
    assert_eq!(report.ignored, 2);
    assert_eq!(report.products + report.collections + report.deleted, 0);
}

#[tokio::test]
async fn a_failed_refresh_loses_nothing() {
    let f = fixture(60).await;
    let all = products(&f.engine).await;
    for p in &all {
        let renamed = f
            .engine
            .client()
            .product_update(json!({"id": p.id.to_string(), "title": format!("{} v2", p.title)}))
            .await
            .unwrap();
        update_of(f.sim.shop(), &renamed).deliver(&f.queue).unwrap();
    }
    let c = f
        .engine
        .client()
        .collection(Gid::from_numeric_id(400_000_000_001).unwrap())
        .await
        .unwrap()
        .unwrap();
    Delivery::new("collections/update", rest_collection(&c), f.sim.shop())
        .deliver(&f.queue)
        .unwrap();
    assert_eq!(f.queue.pending(), 61);

    // The first batch of 50 products is read (five requests of ten) and written; the
    // next read fails past the client's retries.
    let ok = || Fault::Stall { ms: 0 };
    let down = || Fault::Status {
        status: 503,
        body: String::new(),
        retry_after: None,
    };
    f.sim.inject([ok(), ok(), ok(), ok(), ok(), down(), down()]);
    let e = f.engine.refresh(&f.queue).await.unwrap_err();
    assert!(!e.is_retryable(), "{e:?}");
    let written = {
        let mut n = 0;
        for p in &all {
            let snap = remote_product(&f.engine, p.id).await.unwrap();
            if snap.title.ends_with(" v2") {
                n += 1;
            }
        }
        n
    };
    assert_eq!(written, 50, "the first batch was committed");
    assert_eq!(f.queue.pending(), 61 - written, "the rest is queued again");

    // The next refresh finishes the job.
    let report = f.engine.refresh(&f.queue).await.unwrap();
    assert_eq!((report.products, report.collections), (10, 1));
    for p in &all {
        let snap = remote_product(&f.engine, p.id).await.unwrap();
        assert!(snap.title.ends_with(" v2"), "{}", snap.title);
    }
    assert_eq!(f.queue.pending(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deliveries_from_handler_threads_while_refreshing() {
    let f = fixture(20).await;
    let all = products(&f.engine).await;
    let mut deliveries = Vec::new();
    for p in &all {
        let renamed = f
            .engine
            .client()
            .product_update(
                json!({"id": p.id.to_string(), "title": format!("{} (threads)", p.title)}),
            )
            .await
            .unwrap();
        deliveries.push(update_of(f.sim.shop(), &renamed));
    }
    let queue = Arc::new(f.queue);
    let handlers: Vec<_> = deliveries
        .chunks(5)
        .map(|chunk| {
            let queue = queue.clone();
            let chunk = chunk.to_vec();
            std::thread::spawn(move || {
                for d in chunk {
                    assert!(d.deliver(&queue).unwrap().is_marked());
                    // Every delivery twice: another subscription's copy.
                    assert!(d.deliver(&queue).unwrap().is_duplicate());
                    std::thread::sleep(Duration::from_millis(2));
                }
            })
        })
        .collect();
    let mut refreshed = 0;
    let mut duplicates = 0;
    while handlers.iter().any(|h| !h.is_finished()) || queue.pending() > 0 {
        let report = f.engine.refresh(&queue).await.unwrap();
        refreshed += report.products;
        duplicates += report.duplicates;
        tokio::time::sleep(Duration::from_millis(3)).await;
    }
    for h in handlers {
        h.join().unwrap();
    }
    let report = f.engine.refresh(&queue).await.unwrap();
    refreshed += report.products;
    duplicates += report.duplicates;
    assert_eq!(duplicates, 20);
    assert!(refreshed >= 20);
    for p in &all {
        let snap = remote_product(&f.engine, p.id).await.unwrap();
        assert!(snap.title.ends_with(" (threads)"), "{}", snap.title);
    }
}

#[tokio::test]
async fn a_refresh_dropped_midway_puts_its_marks_back() {
    let f = fixture(5).await;
    let all = products(&f.engine).await;
    for p in &all[..3] {
        update_of(f.sim.shop(), p).deliver(&f.queue).unwrap();
    }
    f.queue
        .mark_collection(Gid::from_numeric_id(400_000_000_000).unwrap());
    // The first read hangs; the caller gives up on the refresh.
    f.sim.inject([Fault::Stall { ms: 1_500 }]);
    let timed_out =
        tokio::time::timeout(Duration::from_millis(200), f.engine.refresh(&f.queue)).await;
    assert!(timed_out.is_err());
    assert_eq!(f.queue.pending(), 4, "nothing taken is lost");
    let report = f.engine.refresh(&f.queue).await.unwrap();
    assert_eq!((report.products, report.collections), (3, 1));
    assert_eq!(f.queue.pending(), 0);
}
