//! Status and fingerprint figures: `compute_status` throughput over a mix of inputs that
//! reaches every row of the table (the target is 10 million per second or more on one
//! core), and fingerprints per second for a realistic 5-variant product.
//!
//! ```text
//! cargo bench -p shopify-sync-benches --bench status
//! cargo bench -p shopify-sync-benches --bench status -- fingerprint   # one group only
//! ```
use criterion::{black_box, criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use shopify_sync::model::{Gid, Product};
use shopify_sync::staging::{Field, FieldMask, Fingerprint, ProductSnapshot};
use shopify_sync::status::{compute_status, compute_statuses, ChangeCounts, StatusInput};

/// 1,024 inputs: every combination of id, deletion, change counts, last error and
/// fingerprint agreement that the table distinguishes, plus legacy column values.
fn status_inputs() -> Vec<StatusInput> {
    let fp = |n: u8| Some(Fingerprint::from_digest([n; 32]));
    let fingerprints = [
        (None, None, None),
        (fp(1), fp(1), fp(1)),
        (fp(1), fp(2), fp(2)),
        (fp(1), fp(1), fp(2)),
        (fp(1), fp(2), fp(3)),
        (fp(1), None, fp(2)),
        (fp(1), fp(2), None),
        (None, fp(2), fp(2)),
    ];
    let legacy = [None, Some("synced"), Some("out-of-sync"), Some("whatever")];
    let mut inputs = Vec::with_capacity(1024);
    let mut i: u32 = 0;
    while inputs.len() < 1024 {
        let bit = |n: u32| (i.wrapping_mul(2_654_435_761) >> n) & 1 == 1;
        let (l, b, r) = fingerprints[(i as usize) % fingerprints.len()];
        // Most products are quiet: weight the mix toward the fingerprint and legacy rows.
        let busy = i & 3 == 0;
        inputs.push(StatusInput {
            shopify_id: (i & 15 != 0).then(|| Gid::from_numeric_id(u64::from(i) + 1).unwrap()),
            local_fingerprint: l,
            base_fingerprint: b,
            remote_fingerprint: r,
            remote_deleted: i & 127 == 5,
            changes: ChangeCounts {
                staged: u32::from(busy && bit(1)),
                approved: u32::from(busy && bit(2)),
                applying: u32::from(busy && bit(3)),
                failed: u32::from(busy && bit(4)),
                stale: u32::from(busy && bit(5)),
                conflict: u32::from(busy && bit(6)),
            },
            last_error: (i & 63 == 7).then(|| "Throttled".to_string()),
            legacy_status: legacy[(i as usize / 8) % legacy.len()].map(String::from),
        });
        i += 1;
    }
    inputs
}

fn status(c: &mut Criterion) {
    let inputs = status_inputs();
    let mut group = c.benchmark_group("status");
    group.throughput(Throughput::Elements(inputs.len() as u64));
    group.bench_function("compute_status_1024_mixed", |b| {
        b.iter(|| {
            for input in black_box(&inputs) {
                black_box(compute_status(input));
            }
        })
    });
    group.bench_function("compute_statuses_batch_1024", |b| {
        b.iter(|| black_box(compute_statuses(black_box(&inputs))))
    });
    group.finish();
}

/// A product as Shopify returns it: 2 options, 5 variants with prices, compare-at prices,
/// SKUs, barcodes and option values, 6 tags, SEO, an HTML description.
fn five_variant_product() -> Product {
    let variants: Vec<serde_json::Value> = ["XS", "S", "M", "L", "XL"]
        .iter()
        .enumerate()
        .map(|(i, size)| {
            serde_json::json!({
                "id": format!("gid://shopify/ProductVariant/5148805241272{i}"),
                "title": format!("Blue / {size}"),
                "price": format!("{}.99", 79 + i),
                "compareAtPrice": if i % 2 == 0 { serde_json::json!("100.00") } else { serde_json::Value::Null },
                "sku": format!("GRAPH-BLUE-{size}"),
                "barcode": format!("111111111111{i}"),
                "inventoryPolicy": "DENY",
                "selectedOptions": [{"name": "Color", "value": "Blue"}, {"name": "Size", "value": size}]
            })
        })
        .collect();
    serde_json::from_value(serde_json::json!({
        "id": "gid://shopify/Product/10243923018034",
        "title": "Graph Tee",
        "handle": "graph-tee",
        "descriptionHtml": "<p>Soft <b>cotton</b> tee with a printed graph. Machine wash cold.</p>",
        "vendor": "Hermes",
        "productType": "Shirts",
        "status": "ACTIVE",
        "tags": ["summer", "tee", "cotton", "Graph", "new arrival", "sale"],
        "seo": {"title": "Graph Tee | Hermes", "description": "A soft cotton tee."},
        "options": [{"name": "Color", "values": ["Blue"]},
                    {"name": "Size", "values": ["XS", "S", "M", "L", "XL"]}],
        "variants": variants
    }))
    .expect("a valid product")
}

fn fingerprint(c: &mut Criterion) {
    let product = five_variant_product();
    let snapshot = ProductSnapshot::from_product(&product).with_collections([
        Gid::from_numeric_id(514084372786).unwrap(),
        Gid::from_numeric_id(514084405554).unwrap(),
    ]);
    let mut group = c.benchmark_group("fingerprint");
    group.throughput(Throughput::Elements(1));
    group.bench_function("product_5_variants_all_fields", |b| {
        b.iter(|| black_box(black_box(&snapshot).fingerprint(FieldMask::ALL)))
    });
    let prices = FieldMask::of(&[
        Field::VariantPrice,
        Field::VariantCompareAtPrice,
        Field::VariantSku,
    ]);
    group.bench_function("product_5_variants_prices_and_skus", |b| {
        b.iter(|| black_box(black_box(&snapshot).fingerprint(prices)))
    });
    group.bench_function("product_5_variants_snapshot_and_fingerprint", |b| {
        b.iter_batched_ref(
            || product.clone(),
            |p| black_box(ProductSnapshot::from_product(p).fingerprint(FieldMask::ALL)),
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

criterion_group!(benches, status, fingerprint);
criterion_main!(benches);
