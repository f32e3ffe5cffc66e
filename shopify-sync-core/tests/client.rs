//! The client against the simulator over real HTTP on loopback: throttling, retries,
//! faults, auth, and where the token goes.
use serde_json::{json, Value};
use shopify_sync::client::config::ClientConfig;
use shopify_sync::client::ShopifyClient;
use shopify_sync::error::ErrorKind;
use shopify_sync_sim::catalog::CatalogSpec;
use shopify_sync_sim::faults::Fault;
use shopify_sync_sim::{CatalogSource, SimConfig, Simulator};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn sim_config() -> SimConfig {
    SimConfig {
        catalog: CatalogSource::Generated(CatalogSpec {
            products: 60,
            collections: 6,
            ..CatalogSpec::default()
        }),
        ..SimConfig::default()
    }
}

fn client_for(sim: &Simulator, tweak: impl FnOnce(&mut ClientConfig)) -> ShopifyClient {
    let mut config =
        ClientConfig::with_endpoint(&sim.endpoint(), Some(sim.shop()), sim.access_token()).unwrap();
    config.retry.initial_backoff = Duration::from_millis(10);
    tweak(&mut config);
    ShopifyClient::new(config).unwrap()
}

const COUNT: &str = "{ productsCount { count } }";

#[tokio::test]
async fn a_throttled_request_waits_exactly_the_missing_points_then_succeeds() {
    let sim = Simulator::start(SimConfig {
        bucket_size: 30.0,
        restore_rate: 10.0,
        ..sim_config()
    })
    .await
    .unwrap();
    // Proactive throttling off: the client must recover from THROTTLED on its own.
    let client = client_for(&sim, |c| c.throttle.proactive = false);
    for _ in 0..40 {
        let t = Instant::now();
        let resp = client.graphql(COUNT, json!({})).await.unwrap();
        let waited = t.elapsed();
        assert_eq!(resp.data["productsCount"]["count"], 60);
        if sim.stats().throttled == 1 {
            // It waited (requested - available) / restoreRate: long enough that the retry
            // was admitted at once (one THROTTLED, not two), and no more than the 10
            // missing points at 10 per second take.
            assert!(
                waited >= Duration::from_millis(100) && waited < Duration::from_millis(1_500),
                "{waited:?}"
            );
            let stats = sim.stats();
            assert_eq!(stats.throttled, 1);
            return;
        }
    }
    panic!("a 30-point bucket never throttled");
}

#[tokio::test]
async fn the_proactive_throttle_never_provokes_throttled() {
    let sim = Simulator::start(SimConfig {
        bucket_size: 30.0,
        restore_rate: 40.0,
        ..sim_config()
    })
    .await
    .unwrap();
    let client = client_for(&sim, |_| {});
    for _ in 0..12 {
        client.graphql(COUNT, json!({})).await.unwrap();
    }
    let stats = sim.stats();
    assert_eq!((stats.ok, stats.throttled), (12, 0));
}

#[tokio::test]
async fn retry_after_is_honoured_and_does_not_use_the_retry_budget() {
    let sim = Simulator::start(sim_config()).await.unwrap();
    let client = client_for(&sim, |c| c.retry.max_attempts = 1);
    sim.inject([Fault::Status {
        status: 429,
        body: String::new(),
        retry_after: Some("2.0".into()),
    }]);
    let t = Instant::now();
    client.graphql(COUNT, json!({})).await.unwrap();
    assert!(t.elapsed() >= Duration::from_secs(2), "{:?}", t.elapsed());
    // Garbage falls back to the bucket's own estimate (at least a second) instead of failing.
    sim.inject([Fault::Status {
        status: 429,
        body: String::new(),
        retry_after: Some("soon".into()),
    }]);
    client.graphql(COUNT, json!({})).await.unwrap();
    assert_eq!(sim.stats().faults, 2);
}

