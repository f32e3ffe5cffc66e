//! The client at a 5% fault rate over real HTTP: every query ends in data or a typed
//! error, and no mutation is ever applied twice.
use serde_json::json;
use shopify_sync::client::config::ClientConfig;
use shopify_sync::client::ShopifyClient;
use shopify_sync::error::ErrorKind;
use shopify_sync_sim::catalog::CatalogSpec;
use shopify_sync_sim::{CatalogSource, SimConfig, Simulator};
use std::time::Duration;

async fn faulty_sim(seed: u64) -> Simulator {
    Simulator::start(SimConfig {
        catalog: CatalogSource::Generated(CatalogSpec {
            products: 50,
            collections: 4,
            ..CatalogSpec::default()
        }),
        fault_rate: 0.05,
        fault_seed: seed,
        ..SimConfig::default()
    })
    .await
    .unwrap()
}

fn client(sim: &Simulator) -> ShopifyClient {
    let mut config =
        ClientConfig::with_endpoint(&sim.endpoint(), Some(sim.shop()), sim.access_token()).unwrap();
    config.retry.initial_backoff = Duration::from_millis(5);
    config.retry.max_backoff = Duration::from_millis(50);
    ShopifyClient::new(config).unwrap()
}

#[tokio::test]
async fn queries_end_in_data_or_a_typed_error() {
    let sim = faulty_sim(7).await;
    let c = client(&sim);
    let (mut ok, mut failed) = (0, 0);
    for _ in 0..300 {
        match c.graphql("{ productsCount { count } }", json!({})).await {
            Ok(resp) => {
                assert_eq!(resp.data["productsCount"]["count"], 50);
                ok += 1;
            }
            Err(e) => {
                // Only failures the retry layer gave up on, marked persistent.
                assert!(
                    matches!(
                        e.kind(),
                        ErrorKind::Server
                            | ErrorKind::Transport
                            | ErrorKind::Decode
                            | ErrorKind::Timeout
                    ),
                    "{e:?}"
                );
                assert!(!e.is_retryable());
                failed += 1;
            }
        }
    }
    assert!(
        sim.fault_log().len() >= 5,
        "faults were injected: {}",
        sim.fault_log().len()
    );
    assert!(
        ok >= 295,
        "queries retry through a 5% fault rate: {ok} ok, {failed} failed"
    );
}

#[tokio::test]
async fn no_mutation_is_applied_twice() {
    let sim = faulty_sim(11).await;
    let c = client(&sim);
    let create = "mutation C($p: ProductCreateInput!) { productCreate(product: $p) { product { id } userErrors { message } } }";
    let mut outcomes = vec![];
    for i in 0..150 {
        let title = format!("Exactly Once {i}");
        let r = c.graphql(create, json!({"p": {"title": title}})).await;
        outcomes.push((title, r));
    }
    let dump = sim.dump();
    let count = |t: &str| dump.products.iter().filter(|p| p.title == t).count();
    let mut unknown = 0;
    for (title, r) in &outcomes {
        match r {
            Ok(_) => assert_eq!(count(title), 1, "{title}"),
            Err(e) if e.kind() == ErrorKind::OutcomeUnknown => {
                unknown += 1;
                assert!(count(title) <= 1, "{title} was applied twice");
            }
            Err(e) => {
                // Refused before reaching Shopify's write path: nothing written.
                assert_eq!(count(title), 0, "{title}: {e:?}");
            }
        }
    }
    let executed_then_lost = sim.fault_log().iter().filter(|f| f.executed).count();
    assert!(
        unknown > 0 && executed_then_lost > 0,
        "the fault mix hit mutations after executing"
    );

    // productSet with an identifier is idempotent: retried through the same faults, each
    // handle ends up existing exactly once and every call succeeds.
    let set = "mutation S($input: ProductSetInput!, $identifier: ProductSetIdentifiers) { productSet(input: $input, identifier: $identifier) { product { id } userErrors { message } } }";
    for i in 0..100 {
        let handle = format!("idem-{i}");
        c.graphql(
            set,
            json!({"input": {"title": format!("Idem {i}")}, "identifier": {"handle": handle}}),
        )
        .await
        .unwrap();
    }
    let dump = sim.dump();
    for i in 0..100 {
        let handle = format!("idem-{i}");
        assert_eq!(
            dump.products.iter().filter(|p| p.handle == handle).count(),
            1,
            "{handle}"
        );
    }
}
