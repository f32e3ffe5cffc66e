//! The sync engine's apply against the simulator over real HTTP: approved changes are
//! written once, conflicts and stale changes are not, and the store's journal, base
//! snapshots and audit trail follow.
mod support;

use support::*;

use futures::TryStreamExt;
use serde_json::json;
use shopify_sync::model::{Gid, Product};
use shopify_sync::staging::store::{ChangeStore, MemoryStore, SnapshotSide};
use shopify_sync::staging::{
    AuditQuery, ChangeFilter, ChangeState, FieldMask, Operation, ProductSnapshot, Record, Review,
    Snapshot,
};
use shopify_sync::sync::{
    ApplyOptions, CancelApply, CreateIdentifier, LocalCatalog, PullMode, SyncConfig, SyncEngine,
    WriteMode,
};
use shopify_sync_sim::SimConfig;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

#[tokio::test]
async fn approved_changes_are_written_once_conflicts_and_stale_ones_are_not() {
    let sim = sim(40, 6).await;
    let c = client(&sim);
    let store: Arc<dyn ChangeStore> = Arc::new(MemoryStore::new());
    let engine = SyncEngine::new(c.clone(), store.clone());
    engine.pull(PullMode::Paginated).await.unwrap();
    let mut local = local_from_remote(store.as_ref()).await;
    assert_eq!(local.len(), 40);
    let adopted = engine
        .baseline(&catalog(&local), FieldMask::ALL)
        .await
        .unwrap();
    assert_eq!(adopted, 40);

    let keys: Vec<String> = local.keys().cloned().collect();
    let gids: BTreeMap<String, Gid<Product>> = local
        .iter()
        .map(|(k, r)| (k.clone(), r.shopify_id.unwrap()))
        .collect();
    let gid = |k: &str| gids[k];
    // Local edits: a price, a title, a removed variant, a new product, a membership.
    let (priced, titled, trimmed, conflicted, staled) =
        (&keys[0], &keys[1], &keys[2], &keys[3], &keys[4]);
    let r = local.get_mut(priced).unwrap();
    for v in &mut r.snapshot.variants {
        v.price = Some("123.45".parse().unwrap());
    }
    local.get_mut(titled).unwrap().snapshot.title = "Renamed locally".into();
    let before_trim = local[trimmed].snapshot.variants.len();
    let trimmed_has_two = before_trim >= 2;
    if trimmed_has_two {
        local.get_mut(trimmed).unwrap().snapshot.variants.pop();
    }
    local.get_mut(conflicted).unwrap().snapshot.title = "Ours".into();
    local.get_mut(staled).unwrap().snapshot.title = "Ours too".into();
    let new: ProductSnapshot = serde_json::from_value(json!({
        "title": "Brand new tee", "handle": "brand-new-tee", "vendor": "In-house",
        "status": "ACTIVE", "tags": ["new"],
        "options": [{"name": "Size", "values": ["S", "M"]}],
        "variants": [
            {"price": "10.00", "sku": "BNT-S", "option_values": [{"name": "Size", "value": "S"}]},
            {"price": "11.00", "sku": "BNT-M", "option_values": [{"name": "Size", "value": "M"}]}
        ]
    }))
    .unwrap();
    local.insert("NEW-1".into(), Record::new_local("NEW-1", new));
    // Membership: add the priced product to a custom collection it is not in.
    let custom: Vec<_> = c
        .collections(None)
        .try_collect::<Vec<_>>()
        .await
        .unwrap()
        .into_iter()
        .filter(|c| !c.is_smart())
        .collect();
    let target = custom
        .iter()
        .find(|col| !local[priced].snapshot.collections.contains(&col.id))
        .expect("a custom collection without the product")
        .id;
    local
        .get_mut(priced)
        .unwrap()
        .snapshot
        .collections
        .push(target);

    // The merchant edits the conflicted product's title in Shopify before the pull.
    sim.edit_product(
        gid(conflicted).numeric_id(),
        json!({"title": "Theirs"}).as_object().unwrap(),
    )
    .unwrap();
    engine.pull(PullMode::Paginated).await.unwrap();
    let plan = engine.plan(&catalog(&local), FieldMask::ALL).await.unwrap();
    let conflicts: Vec<_> = plan.changes.iter().filter(|c| c.has_conflict()).collect();
    assert_eq!(conflicts.len(), 1, "{:#?}", plan.summary());
    assert!(conflicts[0].target.is(&gid(conflicted).to_string()));

    let by = Review::now("ana");
    let approved = store
        .approve(&ChangeFilter::default().plan(&plan.id), &by)
        .await
        .unwrap();
    assert_eq!(approved.changed.len(), plan.changes.len() - 1);
    // After review, the merchant edits the staled product's title: the change is stale.
    sim.edit_product(
        gid(staled).numeric_id(),
        json!({"title": "Theirs, later"}).as_object().unwrap(),
    )
    .unwrap();

    let report = engine
        .apply(&ChangeFilter::default().plan(&plan.id))
        .await
        .unwrap();
    assert_eq!(report.stale, 1, "{report:?}");
    assert_eq!(report.failed, 0, "{report:?}");
    assert_eq!(report.applied as usize, approved.changed.len() - 1);
    assert_eq!(report.created.len(), 1);
    assert_eq!(report.created[0].local_id.as_deref(), Some("NEW-1"));

    // Shopify holds the intent.
    let read = |id: Gid<Product>| {
        let c = c.clone();
        async move { c.product(id).await.unwrap().unwrap() }
    };
    let p = read(gid(priced)).await;
    assert!(p
        .variants
        .iter()
        .all(|v| v.price.map(|m| m.to_string()).as_deref() == Some("123.45")));
    assert_eq!(read(gid(titled)).await.title, "Renamed locally");
    if trimmed_has_two {
        assert_eq!(read(gid(trimmed)).await.variants.len(), before_trim - 1);
    }
    assert_eq!(read(gid(conflicted)).await.title, "Theirs");
    assert_eq!(read(gid(staled)).await.title, "Theirs, later");
    let created: Gid<Product> = Gid::parse(&report.created[0].shopify_id).unwrap();
    let p = read(created).await;
    assert_eq!(p.handle, "brand-new-tee");
    assert_eq!(p.variants.len(), 2);
    assert_eq!(
        c.products_count(Some("handle:brand-new-tee"))
            .await
            .unwrap(),
        1
    );
    let members: Vec<Gid<Product>> = c
        .collection_product_ids(target)
        .try_collect()
        .await
        .unwrap();
    assert!(members.contains(&gid(priced)));

    // The journal: every approved change ended, the stale one with its reason.
    let ended = store
        .changes(&ChangeFilter::default().plan(&plan.id))
        .await
        .unwrap();
    for ch in &ended {
        if ch.has_conflict() {
            assert_eq!(ch.state, ChangeState::Staged);
        } else if ch.target.is(&gid(staled).to_string()) {
            assert_eq!(ch.state, ChangeState::Stale);
            let why = ch.result.as_ref().unwrap().message.clone().unwrap();
            assert!(why.contains("title"), "{why}");
        } else {
            assert_eq!(ch.state, ChangeState::Applied, "{ch:#?}");
        }
    }
    let trail = store
        .audit(&AuditQuery::default().target("NEW-1"))
        .await
        .unwrap();
    let actions: Vec<&str> = trail.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["planned", "approved", "applying", "applied"]);
    assert!(store.in_flight().await.unwrap().is_empty());

    // The new product's base carries its local id: planned again with the caller's
    // record still lacking the gid, nothing is created twice; and every applied change
    // now agrees on all three sides.
    engine.pull(PullMode::Paginated).await.unwrap();
    let again = engine.plan(&catalog(&local), FieldMask::ALL).await.unwrap();
    let left: Vec<(Operation, String)> = again
        .changes
        .iter()
        .map(|c| (c.operation, format!("{} {:?}", c.target, c.rows)))
        .collect();
    assert_eq!(left.len(), 2, "{left:#?}");
    assert!(again.changes.iter().all(|c| c.has_conflict()), "{left:#?}");

    // Applying again writes nothing.
    let before = sim.stats().requests;
    let report = engine
        .apply(&ChangeFilter::default().plan(&plan.id))
        .await
        .unwrap();
    assert_eq!((report.applied, report.stale, report.failed), (0, 0, 0));
    assert!(sim.stats().requests - before <= 1);
}

