//! Killing the process during an apply: a child process (this test binary, running
//! `apply_child`) applies the approved changes of a plan against the parent's simulator
//! and SQLite store; the parent kills it (SIGKILL) at random moments, several times, then
//! lets a last run reconcile and finish. Shopify then holds exactly the plan's intent: a
//! new pull and plan propose nothing, and no product exists twice.
mod support;

use support::*;

use futures::TryStreamExt;
use shopify_sync::client::config::ClientConfig;
use shopify_sync::client::ShopifyClient;
use shopify_sync::model::Product;
use shopify_sync::staging::store::{ChangeStore, SqliteStore};
use shopify_sync::staging::{ChangeFilter, ChangeState, FieldMask, Review};
use shopify_sync::sync::{PullMode, SyncEngine};
use shopify_sync_sim::SimConfig;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

const CHILD_ENV: &str = "SHOPIFY_SYNC_TEST_APPLY_CHILD";
const STORE_ENV: &str = "SHOPIFY_SYNC_TEST_APPLY_STORE";

fn client(endpoint: &str, shop: &str, token: &str) -> ShopifyClient {
    let config = ClientConfig::with_endpoint(endpoint, Some(shop), token).unwrap();
    ShopifyClient::new(config).unwrap()
}

/// The child: reconcile, then apply every approved change. Does nothing unless run by
/// the parent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_child() {
    if std::env::var(CHILD_ENV).is_err() {
        return;
    }
    let env = |k: &str| std::env::var(k).unwrap();
    let c = client(
        &env("SHOPIFY_ENDPOINT"),
        &env("SHOPIFY_SHOP"),
        &env("SHOPIFY_ACCESS_TOKEN"),
    );
    let store: Arc<dyn ChangeStore> = Arc::new(SqliteStore::open(env(STORE_ENV)).unwrap());
    let engine = SyncEngine::new(c, store);
    engine.apply(&ChangeFilter::default()).await.unwrap();
}

struct Rng(u64);
impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_applies_resume_and_reach_the_plans_intent() {
    // A slow-refilling bucket stretches the apply so that kills land inside it.
    let sim = sim_with(
        120,
        6,
        SimConfig {
            bucket_size: 400.0,
            restore_rate: 200.0,
            ..SimConfig::default()
        },
    )
    .await;
    let db = temp_db("apply-crash");
    let c = client(&sim.endpoint(), sim.shop(), sim.access_token());
    let store: Arc<dyn ChangeStore> = Arc::new(SqliteStore::open(&db).unwrap());
    let engine = SyncEngine::new(c.clone(), store.clone());
    let mut local = adopt(&engine, store.as_ref()).await;
    edit(&mut local, 0..70, 70..100, "42.00", 10, "crash-proof");
    let plan = engine.plan(&catalog(&local), FieldMask::ALL).await.unwrap();
    store
        .approve(&ChangeFilter::default().plan(&plan.id), &Review::now("ana"))
        .await
        .unwrap();
    let total = plan.changes.len();
    assert_eq!(total, 70 + 30 + 10);
    drop(engine);
    drop(store);

    let exe = std::env::current_exe().unwrap();
    let spawn = || {
        Command::new(&exe)
            .args(["--exact", "apply_child", "--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, "1")
            .env(STORE_ENV, &db)
            .env("SHOPIFY_ENDPOINT", sim.endpoint())
            .env("SHOPIFY_SHOP", sim.shop())
            .env("SHOPIFY_ACCESS_TOKEN", sim.access_token())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    };
    let mut rng = Rng(0x5eed_cafe);
    let (mut killed, mut left_applying) = (0, 0);
    for _ in 0..6 {
        let mut child = spawn();
        tokio::time::sleep(Duration::from_millis(200 + rng.below(1500))).await;
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap();
            killed += 1;
        }
        child.wait().unwrap();
        let store = SqliteStore::open(&db).unwrap();
        let in_flight = store.in_flight().await.unwrap().len();
        let applied = store
            .changes(&ChangeFilter::default().state(ChangeState::Applied))
            .await
            .unwrap()
            .len();
        eprintln!("after a kill: {applied} applied, {in_flight} applying");
        left_applying += in_flight;
    }
    assert!(killed >= 3, "the kills landed during applies ({killed})");
    assert!(
        left_applying >= 1,
        "some kills struck between journal and record"
    );
    let status = spawn().wait().unwrap();
    assert!(status.success());

    let store: Arc<dyn ChangeStore> = Arc::new(SqliteStore::open(&db).unwrap());
    let ended = store
        .changes(&ChangeFilter::default().plan(&plan.id))
        .await
        .unwrap();
    assert_eq!(ended.len(), total);
    for ch in &ended {
        assert_eq!(ch.state, ChangeState::Applied, "{ch:#?}");
    }
    // Shopify holds the intent: pulled and planned again, nothing is left to write.
    let engine = SyncEngine::new(c.clone(), store.clone());
    engine.pull(PullMode::Paginated).await.unwrap();
    let again = engine.plan(&catalog(&local), FieldMask::ALL).await.unwrap();
    assert!(again.changes.is_empty(), "{:#?}", again.summary());
    let products: Vec<Product> = c.products(Default::default()).try_collect().await.unwrap();
    assert_eq!(products.len(), 130);
    for n in 0..10 {
        let handle = format!("crash-proof-{n}");
        assert_eq!(products.iter().filter(|p| p.handle == handle).count(), 1);
    }
}
