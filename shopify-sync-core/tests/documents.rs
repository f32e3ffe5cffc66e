//! Every document the client can send validates against both shipped Admin schemas, so
//! the client works whichever of the supported versions a shop is configured for.
use apollo_compiler::ExecutableDocument;
use shopify_sync::client::{bulk, collections, products, webhooks};
use shopify_sync::schema::{admin_schema, SchemaVersion};
use shopify_sync::sync;

#[test]
fn every_client_document_validates_against_2025_10_and_2026_07() {
    let docs: Vec<(&str, String)> = products::documents()
        .into_iter()
        .chain(collections::documents())
        .chain(webhooks::documents())
        .chain(bulk::documents())
        .chain(sync::documents())
        .collect();
    assert!(docs.len() >= 20, "all modules list their documents");
    let mut failures = vec![];
    for version in SchemaVersion::ALL {
        for (name, doc) in &docs {
            if let Err(e) =
                ExecutableDocument::parse_and_validate(admin_schema(version), doc, "doc.graphql")
            {
                failures.push(format!(
                    "{name} against {}:\n{}",
                    version.as_str(),
                    e.errors
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
