//! The mutation handlers: each takes its coerced arguments, calls the store, and builds
//! the payload record; the generic executor in [`crate::objects`] completes the
//! payload's selection. A mutation the simulator does not implement is a field error
//! that says so, never a silent success.
use crate::objects::build::{job_record, record, user_errors, Ctx, Obj, Val};
use crate::objects::gid;
use crate::store::{Store, UserError};
use apollo_compiler::resolvers::{FieldError, ResolveInfo};
use serde_json::{json, Map, Value};

/// The mutations the simulator implements.
pub const IMPLEMENTED: &[&str] = &[
    "productCreate",
    "productUpdate",
    "productDelete",
    "productSet",
    "productVariantsBulkCreate",
    "productVariantsBulkUpdate",
    "productVariantsBulkDelete",
    "collectionCreate",
    "collectionUpdate",
    "collectionDelete",
    "collectionAddProducts",
    "collectionAddProductsV2",
    "collectionRemoveProducts",
    "tagsAdd",
    "tagsRemove",
    "publishablePublish",
    "metafieldDefinitionCreate",
    "webhookSubscriptionCreate",
    "webhookSubscriptionDelete",
    "bulkOperationRunQuery",
    "bulkOperationRunMutation",
    "bulkOperationCancel",
    "stagedUploadsCreate",
];

fn obj_arg(args: &Map<String, Value>, names: &[&str]) -> Map<String, Value> {
    names
        .iter()
        .find_map(|n| args.get(*n).and_then(Value::as_object))
        .cloned()
        .unwrap_or_default()
}

fn list_arg<'a>(args: &'a Map<String, Value>, name: &str) -> &'a [Value] {
    args.get(name)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

