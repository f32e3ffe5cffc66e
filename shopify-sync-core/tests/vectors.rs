//! The shared vectors in `tests/vectors/` (status, fingerprint, errors), run against the
//! Rust implementation. The Python and Node bindings run the same files.

use serde_json::Value;
use shopify_sync::error::{Error, ErrorKind};
use shopify_sync::staging::{FieldMask, Fingerprint, Snapshot};
use shopify_sync::status::{compute_status, compute_statuses, StatusInput};
use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::PathBuf;

fn vectors(file: &str) -> Value {
    let path: PathBuf = [env!("CARGO_MANIFEST_DIR"), "..", "tests", "vectors", file]
        .iter()
        .collect();
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    let value: Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("parsing {}: {e}", path.display()));
    assert_eq!(value["version"], 1, "{file}: version");
    assert!(value["about"].is_array(), "{file}: about");
    value
}

fn cases(file: &Value) -> &Vec<Value> {
    let cases = file["cases"].as_array().expect("a cases array");
    let mut names = HashSet::new();
    for case in cases {
        let name = case["name"].as_str().expect("every case has a name");
        assert!(names.insert(name), "duplicate case name {name:?}");
        assert!(case.get("input").is_some(), "{name}: input");
        assert!(case.get("expected").is_some(), "{name}: expected");
    }
    cases
}

#[test]
fn status_vectors() {
    let file = vectors("status.json");
    let cases = cases(&file);
    assert!(cases.len() >= 60, "{} cases", cases.len());
    let mut rules_hit = BTreeSet::new();
    let mut inputs = Vec::new();
    let mut expected = Vec::new();
    let mut failures = Vec::new();
    for case in cases {
        let name = case["name"].as_str().unwrap_or_default();
        let input: StatusInput = serde_json::from_value(case["input"].clone())
            .unwrap_or_else(|e| panic!("{name}: input does not decode: {e}"));
        let status = compute_status(&input);
        let got = serde_json::to_value(status).expect("a status serializes");
        if got != case["expected"] {
            failures.push(format!(
                "{name}:\n  expected {}\n  got      {got}",
                case["expected"]
            ));
        }
        rules_hit.insert(status.rule());
        inputs.push(input);
        expected.push(case["expected"].clone());
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    let all_rules: BTreeSet<&str> = shopify_sync::status::rules().collect();
    assert_eq!(rules_hit, all_rules, "every row of the table has a vector");
    // The batch form gives the same answers, in order.
    let batch: Vec<Value> = compute_statuses(&inputs)
        .into_iter()
        .map(|s| serde_json::to_value(s).expect("serializes"))
        .collect();
    assert_eq!(batch, expected);
}

#[test]
fn fingerprint_vectors() {
    let file = vectors("fingerprint.json");
    let cases = cases(&file);
    let mut failures = Vec::new();
    for case in cases {
        let name = case["name"].as_str().unwrap_or_default();
        let snapshot: Snapshot = serde_json::from_value(case["input"]["snapshot"].clone())
            .unwrap_or_else(|e| panic!("{name}: snapshot does not decode: {e}"));
        let mask: FieldMask = match case["input"].get("mask") {
            None => FieldMask::ALL,
            Some(m) => serde_json::from_value(m.clone())
                .unwrap_or_else(|e| panic!("{name}: mask does not decode: {e}")),
        };
        let canonical = match &snapshot {
            Snapshot::Product(p) => shopify_sync::staging::canonical_product(p, mask),
            Snapshot::Collection(c) => shopify_sync::staging::canonical_collection(c, mask),
        };
        let fingerprint = snapshot.fingerprint(mask);
        let want_canonical = case["expected"]["canonical"].as_str().unwrap_or_default();
        let want: Fingerprint = case["expected"]["fingerprint"]
            .as_str()
            .unwrap_or_default()
            .parse()
            .unwrap_or_else(|e| panic!("{name}: expected fingerprint: {e}"));
        if canonical != want_canonical {
            failures.push(format!(
                "{name}: canonical\n  expected {want_canonical}\n  got      {canonical}"
            ));
        }
        if fingerprint != want {
            failures.push(format!("{name}: fingerprint {fingerprint} != {want}"));
        }
        // The expected fingerprint is the SHA-256 of the expected canonical document, and
        // a normalised snapshot fingerprints the same.
        assert_eq!(
            Fingerprint::of_canonical(want_canonical),
            want,
            "{name}: expected values disagree"
        );
        assert_eq!(
            snapshot.clone().normalized().fingerprint(mask),
            fingerprint,
            "{name}"
        );
        // Writing the snapshot and reading it back changes nothing.
        let back: Snapshot =
            serde_json::from_value(serde_json::to_value(&snapshot).expect("serializes"))
                .expect("reads back");
        assert_eq!(back.fingerprint(mask), fingerprint, "{name}: round trip");
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));

    // The vectors show both sides of every normalisation: some cases share a
    // fingerprint, and the respelled product matches the original.
    let by_name: HashMap<&str, &str> = cases
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap_or_default(),
                c["expected"]["fingerprint"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        by_name["graph tee, every field"],
        by_name["graph tee respelled, every field"]
    );
    assert_ne!(by_name["options in order"], by_name["options reordered"]);
}

