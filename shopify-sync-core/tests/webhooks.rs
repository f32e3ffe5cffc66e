//! Webhook subscriptions through the client against the simulator over real HTTP:
//! register, list (with pagination and topic filters), delete, Shopify's userErrors, on
//! both shipped API versions.
use serde_json::json;
use shopify_sync::client::config::ClientConfig;
use shopify_sync::client::webhooks::{WebhookTopic, CREATE};
use shopify_sync::client::ShopifyClient;
use shopify_sync::error::ErrorKind;
use shopify_sync_sim::catalog::CatalogSpec;
use shopify_sync_sim::{CatalogSource, SimConfig, Simulator};

const HOOK: &str = "https://sync.example.com/webhooks/shopify";

async fn start() -> Simulator {
    Simulator::start(SimConfig {
        catalog: CatalogSource::Generated(CatalogSpec {
            products: 5,
            collections: 1,
            ..CatalogSpec::default()
        }),
        ..SimConfig::default()
    })
    .await
    .expect("the simulator starts")
}

fn client(sim: &Simulator, version: &str) -> ShopifyClient {
    let config = ClientConfig::with_endpoint(&sim.endpoint(), Some(sim.shop()), sim.access_token())
        .and_then(|c| c.api_version(version))
        .expect("a valid config");
    ShopifyClient::new(config).expect("a client")
}

#[tokio::test]
async fn webhook_subscriptions_register_list_and_delete_on_both_api_versions() {
    for version in ["2025-10", "2026-07"] {
        let sim = start().await;
        let client = client(&sim, version);
        assert!(client
            .list_webhook_subscriptions()
            .await
            .unwrap()
            .is_empty());

        let created = client
            .create_webhook_subscription(WebhookTopic::ProductsUpdate, HOOK)
            .await
            .unwrap();
        assert!(
            created.id.starts_with("gid://shopify/WebhookSubscription/"),
            "{created:?}"
        );
        assert_eq!(created.topic, "PRODUCTS_UPDATE");
        assert_eq!(created.sync_topic(), Some(WebhookTopic::ProductsUpdate));
        assert_eq!(created.uri, HOOK);
        assert_eq!(created.format, "JSON");
        assert!(created.created_at.is_some());

        // Every sync topic, idempotently: the existing one is kept, the rest created.
        let all = client
            .ensure_webhook_subscriptions(&WebhookTopic::ALL, HOOK)
            .await
            .unwrap();
        assert_eq!(all.len(), WebhookTopic::ALL.len());
        assert_eq!(all[1], created, "PRODUCTS_UPDATE was not created twice");
        for (sub, topic) in all.iter().zip(WebhookTopic::ALL) {
            assert_eq!(sub.sync_topic(), Some(topic));
        }
        let again = client
            .ensure_webhook_subscriptions(&WebhookTopic::ALL, HOOK)
            .await
            .unwrap();
        assert_eq!(again, all, "a second run creates nothing");

        let listed = client.list_webhook_subscriptions().await.unwrap();
        assert_eq!(listed.len(), 7);
        let products = client
            .list_webhook_subscriptions_for(&[
                WebhookTopic::ProductsCreate,
                WebhookTopic::ProductsDelete,
            ])
            .await
            .unwrap();
        let topics: Vec<&str> = products.iter().map(|s| s.topic.as_str()).collect();
        assert_eq!(topics, ["PRODUCTS_CREATE", "PRODUCTS_DELETE"]);

        // The subscription is a node too.
        let resp = client
            .graphql(
                "query($id: ID!) { node(id: $id) { ... on WebhookSubscription { topic uri } } }",
                json!({"id": created.id}),
            )
            .await
            .unwrap();
        assert_eq!(resp.data["node"]["uri"], HOOK);

        let deleted = client
            .delete_webhook_subscription(&created.id)
            .await
            .unwrap();
        assert_eq!(deleted, created.id);
        let left = client.list_webhook_subscriptions().await.unwrap();
        assert_eq!(left.len(), 6);
        assert!(left.iter().all(|s| s.id != created.id));
        // By bare number too.
        let number = left[0].id.rsplit('/').next().unwrap().to_string();
        assert_eq!(
            client.delete_webhook_subscription(&number).await.unwrap(),
            left[0].id
        );
        sim.shutdown().await;
    }
}