/// Forced bulk mode: product updates go through one bulk mutation of `productSet`s
/// (the guard reading versions by bulk query); creates and membership stay direct.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_mode_writes_updates_through_one_bulk_mutation() {
    let sim = sim(60, 4).await;
    let c = client(&sim);
    let store: Arc<dyn ChangeStore> = Arc::new(MemoryStore::new());
    let config = SyncConfig {
        write_mode: WriteMode::Bulk,
        ..SyncConfig::default()
    };
    let engine = SyncEngine::new(c.clone(), store.clone()).with_config(config);
    let mut local = adopt(&engine, store.as_ref()).await;
    let keys: Vec<String> = local.keys().cloned().collect();
    for k in &keys[..30] {
        let r = local.get_mut(k).unwrap();
        r.snapshot.title = format!("{} (bulk)", r.snapshot.title);
        for v in &mut r.snapshot.variants {
            v.price = Some("8.88".parse().unwrap());
        }
    }
    let trimmed = keys[30..]
        .iter()
        .find(|k| local[*k].snapshot.variants.len() >= 2)
        .cloned()
        .unwrap();
    let before = local[&trimmed].snapshot.variants.len();
    local.get_mut(&trimmed).unwrap().snapshot.variants.pop();
    let new: ProductSnapshot =
        serde_json::from_value(json!({"title": "Bulk-era tee", "handle": "bulk-era-tee"})).unwrap();
    local.insert("NEW".into(), Record::new_local("NEW", new));
    // A variant added to a one-option product: its id is learned from the bulk results.
    let grown = keys[30..]
        .iter()
        .find(|k| *k != &trimmed && local[*k].snapshot.options.len() == 1)
        .cloned()
        .expect("a product with one option");
    {
        let p = &mut local.get_mut(&grown).unwrap().snapshot;
        let name = p.options[0].name.clone();
        p.options[0].values.push("Bulk-new".into());
        p.variants.push(
            serde_json::from_value(json!({
                "price": "3.00", "option_values": [{"name": name, "value": "Bulk-new"}]
            }))
            .unwrap(),
        );
    }
    // The merchant moves one reviewed title after approval: stale, not overwritten.
    let plan = engine.plan(&catalog(&local), FieldMask::ALL).await.unwrap();
    store
        .approve(&ChangeFilter::default().plan(&plan.id), &Review::now("ana"))
        .await
        .unwrap();
    let moved = local[&keys[0]].shopify_id.unwrap();
    sim.edit_product(
        moved.numeric_id(),
        json!({"title": "Merchant's"}).as_object().unwrap(),
    )
    .unwrap();

    let report = engine
        .apply(&ChangeFilter::default().plan(&plan.id))
        .await
        .unwrap();
    // 30 titles + 30 price changes + 1 variant removal + 2 for the added variant (its
    // option value, the variant) + 1 create; one title stale.
    assert_eq!(report.failed, 0, "{report:?}");
    assert_eq!(report.stale, 1, "{report:?}");
    assert_eq!(report.applied, 30 + 30 + 1 + 2 + 1 - 1);
    let mutations: Vec<_> = sim
        .bulk_operations()
        .into_iter()
        .filter(|op| op.kind == shopify_sync_sim::bulk::BulkKind::Mutation)
        .collect();
    assert_eq!(mutations.len(), 1, "{mutations:?}");

    let products: BTreeMap<Gid<Product>, Product> = c
        .products(Default::default())
        .try_collect::<Vec<_>>()
        .await
        .unwrap()
        .into_iter()
        .map(|p| (p.id, p))
        .collect();
    assert_eq!(products[&moved].title, "Merchant's");
    for k in &keys[1..30] {
        let p = &products[&local[k].shopify_id.unwrap()];
        assert_eq!(p.title, local[k].snapshot.title);
        assert!(p
            .variants
            .iter()
            .all(|v| v.price.map(|m| m.to_string()).as_deref() == Some("8.88")));
    }
    assert_eq!(
        products[&local[&trimmed].shopify_id.unwrap()]
            .variants
            .len(),
        before - 1
    );
    assert_eq!(
        products
            .values()
            .filter(|p| p.handle == "bulk-era-tee")
            .count(),
        1
    );
    // The stored snapshots hold Shopify's state, new variant ids included, before any
    // pull: planned now, the grown product has nothing left to write.
    let grown_id = local[&grown].shopify_id.unwrap();
    let shopify_variant = products[&grown_id]
        .variants
        .iter()
        .find(|v| v.selected_options.iter().any(|o| o.value == "Bulk-new"))
        .expect("the new variant on Shopify")
        .id;
    for side in [SnapshotSide::Remote, SnapshotSide::Base] {
        let stored = store
            .snapshot(side, &grown_id.to_string())
            .await
            .unwrap()
            .unwrap();
        let Snapshot::Product(p) = stored.snapshot else {
            panic!("a product")
        };
        assert!(
            p.variants.iter().any(|v| v.id == Some(shopify_variant)),
            "{side:?} knows the new variant's id"
        );
    }
    let before_pull = engine.plan(&catalog(&local), FieldMask::ALL).await.unwrap();
    assert!(
        !before_pull
            .changes
            .iter()
            .any(|c| c.target.is(&grown_id.to_string())),
        "{:#?}",
        before_pull.changes
    );
    // Planned again, only the stale title's conflict is left.
    engine.pull(PullMode::Paginated).await.unwrap();
    let again = engine.plan(&catalog(&local), FieldMask::ALL).await.unwrap();
    assert_eq!(again.changes.len(), 1, "{:#?}", again.summary());
    assert!(again.changes[0].has_conflict());
}