/// Every `ErrorKind` by its snake_case name. `ErrorKind` is `#[non_exhaustive]`, so a
/// test outside the crate cannot match it exhaustively; serde's "unknown variant" message
/// lists every variant name instead, so a kind added later shows up here.
fn every_error_kind() -> Vec<String> {
    let err = serde_json::from_str::<ErrorKind>("\"\"").expect_err("no kind is named \"\"");
    let message = err.to_string();
    let listed = message
        .split_once("expected one of ")
        .map(|(_, rest)| rest)
        .unwrap_or_else(|| panic!("unexpected serde message: {message}"));
    listed
        .split(", ")
        .map(|name| {
            name.trim_matches(|c: char| c == '`' || c.is_whitespace() || c == ',')
                .split('`')
                .next()
                .unwrap_or_default()
                .to_string()
        })
        .filter(|name| !name.is_empty())
        .collect()
}

/// Python's builtin exception names (3.8-3.13) and standard-library ones the bindings must
/// not reuse.
const PYTHON_RESERVED: &[&str] = &[
    "ArithmeticError",
    "AssertionError",
    "AttributeError",
    "BaseException",
    "BlockingIOError",
    "BrokenPipeError",
    "BufferError",
    "ChildProcessError",
    "ConnectionAbortedError",
    "ConnectionError",
    "ConnectionRefusedError",
    "ConnectionResetError",
    "EOFError",
    "EnvironmentError",
    "Exception",
    "FileExistsError",
    "FileNotFoundError",
    "FloatingPointError",
    "GeneratorExit",
    "IOError",
    "ImportError",
    "IndentationError",
    "IndexError",
    "InterruptedError",
    "IsADirectoryError",
    "KeyError",
    "KeyboardInterrupt",
    "LookupError",
    "MemoryError",
    "ModuleNotFoundError",
    "NameError",
    "NotADirectoryError",
    "NotImplementedError",
    "OSError",
    "OverflowError",
    "PermissionError",
    "ProcessLookupError",
    "PythonFinalizationError",
    "RecursionError",
    "ReferenceError",
    "RuntimeError",
    "StopAsyncIteration",
    "StopIteration",
    "SyntaxError",
    "SystemError",
    "SystemExit",
    "TabError",
    "TimeoutError",
    "TypeError",
    "UnboundLocalError",
    "UnicodeDecodeError",
    "UnicodeEncodeError",
    "UnicodeError",
    "UnicodeTranslateError",
    "ValueError",
    "ZeroDivisionError",
    // Standard library.
    "CancelledError",
    "InvalidStateError",
    "JSONDecodeError",
];

fn pascal_case(snake: &str) -> String {
    snake
        .split('_')
        .map(|word| {
            let mut chars = word.chars();
            chars.next().map_or_else(String::new, |first| {
                first.to_ascii_uppercase().to_string() + chars.as_str()
            })
        })
        .collect()
}

#[test]
fn error_vectors() {
    let file = vectors("errors.json");
    let cases = cases(&file);
    assert_eq!(file["python_base_exception"], "ShopifySyncError");
    assert_eq!(file["js_error_class"], "ShopifySyncError");

    let kinds = every_error_kind();
    assert!(kinds.len() >= 14, "{kinds:?}");
    let listed: Vec<&str> = cases
        .iter()
        .map(|c| c["input"]["kind"].as_str().unwrap_or_default())
        .collect();
    let mut sorted_kinds = kinds.clone();
    sorted_kinds.sort();
    let mut sorted_listed: Vec<String> = listed.iter().map(|s| s.to_string()).collect();
    sorted_listed.sort();
    assert_eq!(
        sorted_listed, sorted_kinds,
        "errors.json must list every ErrorKind exactly once"
    );

    let mut python_names = HashSet::new();
    let mut js_codes = HashSet::new();
    for case in cases {
        let name = case["name"].as_str().unwrap_or_default();
        let kind_name = case["input"]["kind"].as_str().unwrap_or_default();
        assert_eq!(name, kind_name, "cases are named after their kind");
        let kind: ErrorKind = serde_json::from_value(case["input"]["kind"].clone())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(kind.as_str(), kind_name);
        assert_eq!(kind.to_string(), kind_name);

        let expected = &case["expected"];
        assert_eq!(
            expected["retryable"].as_bool(),
            Some(Error::new(kind, "x").is_retryable()),
            "{name}: retryable must match Error::new's default"
        );

        let js = expected["js_code"].as_str().unwrap_or_default();
        assert_eq!(
            js,
            format!("SHOPIFY_{}", kind_name.to_ascii_uppercase()),
            "{name}"
        );
        assert!(js_codes.insert(js.to_string()), "{name}: duplicate js code");

        let py = expected["python_exception"].as_str().unwrap_or_default();
        let bare = format!("{}Error", pascal_case(kind_name));
        let want = if PYTHON_RESERVED.contains(&bare.as_str()) {
            format!("Shopify{bare}")
        } else {
            bare
        };
        assert_eq!(py, want, "{name}: python exception name");
        assert!(
            !PYTHON_RESERVED.contains(&py),
            "{name}: {py} shadows Python's"
        );
        assert_ne!(
            py, "ShopifySyncError",
            "{name}: the base class is not a kind"
        );
        assert!(
            python_names.insert(py.to_string()),
            "{name}: duplicate class"
        );
    }
}
