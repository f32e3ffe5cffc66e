//! Typed operations against the simulator over real HTTP.
use futures::TryStreamExt;
use serde_json::json;
use shopify_sync::client::config::ClientConfig;
use shopify_sync::client::products::{ProductQuery, ProductSort};
use shopify_sync::client::ShopifyClient;
use shopify_sync::error::ErrorKind;
use shopify_sync::model::{Collection, Gid, Money, Product, ProductStatus};
use shopify_sync_sim::catalog::CatalogSpec;
use shopify_sync_sim::{CatalogSource, SimConfig, Simulator};
use std::collections::HashSet;

fn client(sim: &Simulator) -> ShopifyClient {
    ShopifyClient::new(
        ClientConfig::with_endpoint(&sim.endpoint(), Some(sim.shop()), sim.access_token()).unwrap(),
    )
    .unwrap()
}

fn small() -> SimConfig {
    SimConfig {
        catalog: CatalogSource::Generated(CatalogSpec {
            products: 80,
            collections: 8,
            ..CatalogSpec::default()
        }),
        job_delay: std::time::Duration::from_millis(30),
        ..SimConfig::default()
    }
}

#[tokio::test]
async fn pages_through_more_than_a_thousand_products_with_every_variant() {
    let spec = CatalogSpec {
        products: 1_200,
        collections: 3,
        max_variants_product: true,
        ..CatalogSpec::default()
    };
    let sim = Simulator::start(SimConfig {
        catalog: CatalogSource::Generated(spec),
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let c = client(&sim);
    let products: Vec<Product> = c
        .products(ProductQuery::default())
        .try_collect()
        .await
        .unwrap();
    assert_eq!(products.len(), 1_201);
    let ids: HashSet<_> = products.iter().map(|p| p.id).collect();
    assert_eq!(ids.len(), 1_201, "no duplicates across pages");
    let dump = sim.dump();
    for (got, want) in products.iter().zip(&dump.products) {
        assert_eq!(got.id.numeric_id(), want.id);
        assert_eq!(
            got.variants.len(),
            want.variants.len(),
            "{}: variants complete",
            got.title
        );
    }
    let big = products
        .iter()
        .find(|p| p.variants.len() == 2_048)
        .expect("the 2,048-variant product, complete");
    let distinct: HashSet<_> = big.variants.iter().map(|v| v.id).collect();
    assert_eq!(distinct.len(), 2_048);
    assert_eq!(c.products_count(None).await.unwrap(), 1_201);
    assert_eq!(sim.stats().throttled, 0);
}

#[tokio::test]
async fn filters_sorting_and_lookups() {
    let sim = Simulator::start(small()).await.unwrap();
    let c = client(&sim);
    let dump = sim.dump();
    let drafts: Vec<Product> = c
        .products(ProductQuery::default().search("status:draft"))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(
        drafts.len(),
        dump.products.iter().filter(|p| p.status == "DRAFT").count()
    );
    assert!(drafts
        .iter()
        .all(|p| p.status == Some(ProductStatus::Draft)));
    let cut: chrono::DateTime<chrono::Utc> =
        dump.products[40].updated_at.to_string().parse().unwrap();
    let recent: Vec<Product> = c
        .products(
            ProductQuery::default()
                .updated_after(cut)
                .sort(ProductSort::UpdatedAt)
                .page_size(7),
        )
        .try_collect()
        .await
        .unwrap();
    assert_eq!(
        recent.len(),
        dump.products
            .iter()
            .filter(|p| p.updated_at.secs() >= cut.timestamp())
            .count()
    );
    assert!(recent
        .windows(2)
        .all(|w| w[0].updated_at <= w[1].updated_at));

    let want = &dump.products[3];
    let by_id = c
        .product(Gid::from_numeric_id(want.id).unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(by_id.handle, want.handle);
    assert_eq!(
        by_id.variants[0].price,
        Some(Money::parse(&want.variants[0].price.to_string()).unwrap())
    );
    let by_handle = c.product_by_handle(&want.handle).await.unwrap().unwrap();
    assert_eq!(by_handle.id, by_id.id);
    assert!(c
        .product(Gid::from_numeric_id(1).unwrap())
        .await
        .unwrap()
        .is_none());
    assert!(c
        .product_by_handle("no-such-handle")
        .await
        .unwrap()
        .is_none());
}

#[tokio::test]
async fn writes_round_trip_and_user_errors_are_typed() {
    let sim = Simulator::start(small()).await.unwrap();
    let c = client(&sim);
    let input = json!({"title": "Typed Tee", "productOptions": [{"name": "Size", "values": [{"name": "S"}, {"name": "M"}]}],
        "variants": [{"optionValues": [{"optionName": "Size", "name": "S"}], "price": "10.00"},
                     {"optionValues": [{"optionName": "Size", "name": "M"}], "price": "12.00"}]});
    let p = c
        .product_set(input.clone(), Some(json!({"handle": "typed-tee"})))
        .await
        .unwrap();
    assert_eq!(p.variants.len(), 2);
    let again = c
        .product_set(input, Some(json!({"handle": "typed-tee"})))
        .await
        .unwrap();
    assert_eq!(again.id, p.id, "identifier upsert");

    let e = c.product_create(json!({"title": ""})).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::UserErrors);
    assert_eq!(e.user_errors()[0].message, "Title can't be blank");
    assert_eq!(e.user_errors()[0].field, Some(vec!["title".to_string()]));

    let created = c
        .product_create(json!({"title": "Fresh", "status": "DRAFT"}))
        .await
        .unwrap();
    let updated = c
        .product_update(
            json!({"id": created.id.to_string(), "title": "Fresher", "tags": ["b", " A "]}),
        )
        .await
        .unwrap();
    assert_eq!(updated.title, "Fresher");
    assert_eq!(updated.tags, vec!["A", "b"]);
    let vid = updated.variants[0].id;
    let changed = c
        .variants_bulk_update(
            updated.id,
            vec![json!({"id": vid.to_string(), "price": "9.50"})],
        )
        .await
        .unwrap();
    assert_eq!(changed[0].price, Some(Money::parse("9.5").unwrap()));
    let e = c
        .variants_bulk_update(
            updated.id,
            vec![json!({"id": vid.to_string(), "price": "-1"})],
        )
        .await
        .unwrap_err();
    assert_eq!(
        e.user_errors()[0].code.as_deref(),
        Some("GREATER_THAN_OR_EQUAL_TO")
    );
    let added = c
        .variants_bulk_create(
            updated.id,
            vec![json!({"optionValues": [{"optionName": "Color", "name": "Red"}], "price": "5"})],
            true,
        )
        .await
        .unwrap();
    assert_eq!(added.len(), 1);
    c.variants_bulk_delete(updated.id, &[added[0].id])
        .await
        .unwrap();
    assert_eq!(c.product_delete(updated.id).await.unwrap(), updated.id);
    assert!(c.product(updated.id).await.unwrap().is_none());
}

#[tokio::test]
async fn collections_and_membership() {
    let sim = Simulator::start(small()).await.unwrap();
    let c = client(&sim);
    let all: Vec<Collection> = c.collections(None).try_collect().await.unwrap();
    assert_eq!(all.len(), 8);
    let smart = all.iter().find(|c| c.is_smart()).unwrap();
    assert!(!smart.rule_set.as_ref().unwrap().rules.is_empty());

    let custom = c
        .collection_create(json!({"title": "Summer Picks"}))
        .await
        .unwrap();
    assert!(!custom.is_smart());
    let products: Vec<Gid<Product>> = sim
        .dump()
        .products
        .iter()
        .take(3)
        .map(|p| Gid::from_numeric_id(p.id).unwrap())
        .collect();
    c.collection_add_products(custom.id, &products)
        .await
        .unwrap();
    let members: Vec<Gid<Product>> = c
        .collection_product_ids(custom.id)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(members, products, "jobs finished before returning");
    c.collection_remove_products(custom.id, &products[..1])
        .await
        .unwrap();
    let members: Vec<Gid<Product>> = c
        .collection_product_ids(custom.id)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(members, products[1..].to_vec());

    let e = c
        .collection_add_products(smart.id, &products)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::UserErrors);
    assert_eq!(
        e.user_errors()[0].code.as_deref(),
        Some("CANT_ADD_TO_SMART_COLLECTION")
    );

    let renamed = c
        .collection_update(json!({"id": custom.id.to_string(), "title": "Autumn Picks"}))
        .await
        .unwrap();
    assert_eq!(renamed.title, "Autumn Picks");
    assert_eq!(
        c.collection(custom.id).await.unwrap().unwrap().title,
        "Autumn Picks"
    );
    c.collection_delete(custom.id).await.unwrap();
    assert!(c.collection(custom.id).await.unwrap().is_none());
}

#[tokio::test]
async fn membership_over_250_ids_is_chunked() {
    let spec = CatalogSpec {
        products: 600,
        collections: 1,
        ..CatalogSpec::default()
    };
    let sim = Simulator::start(SimConfig {
        catalog: CatalogSource::Generated(spec),
        job_delay: std::time::Duration::from_millis(5),
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let c = client(&sim);
    let coll = c
        .collection_create(json!({"title": "Everything"}))
        .await
        .unwrap();
    let ids: Vec<Gid<Product>> = sim
        .dump()
        .products
        .iter()
        .map(|p| Gid::from_numeric_id(p.id).unwrap())
        .collect();
    c.collection_add_products(coll.id, &ids).await.unwrap();
    let members: Vec<Gid<Product>> = c
        .collection_product_ids(coll.id)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(members.len(), 600);
}
