//! The client's error shapes decode every `userErrors` list and every top-level
//! `errors` list in the real captured Shopify responses.
use serde_json::Value;
use shopify_sync::error::{GraphqlError, UserError};
use shopify_sync_sim::captures::captures_dir;

fn walk(v: &Value, user: &mut Vec<Value>, graphql: &mut Vec<Value>) {
    match v {
        Value::Object(m) => {
            for (k, child) in m {
                match (k.as_str(), child) {
                    ("userErrors", Value::Array(_)) => user.push(child.clone()),
                    ("errors", Value::Array(items))
                        if items.iter().all(|e| e.get("message").is_some()) =>
                    {
                        graphql.push(child.clone())
                    }
                    _ => {}
                }
                walk(child, user, graphql);
            }
        }
        Value::Array(items) => items.iter().for_each(|i| walk(i, user, graphql)),
        _ => {}
    }
}

#[test]
fn user_errors_and_graphql_errors_decode_from_every_capture() {
    let (mut user, mut graphql) = (vec![], vec![]);
    for dir in std::fs::read_dir(captures_dir()).unwrap().flatten() {
        for file in std::fs::read_dir(dir.path()).unwrap().flatten() {
            let json: Value =
                serde_json::from_str(&std::fs::read_to_string(file.path()).unwrap()).unwrap();
            walk(&json, &mut user, &mut graphql);
        }
    }
    let mut non_empty = 0;
    for list in &user {
        let errors: Vec<UserError> =
            serde_json::from_value(list.clone()).unwrap_or_else(|e| panic!("{e}: {list}"));
        non_empty += usize::from(!errors.is_empty());
        for e in &errors {
            assert!(!e.message.is_empty());
        }
    }
    let mut coded = 0;
    for list in &graphql {
        for e in list
            .as_array()
            .unwrap()
            .iter()
            .map(GraphqlError::from_response)
        {
            assert_ne!(e.message, "(no message)");
            coded += usize::from(e.code.is_some());
        }
    }
    assert!(coded > 30, "extensions.code read: {coded}");
    assert!(
        user.len() > 300 && non_empty > 50,
        "{} userErrors lists, {non_empty} non-empty",
        user.len()
    );
    assert!(graphql.len() > 30, "{} errors lists", graphql.len());
}