#[tokio::test]
async fn a_wrong_token_is_an_auth_error_with_a_hint_and_no_secret() {
    let sim = Simulator::start(sim_config()).await.unwrap();
    let config =
        ClientConfig::with_endpoint(&sim.endpoint(), None, "shpat_wrong_secret_value").unwrap();
    let client = ShopifyClient::new(config).unwrap();
    let e = client.graphql(COUNT, json!({})).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Auth);
    assert!(!e.is_retryable());
    assert!(e.to_string().contains("SHOPIFY_ACCESS_TOKEN"), "{e}");
    assert!(e.request_id().is_some());
    for text in [e.to_string(), format!("{e:?}"), format!("{client:?}")] {
        assert!(!text.contains("shpat_wrong_secret_value"), "{text}");
    }
    assert_eq!(sim.stats().unauthorized, 1, "not retried");
}

#[tokio::test]
async fn truncated_and_non_json_bodies_are_decode_errors_and_queries_retry() {
    let sim = Simulator::start(sim_config()).await.unwrap();
    let once = client_for(&sim, |c| c.retry.max_attempts = 1);
    for fault in [Fault::Truncate, Fault::NotJson] {
        sim.inject([fault.clone()]);
        let e = once.graphql(COUNT, json!({})).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Decode, "{fault:?}: {e}");
        assert!(!e.is_retryable(), "exhausted retries are persistent");
    }
    sim.inject([Fault::Reset]);
    let e = once.graphql(COUNT, json!({})).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Transport, "{e}");
    let patient = client_for(&sim, |_| {});
    sim.inject([
        Fault::Truncate,
        Fault::NotJson,
        Fault::Reset,
        Fault::Status {
            status: 503,
            body: String::new(),
            retry_after: None,
        },
    ]);
    let resp = patient.graphql(COUNT, json!({})).await.unwrap();
    assert_eq!(resp.data["productsCount"]["count"], 60);
}

#[tokio::test]
async fn a_stalled_response_times_out() {
    let sim = Simulator::start(sim_config()).await.unwrap();
    let client = client_for(&sim, |c| {
        c.request_timeout = Duration::from_millis(300);
        c.retry.max_attempts = 1;
    });
    sim.inject([Fault::Stall { ms: 3_000 }]);
    let t = Instant::now();
    let e = client.graphql(COUNT, json!({})).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
    assert!(t.elapsed() < Duration::from_secs(2));
}

const CREATE: &str = "mutation C($p: ProductCreateInput!) { productCreate(product: $p) { product { id } userErrors { message } } }";
const SET: &str = "mutation S($input: ProductSetInput!, $identifier: ProductSetIdentifiers) { productSet(input: $input, identifier: $identifier) { product { id } userErrors { message } } }";

#[tokio::test]
async fn a_mutation_with_unknown_outcome_is_not_retried_unless_idempotent() {
    let sim = Simulator::start(sim_config()).await.unwrap();
    let client = client_for(&sim, |_| {});
    sim.inject([Fault::AfterExecute { status: 502 }]);
    let e = client
        .graphql(CREATE, json!({"p": {"title": "Lost Response"}}))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::OutcomeUnknown, "{e}");
    assert!(!e.is_retryable());
    let created = sim
        .dump()
        .products
        .iter()
        .filter(|p| p.title == "Lost Response")
        .count();
    assert_eq!(created, 1, "applied once, never retried");

    // productSet with an identifier is idempotent: retried, still one product.
    sim.inject([Fault::AfterExecute { status: 502 }]);
    let vars = json!({"input": {"title": "Idempotent"}, "identifier": {"handle": "idempotent"}});
    let resp = client.graphql(SET, vars).await.unwrap();
    assert!(resp.data["productSet"]["product"]["id"].is_string());
    assert_eq!(
        sim.dump()
            .products
            .iter()
            .filter(|p| p.handle == "idempotent")
            .count(),
        1
    );
    // Without an identifier it is not.
    sim.inject([Fault::AfterExecute { status: 502 }]);
    let e = client
        .graphql(SET, json!({"input": {"title": "No Identifier"}}))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::OutcomeUnknown);
}

