//! The shared diff vectors, `tests/vectors/diff.json`, run against the Rust
//! implementation. The Python and Node bindings run the same file.

use serde_json::Value;
use shopify_sync::staging::{diff_with, DiffOptions, DiffRow, FieldMask, RowKind, Snapshot};
use std::collections::{BTreeSet, HashSet};
use std::path::PathBuf;

fn file() -> Value {
    let path: PathBuf = [
        env!("CARGO_MANIFEST_DIR"),
        "..",
        "tests",
        "vectors",
        "diff.json",
    ]
    .iter()
    .collect();
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("parsing {}: {e}", path.display()))
}

fn side(input: &Value, key: &str, name: &str) -> Option<Snapshot> {
    match &input[key] {
        Value::Null => None,
        v => Some(
            serde_json::from_value(v.clone())
                .unwrap_or_else(|e| panic!("{name}: {key} does not decode: {e}")),
        ),
    }
}

#[test]
fn diff_vectors() {
    let file = file();
    assert_eq!(file["version"], 1);
    assert!(file["about"].is_array());
    let cases = file["cases"].as_array().expect("cases");
    assert!(cases.len() >= 25, "{} cases", cases.len());
    let mut names = HashSet::new();
    let mut kinds = BTreeSet::new();
    let mut failures = Vec::new();
    for case in cases {
        let name = case["name"].as_str().expect("a name");
        assert!(names.insert(name), "duplicate case name {name:?}");
        let input = &case["input"];
        let (base, local, remote) = (
            side(input, "base", name),
            side(input, "local", name),
            side(input, "remote", name),
        );
        let mask: FieldMask = match input.get("mask") {
            Some(m) => {
                serde_json::from_value(m.clone()).unwrap_or_else(|e| panic!("{name}: mask: {e}"))
            }
            None => FieldMask::ALL,
        };
        let mut options = DiffOptions::default();
        if let Some(s) = input.get("smart_collections") {
            options.smart_collections = serde_json::from_value(s.clone())
                .unwrap_or_else(|e| panic!("{name}: smart_collections: {e}"));
        }
        let rows = diff_with(
            base.as_ref(),
            local.as_ref(),
            remote.as_ref(),
            mask,
            &options,
        )
        .unwrap_or_else(|e| panic!("{name}: {e}"));
        let got = serde_json::to_value(&rows).expect("rows serialize");
        let expected = &case["expected"]["rows"];
        if &got != expected {
            failures.push(format!("{name}:\n  expected {expected}\n  got      {got}"));
        }
        // The expected rows read back as rows and write the same JSON.
        let read: Vec<DiffRow> = serde_json::from_value(expected.clone())
            .unwrap_or_else(|e| panic!("{name}: expected rows do not decode: {e}"));
        assert_eq!(&serde_json::to_value(&read).unwrap(), expected, "{name}");
        kinds.extend(read.iter().map(|r| r.kind));
        // The same change on both sides is never a conflict.
        for x in [&local, &remote] {
            let same = diff_with(base.as_ref(), x.as_ref(), x.as_ref(), mask, &options).unwrap();
            assert!(
                same.iter().all(|r| r.kind != RowKind::Conflict),
                "{name}: diff(base, x, x) has a conflict: {same:?}"
            );
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(kinds.len(), 5, "every row kind appears: {kinds:?}");
}