#[tokio::test]
async fn webhook_subscription_refusals_are_user_errors() {
    let sim = start().await;
    let client = client(&sim, "2026-07");
    let first = client
        .create_webhook_subscription(WebhookTopic::CollectionsUpdate, HOOK)
        .await
        .unwrap();

    // The same address for the same topic.
    let e = client
        .create_webhook_subscription(WebhookTopic::CollectionsUpdate, HOOK)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::UserErrors, "{e:?}");
    assert!(!e.is_retryable());
    assert_eq!(e.user_errors().len(), 1);
    assert_eq!(
        e.user_errors()[0].message,
        "Address for this topic has already been taken"
    );
    assert_eq!(
        e.user_errors()[0].field.as_deref(),
        Some(&["webhookSubscription".to_string(), "callbackUrl".to_string()][..])
    );
    assert!(e.request_id().is_some());
    assert!(e.to_string().contains("already been taken"), "{e}");

    // Deleting what does not exist.
    client.delete_webhook_subscription(&first.id).await.unwrap();
    let e = client
        .delete_webhook_subscription(&first.id)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::UserErrors);
    assert_eq!(
        e.user_errors()[0].message,
        "Webhook subscription does not exist"
    );

    // The client refuses a non-https address before sending anything ...
    let before = sim.stats().requests;
    let e = client
        .create_webhook_subscription(WebhookTopic::ProductsCreate, "http://sync.example.com/h")
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    let e = client
        .delete_webhook_subscription("gid://shopify/Product/1")
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    assert_eq!(sim.stats().requests, before);

    // ... and the simulator refuses it like Shopify when it is sent anyway.
    for (uri, message) in [
        (
            "http://sync.example.com/h",
            "Address protocol http:// is not supported",
        ),
        (
            "https://localhost/h",
            "Address cannot be a Shopify or an internal domain",
        ),
        ("", "Address can't be blank"),
    ] {
        let resp = client
            .graphql(
                CREATE,
                json!({"topic": "PRODUCTS_CREATE", "webhookSubscription": {"uri": uri, "format": "JSON"}}),
            )
            .await
            .unwrap();
        let payload = &resp.data["webhookSubscriptionCreate"];
        assert!(payload["webhookSubscription"].is_null(), "{payload}");
        assert_eq!(payload["userErrors"][0]["message"], message, "{uri}");
    }
    assert!(client
        .list_webhook_subscriptions()
        .await
        .unwrap()
        .is_empty());
    sim.shutdown().await;
}

#[tokio::test]
async fn webhook_subscription_listing_walks_every_page() {
    let sim = start().await;
    let client = client(&sim, "2026-07");
    // 7 topics x 16 addresses = 112 subscriptions: more than one page of 100.
    let mut ids = vec![];
    for n in 0..16 {
        let uri = format!("https://sync{n}.example.com/hooks");
        for sub in client
            .ensure_webhook_subscriptions(&WebhookTopic::ALL, &uri)
            .await
            .unwrap()
        {
            ids.push(sub.id);
        }
    }
    assert_eq!(ids.len(), 112);
    let listed: Vec<String> = client
        .list_webhook_subscriptions()
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.id)
        .collect();
    let mut expected = ids.clone();
    expected.sort();
    let mut got = listed.clone();
    got.sort();
    got.dedup();
    assert_eq!(got.len(), 112, "no subscription listed twice");
    assert_eq!(got, expected);
    let finishes = client
        .list_webhook_subscriptions_for(&[WebhookTopic::BulkOperationsFinish])
        .await
        .unwrap();
    assert_eq!(finishes.len(), 16);
    assert_eq!(sim.stats().throttled, 0);
    sim.shutdown().await;
}