#[tokio::test]
async fn two_clients_for_one_shop_share_one_bucket() {
    let sim = Simulator::start(sim_config()).await.unwrap();
    let a = client_for(&sim, |_| {});
    let b = client_for(&sim, |_| {});
    assert!(Arc::ptr_eq(a.bucket(), b.bucket()));
    a.graphql(COUNT, json!({})).await.unwrap();
    let other = Simulator::start(sim_config()).await.unwrap();
    assert!(!Arc::ptr_eq(
        a.bucket(),
        client_for(&other, |_| {}).bucket()
    ));
}

#[tokio::test]
async fn dear_or_invalid_documents_are_refused_before_sending() {
    let sim = Simulator::start(sim_config()).await.unwrap();
    let client = client_for(&sim, |_| {});
    let dear = "{ products(first: 250) { nodes { collections(first: 250) { nodes { products(first: 250) { nodes { id } } } } } } }";
    let e = client.graphql(dear, json!({})).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::CostExceeded);
    assert!(
        e.to_string().contains("1729") && e.to_string().contains("1000"),
        "{e}"
    );
    let e = client
        .graphql("{ products(first: 1) { nodes { nope } } }", json!({}))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    assert!(e.to_string().contains("nope"), "{e}");
    let e = client.graphql(COUNT, json!([1, 2])).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    assert_eq!(sim.stats().requests, 0);
}

#[tokio::test]
async fn the_token_is_never_sent_to_a_redirect_target() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let target = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let target_addr = target.local_addr().unwrap();
    let redirector = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let redirector_addr = redirector.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = redirector.accept().await {
            let mut buf = vec![0u8; 8192];
            let _ = sock.read(&mut buf).await;
            let resp = format!("HTTP/1.1 307 Temporary Redirect\r\nLocation: http://{target_addr}/steal\r\nContent-Length: 0\r\n\r\n");
            let _ = sock.write_all(resp.as_bytes()).await;
        }
    });
    let hits = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = hits.clone();
    tokio::spawn(async move {
        while let Ok((_sock, _)) = target.accept().await {
            seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    });
    let mut config =
        ClientConfig::with_endpoint(&format!("http://{redirector_addr}"), None, "shpat_secret")
            .unwrap();
    config.retry.max_attempts = 1;
    let client = ShopifyClient::new(config).unwrap();
    let e = client.graphql(COUNT, json!({})).await.unwrap_err();
    assert!(!e.to_string().contains("shpat_secret"));
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        hits.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "the redirect was not followed"
    );
}

#[tokio::test]
async fn the_client_learns_the_cost_shopify_reported() {
    let sim = Simulator::start(sim_config()).await.unwrap();
    let client = client_for(&sim, |_| {});
    let q = "query P($n: Int) { products(first: $n) { nodes { id } } }";
    let vars = json!({"n": 7});
    let estimate = client.requested_cost(q, &vars).unwrap();
    let resp = client.graphql(q, vars.clone()).await.unwrap();
    let reported = resp.cost.unwrap().requested;
    assert_eq!(estimate, reported);
    assert_eq!(client.requested_cost(q, &vars).unwrap(), reported);
    let _: Value = resp.data;
}

#[tokio::test]
async fn a_document_costing_more_than_the_whole_bucket_fails_at_once() {
    let sim = Simulator::start(SimConfig {
        bucket_size: 100.0,
        restore_rate: 50.0,
        ..sim_config()
    })
    .await
    .unwrap();
    let client = client_for(&sim, |_| {});
    let page = "query { products(first: 250) { nodes { id variants(first: 250) { nodes { id inventoryItem { id } } } } } }";
    let cost = client.requested_cost(page, &json!({})).unwrap();
    assert!(cost > 100, "the test needs a page over the bucket: {cost}");
    let err = client.graphql(page, json!({})).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::CostExceeded, "{err}");
    assert!(err.to_string().contains("whole bucket of 100"), "{err}");
    // One refused request, not a retry loop.
    assert_eq!(sim.stats().throttled, 1);
    // What fits still runs.
    client.graphql(COUNT, json!({})).await.unwrap();
}
