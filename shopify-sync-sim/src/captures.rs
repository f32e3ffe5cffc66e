//! The real Shopify request/response captures the simulator was fitted to, as data:
//! every captured request whose response reports `extensions.cost`.
//!
//! The captures live in `data/shopify/captures/` (see `data/shopify/PROVENANCE.md`).
//! Their layouts vary: a request is an object holding a document (`query` or
//! `document`), maybe `variables` and `operationName`, next to its response (`response`
//! or `result`, the body possibly under `body` or `payload`; for a `request` object, the
//! response is its sibling).
use serde_json::{Map, Value};
use std::path::{Path, PathBuf};

/// One captured request and what real Shopify answered.
#[derive(Debug, Clone)]
pub struct CapturedRequest {
    /// The capture file, relative to the captures folder.
    pub file: String,
    /// JSON pointer of the request inside the file.
    pub pointer: String,
    /// The GraphQL document.
    pub document: String,
    /// The operation name, when recorded.
    pub operation_name: Option<String>,
    /// The variables.
    pub variables: Map<String, Value>,
    /// `extensions.cost.requestedQueryCost`.
    pub requested_cost: u64,
    /// `extensions.cost.actualQueryCost`, when the request executed.
    pub actual_cost: Option<u64>,
    /// The response body.
    pub response: Value,
}

/// The folder holding the captures in this repository.
pub fn captures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/shopify/captures")
}

/// Every captured request with a reported cost, in file order. Unreadable files are
/// reported as errors rather than skipped.
pub fn requests_with_cost(root: &Path) -> Result<Vec<CapturedRequest>, String> {
    let mut files = Vec::new();
    json_files(root, &mut files)?;
    files.sort();
    let mut out = Vec::new();
    for path in files {
        let name = path
            .strip_prefix(root)
            .unwrap_or(&path)
            .display()
            .to_string();
        let text = std::fs::read_to_string(&path).map_err(|e| format!("{name}: {e}"))?;
        let json: Value = serde_json::from_str(&text).map_err(|e| format!("{name}: {e}"))?;
        walk(&name, &json, String::new(), None, &mut out);
    }
    Ok(out)
}

fn json_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), String> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            json_files(&path, out)?;
        } else if path.extension().is_some_and(|ext| ext == "json") {
            out.push(path);
        }
    }
    Ok(())
}

/// Find every object holding a document next to a response with a requested cost.
/// Response `data` and request `variables` are not searched: they hold `query` fields
/// and arguments of their own.
fn walk(
    file: &str,
    value: &Value,
    pointer: String,
    parent: Option<&Map<String, Value>>,
    out: &mut Vec<CapturedRequest>,
) {
    match value {
        Value::Object(map) => {
            let document = ["query", "document"]
                .iter()
                .find_map(|key| map.get(*key)?.as_str());
            if let Some(document) = document {
                let sibling = || {
                    if pointer.ends_with("/request") {
                        parent
                    } else {
                        None
                    }
                };
                let response = ["response", "result"]
                    .iter()
                    .find_map(|key| map.get(*key).or_else(|| sibling()?.get(*key)));
                if let Some((body, requested, actual)) = response.and_then(cost_in) {
                    out.push(CapturedRequest {
                        file: file.to_owned(),
                        pointer: pointer.clone(),
                        document: document.to_owned(),
                        operation_name: map
                            .get("operationName")
                            .and_then(Value::as_str)
                            .map(str::to_owned),
                        variables: map
                            .get("variables")
                            .and_then(Value::as_object)
                            .cloned()
                            .unwrap_or_default(),
                        requested_cost: requested,
                        actual_cost: actual,
                        response: body.clone(),
                    });
                }
            }
            for (key, child) in map {
                if key != "data" && key != "variables" {
                    let escaped = key.replace('~', "~0").replace('/', "~1");
                    walk(file, child, format!("{pointer}/{escaped}"), Some(map), out);
                }
            }
        }
        Value::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                walk(file, item, format!("{pointer}/{index}"), None, out);
            }
        }
        _ => {}
    }
}

fn cost_in(response: &Value) -> Option<(&Value, u64, Option<u64>)> {
    [
        Some(response),
        response.get("body"),
        response.get("payload"),
    ]
    .into_iter()
    .flatten()
    .find_map(|body| {
        let requested = body
            .pointer("/extensions/cost/requestedQueryCost")?
            .as_u64()?;
        let actual = body
            .pointer("/extensions/cost/actualQueryCost")
            .and_then(Value::as_u64);
        Some((body, requested, actual))
    })
}
