//! Property tests: fingerprints ignore order and spelling-only differences, and
//! `compute_status` is total.

use proptest::prelude::*;
use shopify_sync::model::{Gid, Money, SelectedOption};
use shopify_sync::staging::{
    normalize_handle, normalize_tags, Field, FieldMask, Fingerprint, ProductSnapshot,
    VariantSnapshot,
};
use shopify_sync::status::{compute_status, rules, ChangeCounts, StatusInput, SyncState};

/// A decimal as digits: (whole, fraction) with up to 4 fractional digits.
fn decimal() -> impl Strategy<Value = (u64, String)> {
    (0u64..10_000_000_000, "[0-9]{0,4}")
}

fn spell((whole, frac): &(u64, String), leading: usize, trailing: usize) -> String {
    let zeros = |n| "0".repeat(n);
    if frac.is_empty() && trailing == 0 {
        format!("{}{whole}", zeros(leading))
    } else {
        format!("{}{whole}.{frac}{}", zeros(leading), zeros(trailing))
    }
}

type VariantSpec = (Option<(u64, String)>, Option<String>, Vec<(String, String)>);

fn variant() -> impl Strategy<Value = VariantSpec> {
    (
        proptest::option::of(decimal()),
        proptest::option::of("[A-Z0-9-]{0,6}"),
        proptest::collection::vec(("[A-Za-z]{1,4}", "[A-Za-z0-9]{1,3}"), 0..3),
    )
}

fn build_variant(spec: &VariantSpec, leading: usize, trailing: usize) -> VariantSnapshot {
    VariantSnapshot {
        price: spec
            .0
            .as_ref()
            .map(|d| Money::parse(&spell(d, leading, trailing)).expect("a valid decimal")),
        sku: spec.1.clone(),
        option_values: spec
            .2
            .iter()
            .map(|(name, value)| SelectedOption {
                name: name.clone(),
                value: value.clone(),
            })
            .collect(),
        ..VariantSnapshot::default()
    }
}