/// New products are published to the configured publications; a publication that
/// does not exist leaves the create applied (the product exists) with the reason.
#[tokio::test]
async fn creates_are_published_to_the_configured_publications() {
    let sim = sim(5, 1).await;
    let c = client(&sim);
    let store: Arc<dyn ChangeStore> = Arc::new(MemoryStore::new());
    let config = SyncConfig {
        publications: vec![
            "gid://shopify/Publication/1".into(),
            "gid://shopify/Publication/2".into(),
        ],
        ..SyncConfig::default()
    };
    let engine = SyncEngine::new(c.clone(), store.clone()).with_config(config.clone());
    engine.pull(PullMode::Paginated).await.unwrap();
    let snap = |handle: &str| -> ProductSnapshot {
        serde_json::from_value(json!({"title": handle, "handle": handle})).unwrap()
    };
    let local = LocalCatalog {
        products: vec![Record::new_local("A", snap("published-a"))],
        ..LocalCatalog::default()
    };
    let plan = engine.plan(&local, FieldMask::ALL).await.unwrap();
    store
        .approve(&ChangeFilter::default().plan(&plan.id), &Review::now("ana"))
        .await
        .unwrap();
    let report = engine.apply(&ChangeFilter::default()).await.unwrap();
    assert_eq!(report.applied, 1);
    let id: Gid<Product> = Gid::parse(&report.created[0].shopify_id).unwrap();
    assert_eq!(
        sim.product_publications(id.numeric_id()),
        ["gid://shopify/Publication/1", "gid://shopify/Publication/2"]
    );

    let engine = SyncEngine::new(c.clone(), store.clone()).with_config(SyncConfig {
        publications: vec!["gid://shopify/Publication/999".into()],
        ..config
    });
    let local = LocalCatalog {
        products: vec![Record::new_local("B", snap("published-b"))],
        ..LocalCatalog::default()
    };
    let plan = engine.plan(&local, FieldMask::ALL).await.unwrap();
    store
        .approve(&ChangeFilter::default().plan(&plan.id), &Review::now("ana"))
        .await
        .unwrap();
    let report = engine.apply(&ChangeFilter::default()).await.unwrap();
    assert_eq!((report.applied, report.failed), (1, 0));
    let change = store
        .changes(&ChangeFilter::default().plan(&plan.id))
        .await
        .unwrap()
        .remove(0);
    assert_eq!(change.state, ChangeState::Applied);
    let why = change.result.unwrap().message.unwrap();
    assert!(why.contains("Publication does not exist"), "{why}");
}