pub(crate) fn mutation_field<'c, 's>(
    ctx: &'c Ctx<'s>,
    name: &str,
    args: &Map<String, Value>,
    info: &ResolveInfo<'_>,
) -> Result<Option<Val<'c, 's>>, FieldError> {
    let payload = info.field_definition().ty.inner_named_type().to_string();
    let err_type = Ctx::user_error_type(info.schema(), &payload);
    let null = || Val::Json(Value::Null);
    let errs = |e: &[UserError]| user_errors(&err_type, e);
    let product = |r: &Result<u64, Vec<UserError>>| {
        r.as_ref()
            .ok()
            .map_or(null(), |id| Val::Obj(Obj::Product(ctx, *id)))
    };
    let collection = |r: &Result<u64, Vec<UserError>>| {
        r.as_ref()
            .ok()
            .map_or(null(), |id| Val::Obj(Obj::Collection(ctx, *id)))
    };
    let errors_of =
        |r: &Result<u64, Vec<UserError>>| errs(r.as_ref().err().map_or(&[][..], Vec::as_slice));
    let fields: Vec<(&'static str, Val)> = match name {
        "bulkOperationRunQuery"
        | "bulkOperationRunMutation"
        | "bulkOperationCancel"
        | "stagedUploadsCreate" => {
            crate::bulk::mutation_field(ctx, name, args, info.schema(), &err_type)
        }
        "productCreate" => {
            let r =
                ctx.write(|s: &mut Store| s.product_create(&obj_arg(args, &["product", "input"])));
            vec![("product", product(&r)), ("userErrors", errors_of(&r))]
        }
        "productUpdate" => {
            let mut input = obj_arg(args, &["product", "input"]);
            if let Some(id) = args.get("identifier").and_then(|i| i.get("id")) {
                input.insert("id".into(), id.clone());
            }
            let r = ctx.write(|s: &mut Store| s.product_update(&input));
            // Shopify returns the unchanged product beside the errors when it exists.
            let existing = input
                .get("id")
                .and_then(crate::store::gid_number)
                .filter(|id| ctx.read(|s| s.product(*id).is_some()));
            let shown = r.as_ref().map(|id| *id).ok().or(existing);
            vec![
                (
                    "product",
                    shown.map_or(null(), |id| Val::Obj(Obj::Product(ctx, id))),
                ),
                ("userErrors", errors_of(&r)),
            ]
        }
        "productDelete" => {
            let id = obj_arg(args, &["input"])
                .get("id")
                .cloned()
                .unwrap_or_default();
            let r = ctx.write(|s: &mut Store| s.product_delete(&id));
            let deleted = r
                .as_ref()
                .ok()
                .map_or(Value::Null, |id| json!(gid("Product", *id)));
            vec![
                ("deletedProductId", deleted.into()),
                ("userErrors", errors_of(&r)),
            ]
        }
        "productSet" => {
            let input = obj_arg(args, &["input"]);
            let ident = args.get("identifier").and_then(Value::as_object).cloned();
            let r = ctx.write(|s: &mut Store| s.product_set(&input, ident.as_ref()));
            let synchronous = args
                .get("synchronous")
                .and_then(Value::as_bool)
                .unwrap_or(true);
            if synchronous {
                vec![("product", product(&r)), ("userErrors", errors_of(&r))]
            } else {
                let op = record(
                    "ProductSetOperation",
                    vec![
                        (
                            "id",
                            json!(gid("ProductSetOperation", r.as_ref().map_or(0, |id| *id)))
                                .into(),
                        ),
                        ("status", json!("COMPLETE").into()),
                        ("product", product(&r)),
                        (
                            "userErrors",
                            user_errors(
                                "ProductSetUserError",
                                r.as_ref().err().map_or(&[][..], Vec::as_slice),
                            ),
                        ),
                    ],
                );
                vec![
                    ("product", null()),
                    ("productSetOperation", op.into()),
                    ("userErrors", errs(&[])),
                ]
            }
        }
        "productVariantsBulkCreate" | "productVariantsBulkUpdate" => {
            let pid = args.get("productId").cloned().unwrap_or_default();
            let variants = list_arg(args, "variants");
            let r = ctx.write(|s: &mut Store| {
                if name == "productVariantsBulkCreate" {
                    let strategy = args
                        .get("strategy")
                        .and_then(Value::as_str)
                        .unwrap_or("DEFAULT");
                    s.variants_bulk_create(&pid, variants, strategy)
                } else {
                    s.variants_bulk_update(&pid, variants)
                }
            });
            match r {
                Ok((p, vs)) => vec![
                    ("product", Val::Obj(Obj::Product(ctx, p))),
                    (
                        "productVariants",
                        Val::List(
                            vs.into_iter()
                                .map(|v| Val::Obj(Obj::Variant(ctx, v)))
                                .collect(),
                        ),
                    ),
                    ("userErrors", errs(&[])),
                ],
                Err(e) => vec![
                    ("product", null()),
                    ("productVariants", null()),
                    ("userErrors", errs(&e)),
                ],
            }
        }
        "productVariantsBulkDelete" => {
            let pid = args.get("productId").cloned().unwrap_or_default();
            let r = ctx
                .write(|s: &mut Store| s.variants_bulk_delete(&pid, list_arg(args, "variantsIds")));
            vec![("product", product(&r)), ("userErrors", errors_of(&r))]
        }
        "collectionCreate" => {
            let r = ctx.write(|s: &mut Store| {
                s.collection_create(&obj_arg(args, &["collection", "input"]))
            });
            vec![
                ("collection", collection(&r)),
                ("userErrors", errors_of(&r)),
            ]
        }
        "collectionUpdate" => {
            let r = ctx.write(|s: &mut Store| {
                s.collection_update(&obj_arg(args, &["collection", "input"]))
            });
            vec![
                ("collection", collection(&r)),
                ("userErrors", errors_of(&r)),
            ]
        }
        "collectionDelete" => {
            let id = obj_arg(args, &["input"])
                .get("id")
                .cloned()
                .unwrap_or_default();
            let r = ctx.write(|s: &mut Store| s.collection_delete(&id));
            let deleted = r
                .as_ref()
                .ok()
                .map_or(Value::Null, |id| json!(gid("Collection", *id)));
            vec![
                ("deletedCollectionId", deleted.into()),
                ("userErrors", errors_of(&r)),
            ]
        }
        "collectionAddProducts" => {
            let id = args.get("id").cloned().unwrap_or_default();
            let r = ctx.write(|s: &mut Store| s.collection_add(&id, list_arg(args, "productIds")));
            vec![
                ("collection", collection(&r)),
                ("userErrors", errors_of(&r)),
            ]
        }
        "collectionAddProductsV2" | "collectionRemoveProducts" => {
            let id = args.get("id").cloned().unwrap_or_default();
            let add = name == "collectionAddProductsV2";
            let r =
                ctx.write(|s: &mut Store| s.collection_job(&id, list_arg(args, "productIds"), add));
            match r {
                Ok(job) => vec![
                    (
                        "job",
                        job_record(&format!("gid://shopify/Job/{job}"), false, ctx),
                    ),
                    ("userErrors", errs(&[])),
                ],
                Err(e) => vec![("job", null()), ("userErrors", errs(&e))],
            }
        }
        "tagsAdd" | "tagsRemove" => {
            let id = args.get("id").cloned().unwrap_or_default();
            let r = ctx.write(|s: &mut Store| {
                s.tags_change(&id, list_arg(args, "tags"), name == "tagsAdd")
            });
            vec![("node", product(&r)), ("userErrors", errors_of(&r))]
        }
        "metafieldDefinitionCreate" => {
            let input = obj_arg(args, &["definition"]);
            let r = ctx.write(|s: &mut Store| s.metafield_definition_create(&input));
            let created = r.as_ref().ok().and_then(|id| {
                ctx.read(|s| {
                    s.metafield_definitions()
                        .iter()
                        .find(|d| d.id == *id)
                        .map(crate::objects::metafield_definition_record)
                })
            });
            vec![
                ("createdDefinition", created.into()),
                ("userErrors", errors_of(&r)),
            ]
        }
        "publishablePublish" => {
            let id = args.get("id").cloned().unwrap_or_default();
            let r = ctx.write(|s: &mut Store| s.publish(&id, list_arg(args, "input")));
            vec![
                ("publishable", product(&r)),
                ("shop", crate::objects::shop_record(ctx)),
                ("userErrors", errors_of(&r)),
            ]
        }
        "webhookSubscriptionCreate" => {
            let topic = args
                .get("topic")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let input = obj_arg(args, &["webhookSubscription"]);
            let r = ctx.write(|s: &mut Store| s.webhook_subscription_create(topic, &input));
            let created = r.as_ref().ok().and_then(|id| {
                ctx.read(|s| {
                    s.webhook_subscription(*id)
                        .map(crate::objects::webhook_subscription_record)
                })
            });
            vec![
                ("webhookSubscription", created.into()),
                ("userErrors", errors_of(&r)),
            ]
        }
        "webhookSubscriptionDelete" => {
            let id = args.get("id").cloned().unwrap_or_default();
            let r = ctx.write(|s: &mut Store| s.webhook_subscription_delete(&id));
            let deleted = r
                .as_ref()
                .ok()
                .map_or(Value::Null, |id| json!(gid("WebhookSubscription", *id)));
            vec![
                ("deletedWebhookSubscriptionId", deleted.into()),
                ("userErrors", errors_of(&r)),
            ]
        }
        other => {
            return Err(FieldError {
                message: format!(
                "The Shopify simulator does not implement the mutation `{other}`; implemented: {}.",
                IMPLEMENTED.join(", ")
            ),
            })
        }
    };
    Ok(Some(record(&payload, fields).into()))
}