/// Flip the ASCII case of every other letter.
fn recase(s: &str, seed: usize) -> String {
    s.chars()
        .enumerate()
        .map(|(i, c)| {
            if (i + seed) % 2 == 0 {
                c.to_ascii_uppercase()
            } else {
                c.to_ascii_lowercase()
            }
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn fingerprints_ignore_order_and_spelling(
        title in "\\PC{0,12}",
        handle in "[A-Za-z0-9 /%-]{0,16}",
        raw_tags in proptest::collection::vec("[A-Za-zé]{1,5}( [a-z]{1,3})?", 0..8),
        variants in proptest::collection::vec(variant(), 0..6),
        collections in proptest::collection::vec(1u64..50, 0..4),
        seed in 0usize..1000,
        leading in 0usize..3,
        trailing in 0usize..3,
    ) {
        // One spelling per case-insensitive tag, so that the first spelling is the same
        // in both lists below.
        let mut tags: Vec<String> = Vec::new();
        for t in raw_tags {
            if !tags.iter().any(|k| k.to_lowercase() == t.to_lowercase()) {
                tags.push(t);
            }
        }
        let a = ProductSnapshot {
            title: title.clone(),
            handle: normalize_handle(&handle),
            tags: tags.clone(),
            variants: variants.iter().map(|v| build_variant(v, 0, 0)).collect(),
            collections: collections.iter().map(|n| Gid::from_numeric_id(*n).unwrap()).collect(),
            ..ProductSnapshot::default()
        };

        // The same content, respelled: tags rotated, padded, repeated in other cases and
        // joined by commas; the handle raw; decimals with extra zeros; variants, option
        // values and collections in another order, collections repeated; empty SKUs for
        // absent ones.
        let n = tags.len().max(1);
        let mut b_tags: Vec<String> = (0..tags.len()).map(|i| format!("  {} ", tags[(i + seed) % n])).collect();
        b_tags.extend(tags.iter().map(|t| recase(t, seed)));
        if b_tags.len() >= 2 {
            let joined = format!("{},{}", b_tags[0], b_tags[1]);
            b_tags.splice(0..2, [joined]);
        }
        let mut b_variants: Vec<VariantSnapshot> = variants
            .iter()
            .map(|v| {
                let mut v = build_variant(v, leading, trailing);
                v.option_values.reverse();
                if v.sku.is_none() && seed % 2 == 0 {
                    v.sku = Some(String::new());
                }
                v.id = Some(Gid::from_numeric_id(seed as u64 + 1).unwrap());
                v
            })
            .collect();
        if !b_variants.is_empty() {
            let k = seed % b_variants.len();
            b_variants.rotate_left(k);
        }
        let mut b_collections: Vec<_> = a.collections.iter().rev().copied().collect();
        b_collections.extend(a.collections.iter().copied());
        let b = ProductSnapshot {
            title,
            handle: format!("  {} ", handle.to_uppercase()),
            tags: b_tags,
            variants: b_variants,
            collections: b_collections,
            ..ProductSnapshot::default()
        };

        prop_assert_eq!(a.fingerprint(FieldMask::ALL), b.fingerprint(FieldMask::ALL));
        prop_assert_eq!(
            a.clone().normalized().fingerprint(FieldMask::ALL),
            b.clone().normalized().fingerprint(FieldMask::ALL)
        );
        for field in Field::ALL {
            let mask = FieldMask::of(&[field]);
            prop_assert_eq!(a.fingerprint(mask), b.fingerprint(mask), "{}", field);
        }

        // A real change still shows.
        let mut c = a.clone();
        c.title.push('x');
        prop_assert_ne!(a.fingerprint(FieldMask::ALL), c.fingerprint(FieldMask::ALL));
        prop_assert_eq!(a.fingerprint(FieldMask::ALL.without(Field::Title)),
                        c.fingerprint(FieldMask::ALL.without(Field::Title)));
    }

    #[test]
    fn normalisations_are_idempotent(
        tags in proptest::collection::vec("\\PC{0,8}", 0..8),
        handle in "\\PC{0,24}",
    ) {
        let once = normalize_tags(&tags);
        prop_assert_eq!(normalize_tags(&once), once.clone());
        prop_assert!(once.iter().all(|t| !t.is_empty() && !t.contains(',') && t.trim() == t));
        let h = normalize_handle(&handle);
        prop_assert_eq!(normalize_handle(&h), h.clone());
        prop_assert!(!h.starts_with('-') && !h.ends_with('-') && !h.contains("--"));
    }

    #[test]
    fn fingerprint_parsing_is_total(s in "\\PC{0,80}", digest in proptest::array::uniform32(any::<u8>())) {
        let _ = Fingerprint::parse(&s);
        let fp = Fingerprint::from_digest(digest);
        prop_assert_eq!(Fingerprint::parse(&fp.to_string()).unwrap(), fp);
    }

    #[test]
    fn compute_status_is_total(
        id in proptest::option::of(1u64..u64::MAX),
        fps in proptest::array::uniform3(proptest::option::of(0u8..3)),
        remote_deleted in any::<bool>(),
        counts in proptest::array::uniform6(prop_oneof![Just(0u32), Just(1u32), any::<u32>()]),
        last_error in proptest::option::of("\\PC{0,6}"),
        legacy in proptest::option::of(prop_oneof![
            "\\PC{0,20}",
            proptest::sample::select(SyncState::ALL.map(SyncState::as_str).to_vec()).prop_map(String::from),
        ]),
    ) {
        let fp = |n: Option<u8>| n.map(|n| Fingerprint::from_digest([n; 32]));
        let mut input = StatusInput {
            shopify_id: id.map(|n| Gid::from_numeric_id(n).unwrap()),
            local_fingerprint: fp(fps[0]),
            base_fingerprint: fp(fps[1]),
            remote_fingerprint: fp(fps[2]),
            remote_deleted,
            changes: ChangeCounts {
                staged: counts[0],
                approved: counts[1],
                applying: counts[2],
                failed: counts[3],
                stale: counts[4],
                conflict: counts[5],
            },
            last_error,
            legacy_status: legacy,
        };
        let status = compute_status(&input);
        prop_assert!(rules().any(|r| r == status.rule()));
        prop_assert!(!status.reason().is_empty());
        prop_assert!(!status.fields().is_empty());
        prop_assert!(SyncState::ALL.contains(&status.state()));
        let json = serde_json::to_value(status).unwrap();
        prop_assert_eq!(&json["state"], status.state().as_str());
        if input.shopify_id.is_none() {
            prop_assert!(matches!(status.state(), SyncState::NotSynced | SyncState::PendingCreate));
        }
        if status.state() == SyncState::Synced && status.rule() != "8" {
            prop_assert_eq!(input.local_fingerprint, input.remote_fingerprint);
        }
        // The input round-trips through JSON and gives the same status.
        let back: StatusInput = serde_json::from_value(serde_json::to_value(&input).unwrap()).unwrap();
        prop_assert_eq!(compute_status(&back), status);
        // Writing the state back into the legacy column and asking again gives the same
        // state: the backend can store our output there.
        input.legacy_status = Some(status.state().as_str().to_string());
        prop_assert_eq!(compute_status(&input).state(), status.state());
    }
}