/// Cancelling an apply drops its queued writes and records the running ones; dropping
/// the apply's future leaves changes `applying` that the next apply reconciles. Either
/// way every change ends applied exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_or_dropped_apply_leaves_the_journal_consistent() {
    let sim = sim_with(
        80,
        2,
        SimConfig {
            bucket_size: 300.0,
            restore_rate: 100.0,
            ..SimConfig::default()
        },
    )
    .await;
    let c = client(&sim);
    let store: Arc<dyn ChangeStore> = Arc::new(MemoryStore::new());
    let engine = SyncEngine::new(c.clone(), store.clone()).with_config(SyncConfig {
        guard_batch: 4,
        ..SyncConfig::default()
    });
    engine.pull(PullMode::Paginated).await.unwrap();
    let mut local = local_from_remote(store.as_ref()).await;
    engine
        .baseline(&catalog(&local), FieldMask::ALL)
        .await
        .unwrap();
    for r in local.values_mut().take(60) {
        r.snapshot.title = format!("{} (cancel-proof)", r.snapshot.title);
    }
    let plan = engine.plan(&catalog(&local), FieldMask::ALL).await.unwrap();
    store
        .approve(&ChangeFilter::default().plan(&plan.id), &Review::now("ana"))
        .await
        .unwrap();
    let count = |state: ChangeState| {
        let store = store.clone();
        async move {
            store
                .changes(&ChangeFilter::default().state(state))
                .await
                .unwrap()
                .len()
        }
    };

    let cancel = CancelApply::new();
    let running = {
        let (engine, cancel) = (engine.clone(), cancel.clone());
        tokio::spawn(async move {
            engine
                .apply_with(
                    &ChangeFilter::default(),
                    ApplyOptions::default().cancel(cancel),
                )
                .await
        })
    };
    // Cancel once the first write is recorded.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while count(ChangeState::Applied).await == 0 {
        assert!(std::time::Instant::now() < deadline, "no write recorded");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    cancel.cancel();
    let report = running.await.unwrap().unwrap();
    let left = count(ChangeState::Approved).await;
    assert!(report.applied > 0 && left > 0, "{report:?}, {left} left");
    assert_eq!(report.applied as usize + left, 60);
    assert_eq!(count(ChangeState::Applying).await, 0);

    // Dropped midway: whatever it took stays applying, for the next apply.
    let dropped = tokio::time::timeout(
        Duration::from_millis(300),
        engine.apply(&ChangeFilter::default()),
    )
    .await;
    assert!(dropped.is_err(), "the apply was still running");
    let report = engine.apply(&ChangeFilter::default()).await.unwrap();
    assert_eq!((report.stale, report.failed), (0, 0), "{report:?}");
    assert_eq!(count(ChangeState::Applied).await, 60);
    let products: Vec<Product> = c.products(Default::default()).try_collect().await.unwrap();
    let edited = products
        .iter()
        .filter(|p| p.title.ends_with("(cancel-proof)"))
        .count();
    assert_eq!(edited, 60);
    assert!(products
        .iter()
        .all(|p| !p.title.ends_with("(cancel-proof) (cancel-proof)")));
}

