//! The JSONL side of bulk operations, offline: Shopify's byte-exact samples, a large
//! export streamed in bounded memory, and properties over arbitrary bytes (the parser
//! and the response decoders never panic, and chunk boundaries never change a record).
use futures::{stream, FutureExt, StreamExt, TryStreamExt};
use proptest::prelude::*;
use serde_json::{json, Value};
use shopify_sync::client::bulk::{group_objects, BulkMutationLine, BulkOperation};
use shopify_sync::client::jsonl::{JsonlDecoder, JsonlReader, JsonlRecord, JsonlStream};
use shopify_sync::model::{Product, ProductVariant};
use std::path::PathBuf;

fn sample(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../data/shopify/samples/bulk-jsonl")
        .join(name)
}

#[test]
fn the_byte_exact_sample_parses_with_escaped_slashes() {
    let path = sample("bulk-operation-root-count-and-search-filters__run.result.jsonl");
    let raw = std::fs::read(&path).unwrap();
    assert!(
        raw.windows(2).any(|w| w == b"\\/"),
        "the sample escapes slashes"
    );
    let records: Vec<JsonlRecord> = JsonlReader::new(std::fs::File::open(&path).unwrap())
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(records.len(), 4);
    let product = &records[0];
    assert_eq!(product.id(), Some("gid://shopify/Product/10243914727730"));
    assert!(product.is_root());
    assert_eq!(
        product.gid::<Product>().unwrap().unwrap().numeric_id(),
        10243914727730
    );
    let p: Product = product.decode().unwrap();
    assert_eq!(p.title, "Bulk root count bulk-root-mrrsb7hi-1xi0i");
    let kinds: Vec<_> = records[1..].iter().map(|r| r.typename().unwrap()).collect();
    assert_eq!(kinds, ["ProductVariant", "MediaImage", "Metafield"]);
    for child in &records[1..] {
        assert_eq!(child.parent_id(), product.id());
        assert_eq!(child.parent_typename(), Some("Product"));
    }
    let v: ProductVariant = records[1].decode().unwrap();
    assert_eq!(
        v.sku.as_deref(),
        Some("bulk-variant-bulk-root-mrrsb7hi-1xi0i")
    );
    // The raw text is kept as received, escapes and all.
    assert!(product
        .raw()
        .starts_with(r#"{"id":"gid:\/\/shopify\/Product\/"#));
    // Grouped, as this file is: one product with its three children.
    let objects = group_objects(stream::iter(records.clone().into_iter().map(Ok)))
        .try_collect::<Vec<_>>()
        .now_or_never()
        .expect("an in-memory stream is always ready")
        .unwrap();
    assert_eq!(objects.len(), 1);
    assert_eq!(objects[0].descendants.len(), 3);
}

#[test]
fn the_derived_sample_of_1456_products_parses() {
    let path = sample(
        "bulk-operation-run-query-group-objects__runs.runQueryGroupObjectsDefault.result.records-derived.jsonl",
    );
    let mut n = 0;
    for r in JsonlReader::new(std::fs::File::open(path).unwrap()) {
        let r = r.unwrap();
        assert!(r.is::<Product>() && r.is_root());
        let p: Product = r.decode().unwrap();
        assert!(!p.title.is_empty());
        n += 1;
    }
    assert_eq!(n, 1_456);
}

/// A product export in Shopify's shape, generated lazily chunk by chunk: products then
/// their variants in batches (children apart from their parents), slashes escaped.
fn export(
    products: u64,
    variants_each: u64,
) -> impl futures::Stream<Item = shopify_sync::error::Result<Vec<u8>>> {
    const BATCH: u64 = 250;
    stream::iter((0..products.div_ceil(BATCH)).map(move |b| {
        let mut chunk = Vec::new();
        let ids = b * BATCH..((b + 1) * BATCH).min(products);
        for p in ids.clone() {
            chunk.extend_from_slice(
                format!(
                    "{{\"id\":\"gid:\\/\\/shopify\\/Product\\/{}\",\"title\":\"Product {p} \\/ with a slash\",\"handle\":\"product-{p}\",\"status\":\"ACTIVE\",\"tags\":[\"a\",\"b\"],\"descriptionHtml\":\"<p>Long enough description for product {p}, as real ones are.<\\/p>\"}}\n",
                    p + 1
                )
                .as_bytes(),
            );
        }
        for p in ids {
            for v in 0..variants_each {
                chunk.extend_from_slice(
                    format!(
                        "{{\"id\":\"gid:\\/\\/shopify\\/ProductVariant\\/{}\",\"sku\":\"SKU-{p}-{v}\",\"price\":\"{}.99\",\"__parentId\":\"gid:\\/\\/shopify\\/Product\\/{}\"}}\n",
                        p * 100 + v + 1,
                        v + 10,
                        p + 1
                    )
                    .as_bytes(),
                );
            }
        }
        Ok(chunk)
    }))
}

#[tokio::test]
async fn a_large_export_streams_in_bounded_memory() {
    // 20,000 products and 100,000 variants: 120,000 lines, about 18 MB, never held.
    let mut records = JsonlStream::new(export(20_000, 5));
    let (mut products, mut variants) = (0u64, 0u64);
    while let Some(r) = records.try_next().await.unwrap() {
        if r.is_root() {
            products += 1;
        } else {
            assert!(r.parent_gid::<Product>().unwrap().is_some());
            variants += 1;
        }
    }
    assert_eq!((products, variants), (20_000, 100_000));
    let stats = records.stats();
    assert!(stats.bytes > 15_000_000, "{stats:?}");
    // At most one generated chunk (about 250 KB) plus one partial line.
    assert!(stats.peak_buffered < 512 * 1024, "{stats:?}");
}

/// Decode everything from `bytes` pushed in chunks of the given sizes.
fn decode_chunked(bytes: &[u8], sizes: &[usize]) -> Vec<Result<JsonlRecord, String>> {
    let mut d = JsonlDecoder::with_max_line_bytes(4096);
    let mut out = vec![];
    let mut at = 0;
    let mut i = 0;
    while at < bytes.len() {
        let n = sizes
            .get(i)
            .copied()
            .unwrap_or(7)
            .max(1)
            .min(bytes.len() - at);
        d.push(&bytes[at..at + n]);
        at += n;
        i += 1;
        while let Some(r) = d.next_record() {
            out.push(r.map_err(|e| e.to_string()));
        }
    }
    while let Some(r) = d.finish() {
        out.push(r.map_err(|e| e.to_string()));
    }
    out
}

/// Bytes that look like bulk output often enough to reach the interesting paths.
fn jsonl_like() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        Just(b"{\"id\":\"gid:\\/\\/shopify\\/Product\\/1\"}\n".to_vec()),
        Just(b"{\"id\":\"gid://shopify/ProductVariant/2\",\"__parentId\":\"gid://shopify/Product/1\"}\n".to_vec()),
        Just(b"{\"data\":{\"x\":{\"userErrors\":[{\"field\":null,\"message\":\"m\"}]}},\"__lineNumber\":3}\n".to_vec()),
        Just(b"\r\n".to_vec()),
        Just(b"\n".to_vec()),
        Just(b"{".to_vec()),
        Just(b"\"".to_vec()),
        Just(b"\\".to_vec()),
        Just(vec![0xff, 0xfe]),
        proptest::collection::vec(any::<u8>(), 0..40),
    ];
    proptest::collection::vec(piece, 0..30).prop_map(|ps| ps.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn the_parser_never_panics_and_chunking_never_matters(
        bytes in prop_oneof![jsonl_like(), proptest::collection::vec(any::<u8>(), 0..2000)],
        sizes in proptest::collection::vec(1usize..64, 0..64),
    ) {
        let whole = decode_chunked(&bytes, &[bytes.len().max(1)]);
        let chunked = decode_chunked(&bytes, &sizes);
        prop_assert_eq!(whole, chunked);
    }

    #[test]
    fn response_decoders_never_panic(bytes in prop_oneof![jsonl_like(), proptest::collection::vec(any::<u8>(), 0..600)]) {
        let mut d = JsonlDecoder::new();
        d.push(&bytes);
        let mut records = vec![];
        while let Some(r) = d.finish() {
            if let Ok(r) = r {
                let _ = BulkMutationLine::from_record(&r);
                let _ = r.decode::<Product>();
                let _ = r.gid::<Product>();
                let _ = r.parent_gid::<Product>();
                if let Ok(v) = r.value() {
                    let _ = BulkOperation::from_json(v);
                }
                records.push(Ok(r));
            }
        }
        let grouped = group_objects(stream::iter(records)).collect::<Vec<_>>().now_or_never();
        prop_assert!(grouped.is_some());
        if let Ok(v) = serde_json::from_slice::<Value>(&bytes) {
            let _ = BulkOperation::from_json(v);
        }
    }

    #[test]
    fn bulk_operation_objects_decode_or_fail_cleanly(
        status in "[A-Z_]{0,12}",
        count in prop_oneof![Just(json!("12")), Just(json!(12)), Just(json!(-1)), Just(json!("x")), Just(json!(null)), Just(json!(1.5))],
        id in prop_oneof![Just("gid://shopify/BulkOperation/9".to_string()), "[a-z:/0-9]{0,20}"],
    ) {
        let _ = BulkOperation::from_json(json!({"id": id, "status": status, "objectCount": count, "fileSize": count, "createdAt": "garbage"}));
    }
}