/// Creates named by a custom id: the engine defines the metafield once, a create whose
/// response is lost is retried without a duplicate, and the product carries the id.
#[tokio::test]
async fn custom_id_creates_define_the_metafield_and_never_duplicate() {
    use shopify_sync_sim::faults::Fault;
    let sim = sim(3, 1).await;
    let c = client(&sim);
    let store: Arc<dyn ChangeStore> = Arc::new(MemoryStore::new());
    let engine = SyncEngine::new(c.clone(), store.clone()).with_config(SyncConfig {
        create_identifier: CreateIdentifier::custom_id("shopify_sync", "local_id"),
        ..SyncConfig::default()
    });
    engine.pull(PullMode::Paginated).await.unwrap();
    let snap = |title: &str| -> ProductSnapshot {
        serde_json::from_value(json!({"title": title})).unwrap()
    };
    let mut local = Local::new();
    local.insert("A-1".into(), Record::new_local("A-1", snap("Alpha")));
    let plan = engine.plan(&catalog(&local), FieldMask::ALL).await.unwrap();
    store
        .approve(&ChangeFilter::default().plan(&plan.id), &Review::now("ana"))
        .await
        .unwrap();
    let report = engine.apply(&ChangeFilter::default()).await.unwrap();
    assert_eq!(report.applied, 1, "{report:?}");

    // The second create's productSet runs but its response is lost (after a lookup
    // that passes untouched): the client retries by custom id, no duplicate.
    local.insert("B-2".into(), Record::new_local("B-2", snap("Beta")));
    let plan = engine.plan(&catalog(&local), FieldMask::ALL).await.unwrap();
    store
        .approve(&ChangeFilter::default().plan(&plan.id), &Review::now("ana"))
        .await
        .unwrap();
    sim.inject([Fault::Stall { ms: 0 }, Fault::AfterExecute { status: 502 }]);
    let report = engine.apply(&ChangeFilter::default()).await.unwrap();
    assert_eq!((report.applied, report.failed), (1, 0), "{report:?}");
    assert!(sim.fault_log().iter().any(|f| f.executed));

    let q = "{ metafieldDefinitions(first: 5, ownerType: PRODUCT) { nodes { namespace key type { name } } }
      products(first: 10, query: \"title:Beta\") { nodes { id metafield(namespace: \"shopify_sync\", key: \"local_id\") { value } } } }";
    let resp = c.graphql(q, json!({})).await.unwrap();
    assert_eq!(
        resp.data["metafieldDefinitions"]["nodes"],
        json!([{"namespace": "shopify_sync", "key": "local_id", "type": {"name": "id"}}])
    );
    let betas = resp.data["products"]["nodes"].as_array().unwrap();
    assert_eq!(betas.len(), 1, "{betas:?}");
    assert_eq!(betas[0]["metafield"]["value"], "B-2");
    assert_eq!(c.products_count(None).await.unwrap(), 5);
}

/// Shopify gives a product created without options its stand-in option (`Title:
/// Default Title`); the product must read back as it was written, so that it is
/// `synced` and a later price edit updates its one variant in place.
#[tokio::test]
async fn a_product_created_without_options_stays_synced_and_its_variant_is_updated_in_place() {
    use shopify_sync::staging::{Field, PlanId};
    use shopify_sync::status::SyncState;

    let sim = sim(3, 1).await;
    let c = client(&sim);
    let store: Arc<dyn ChangeStore> = Arc::new(MemoryStore::new());
    let engine = SyncEngine::new(c.clone(), store.clone());
    let mut local = adopt(&engine, store.as_ref()).await;
    // The merchant's mask: content, not the status or the inventory policy.
    fn content() -> FieldMask {
        FieldMask::of(&[
            Field::Title,
            Field::Handle,
            Field::Options,
            Field::VariantPrice,
            Field::VariantSku,
            Field::VariantOptionValues,
        ])
    }
    let mask = content();
    let plain: ProductSnapshot = serde_json::from_value(json!({
        "title": "Plain mug", "handle": "plain-mug", "variants": [{"price": "5.00"}]
    }))
    .unwrap();
    local.insert("NEW".into(), Record::new_local("NEW", plain));
    let apply_all = |plan_id: PlanId| {
        let (engine, store) = (&engine, store.clone());
        async move {
            let filter = ChangeFilter::default().plan(&plan_id);
            store.approve(&filter, &Review::now("ana")).await.unwrap();
            engine.apply(&filter).await.unwrap()
        }
    };
    let plan = engine.plan(&catalog(&local), mask).await.unwrap();
    assert_eq!(plan.changes.len(), 1);
    let report = apply_all(plan.id.clone()).await;
    assert_eq!(report.applied, 1);
    let created: Gid<Product> = Gid::parse(&report.created[0].shopify_id).unwrap();
    local.get_mut("NEW").unwrap().shopify_id = Some(created);

    // What Shopify holds: its stand-in option.
    let product = c.product(created).await.unwrap().unwrap();
    assert_eq!(product.options.len(), 1);
    assert_eq!(product.options[0].name, "Title");
    let variant = product.variants[0].id;
    let mapped: Vec<_> = report.created[0].variants.iter().map(|v| v.id).collect();
    assert_eq!(mapped, [variant], "the created variant's id is reported");

    async fn state(engine: &SyncEngine, local: &Local) -> SyncState {
        let records = [local["NEW"].clone()];
        engine.statuses(&records, content()).await.unwrap()[0].state()
    }
    assert_eq!(state(&engine, &local).await, SyncState::Synced);
    engine.pull(PullMode::Paginated).await.unwrap();
    assert_eq!(state(&engine, &local).await, SyncState::Synced);
    let again = engine.plan(&catalog(&local), mask).await.unwrap();
    assert!(
        again.changes.is_empty() && again.incoming.is_empty(),
        "{:#?}",
        again.summary()
    );

    // A price edit on the variant the merchant never saw an id for.
    local.get_mut("NEW").unwrap().snapshot.variants[0].price = Some("7.00".parse().unwrap());
    let plan = engine.plan(&catalog(&local), mask).await.unwrap();
    let operations: Vec<Operation> = plan.changes.iter().map(|c| c.operation).collect();
    assert_eq!(operations, [Operation::Update], "{:#?}", plan.changes);
    assert_eq!(apply_all(plan.id.clone()).await.applied, 1);
    let product = c.product(created).await.unwrap().unwrap();
    assert_eq!(product.variants.len(), 1);
    assert_eq!(product.variants[0].id, variant, "updated in place");
    assert_eq!(product.variants[0].price.unwrap().to_string(), "7.00");
    assert_eq!(state(&engine, &local).await, SyncState::Synced);
}
