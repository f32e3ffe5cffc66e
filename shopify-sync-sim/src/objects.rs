//! GraphQL execution over the store: one generic executor driven by the schema.
//!
//! apollo-compiler's executor walks the document (fragments, aliases, `@skip` /
//! `@include`, argument and result coercion, null propagation); this module only tells
//! it the value of each field of each object. Entities (products, variants, options,
//! collections) are handles into the store; everything else (payloads, `PageInfo`,
//! `Count`, `MoneyV2` ...) is a [`Record`]. Any field the simulator has no data for gets
//! the schema's neutral value for its type (null, empty list, empty connection, zero),
//! so any valid document executes, including users' own.
use crate::catalog::{Collection, Product, Variant};
use crate::clock::Timestamp;
use crate::store::{gid_number, Store, UserError};
use apollo_compiler::resolvers::{FieldError, ObjectValue, ResolveInfo, ResolvedValue};
use apollo_compiler::response::JsonValue;
use apollo_compiler::schema::{ExtendedType, Type};
use base64::Engine as _;
use serde_json::{json, Map, Value};
use std::cell::{Ref, RefCell, RefMut};
use std::cmp::Ordering;
use std::rc::Rc;

/// What one request executes against.
pub struct Ctx<'s> {
    store: RefCell<&'s mut Store>,
    shop_domain: String,
    index_horizon: Option<Timestamp>,
    api_version: String,
    bulk_window: Option<(usize, usize)>,
}

impl<'s> Ctx<'s> {
    /// A context over `store` for the shop `shop_domain`.
    pub fn new(store: &'s mut Store, shop_domain: &str) -> Self {
        Ctx {
            store: RefCell::new(store),
            shop_domain: shop_domain.to_string(),
            index_horizon: None,
            api_version: shopify_sync::schema::DEFAULT_API_VERSION.to_string(),
            bulk_window: None,
        }
    }

    /// The API version of the request (it decides version-dependent behaviour, such as
    /// the bulk operation limits).
    pub fn with_api_version(mut self, version: &str) -> Self {
        self.api_version = version.to_string();
        self
    }

    /// The request's API version.
    pub fn api_version(&self) -> &str {
        &self.api_version
    }

    /// Execute as a bulk query does: pagination arguments are ignored, nested
    /// connections are unbounded, and the top-level connection yields the items at
    /// positions `window.0..window.1` of its whole, sorted list.
    pub fn with_bulk_window(mut self, window: (usize, usize)) -> Self {
        self.bulk_window = Some(window);
        self
    }

    /// Products written after `horizon` are not yet visible to `updated_at` filters.
    pub fn with_index_horizon(mut self, horizon: Option<Timestamp>) -> Self {
        self.index_horizon = horizon;
        self
    }

    fn store(&self) -> Ref<'_, &'s mut Store> {
        self.store.borrow()
    }

    fn store_mut(&self) -> RefMut<'_, &'s mut Store> {
        self.store.borrow_mut()
    }

    /// The root object for a query.
    pub fn query_root(&self) -> Obj<'_, 's> {
        Obj::Query(self)
    }

    /// The root object for a mutation.
    pub fn mutation_root(&self) -> Obj<'_, 's> {
        Obj::Mutation(self)
    }
}

/// A value a field resolves to, before it is handed to the executor.
pub(crate) enum Val<'c, 's> {
    Json(Value),
    Obj(Obj<'c, 's>),
    List(Vec<Val<'c, 's>>),
}

impl<'c, 's> From<Value> for Val<'c, 's> {
    fn from(v: Value) -> Self {
        Val::Json(v)
    }
}

impl<'c, 's> From<Obj<'c, 's>> for Val<'c, 's> {
    fn from(o: Obj<'c, 's>) -> Self {
        Val::Obj(o)
    }
}

impl<'c, 's> From<Option<Obj<'c, 's>>> for Val<'c, 's> {
    fn from(o: Option<Obj<'c, 's>>) -> Self {
        o.map_or(Val::Json(Value::Null), Val::Obj)
    }
}

/// A plain object: a type name and its fields. Missing fields take neutral values.
pub struct Record<'c, 's> {
    type_name: String,
    fields: Vec<(&'static str, Val<'c, 's>)>,
}

/// A page of a connection.
pub struct Page<'c, 's> {
    type_name: String,
    edge_type: String,
    items: Vec<(String, Obj<'c, 's>)>,
    has_next: bool,
    has_previous: bool,
}

/// Any object the executor can ask fields of.
#[derive(Clone)]
pub enum Obj<'c, 's> {
    /// `QueryRoot`.
    Query(&'c Ctx<'s>),
    /// `Mutation`.
    Mutation(&'c Ctx<'s>),
    /// A product by id.
    Product(&'c Ctx<'s>, u64),
    /// A variant by id.
    Variant(&'c Ctx<'s>, u64),
    /// A collection by id.
    Collection(&'c Ctx<'s>, u64),
    /// Option `index` of a product.
    ProductOption(&'c Ctx<'s>, u64, usize),
    /// A plain record.
    Record(Rc<Record<'c, 's>>),
    /// A connection page.
    Connection(Rc<Page<'c, 's>>),
    /// An edge of a connection page.
    Edge(Rc<Page<'c, 's>>, usize),
    /// An object of a type the simulator holds no data for: every field is neutral.
    Empty(String),
}

pub(crate) fn record<'c, 's>(
    type_name: &str,
    fields: Vec<(&'static str, Val<'c, 's>)>,
) -> Obj<'c, 's> {
    Obj::Record(Rc::new(Record {
        type_name: type_name.to_string(),
        fields,
    }))
}

/// `gid://shopify/{kind}/{id}`.
pub fn gid(kind: &str, id: u64) -> String {
    format!("gid://shopify/{kind}/{id}")
}

fn field_error(message: impl Into<String>) -> FieldError {
    FieldError {
        message: message.into(),
    }
}

impl<'c, 's> Obj<'c, 's> {
    /// The context of a store-backed object.
    fn ctx(&self) -> Option<&'c Ctx<'s>> {
        match self {
            Obj::Query(c)
            | Obj::Mutation(c)
            | Obj::Product(c, _)
            | Obj::Variant(c, _)
            | Obj::Collection(c, _)
            | Obj::ProductOption(c, ..) => Some(*c),
            _ => None,
        }
    }
}

impl<'c, 's> ObjectValue for Obj<'c, 's> {
    fn type_name(&self) -> &str {
        match self {
            Obj::Query(_) => "QueryRoot",
            Obj::Mutation(_) => "Mutation",
            Obj::Product(..) => "Product",
            Obj::Variant(..) => "ProductVariant",
            Obj::Collection(..) => "Collection",
            Obj::ProductOption(..) => "ProductOption",
            Obj::Record(r) => &r.type_name,
            Obj::Connection(p) => &p.type_name,
            Obj::Edge(p, _) => &p.edge_type,
            Obj::Empty(t) => t,
        }
    }

    fn resolve_field<'a>(
        &'a self,
        info: &'a ResolveInfo<'a>,
    ) -> Result<ResolvedValue<'a>, FieldError> {
        let args = serde_json::to_value(info.arguments()).unwrap_or(Value::Null);
        let mut args = args.as_object().cloned().unwrap_or_default();
        if let Some((lo, hi)) = self.ctx().and_then(|c| c.bulk_window) {
            // Bulk execution: `paginate` reads these instead of the pagination arguments.
            args.insert("__bulk".into(), json!(true));
            if matches!(self, Obj::Query(_)) {
                args.insert("__bulk_window".into(), json!([lo, hi]));
            }
        }
        let name = info.field_name();
        let val = match self {
            Obj::Query(ctx) => query_field(ctx, name, &args, info)?,
            Obj::Mutation(ctx) => crate::mutations::mutation_field(ctx, name, &args, info)?,
            Obj::Product(ctx, id) => {
                let store = ctx.store();
                match store.product(*id) {
                    Some(p) => product_field(ctx, &store, p, name, &args, info)?,
                    None => None,
                }
            }
            Obj::Variant(ctx, id) => {
                let store = ctx.store();
                match store.variant(*id) {
                    Some((p, v)) => variant_field(ctx, p, v, name),
                    None => None,
                }
            }
            Obj::Collection(ctx, id) => {
                let store = ctx.store();
                match store.collection(*id) {
                    Some(c) => collection_field(ctx, &store, c, name, &args, info)?,
                    None => None,
                }
            }
            Obj::ProductOption(ctx, pid, k) => {
                let store = ctx.store();
                store.product(*pid).and_then(|p| option_field(p, *k, name))
            }
            Obj::Record(r) => r
                .fields
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.share()),
            Obj::Connection(page) => Some(connection_field(page, name)),
            Obj::Edge(page, i) => match name {
                "cursor" => Some(Val::Json(page.items[*i].0.clone().into())),
                "node" => Some(Val::Obj(page.items[*i].1.clone())),
                _ => None,
            },
            Obj::Empty(_) => None,
        };
        Ok(match val {
            Some(v) => v.into_resolved(),
            None => neutral(info.schema(), &info.field_definition().ty),
        })
    }
}

impl<'c, 's> Val<'c, 's> {
    /// A copy for handing out: records and pages are shared, not cloned deeply.
    fn share(&self) -> Val<'c, 's> {
        match self {
            Val::Json(v) => Val::Json(v.clone()),
            Val::Obj(o) => Val::Obj(o.clone()),
            Val::List(items) => Val::List(items.iter().map(Val::share).collect()),
        }
    }

    fn into_resolved<'a>(self) -> ResolvedValue<'a>
    where
        'c: 'a,
        's: 'a,
    {
        match self {
            // The executor completes list types item by item, so JSON arrays go as lists.
            Val::Json(Value::Array(items)) => {
                ResolvedValue::list(items.into_iter().map(|v| Val::Json(v).into_resolved()))
            }
            Val::Json(v) => ResolvedValue::Leaf(JsonValue::from(v)),
            Val::Obj(o) => ResolvedValue::object(o),
            Val::List(items) => ResolvedValue::list(items.into_iter().map(Val::into_resolved)),
        }
    }
}

/// The neutral value of a type: null where allowed, else an empty list, an empty
/// connection, zero, false, the first enum value, or an object of neutral fields.
fn neutral<'a>(schema: &apollo_compiler::Schema, ty: &Type) -> ResolvedValue<'a> {
    if !ty.is_non_null() {
        return ResolvedValue::null();
    }
    if ty.is_list() {
        return ResolvedValue::list(std::iter::empty());
    }
    let name = ty.inner_named_type().as_str();
    match schema.types.get(name) {
        Some(ExtendedType::Scalar(_)) => ResolvedValue::leaf(match name {
            "Boolean" => json!(false),
            "Int" | "Float" => json!(0),
            "Decimal" | "Money" => json!("0.0"),
            "DateTime" => json!("1970-01-01T00:00:00Z"),
            _ => json!(""),
        }),
        Some(ExtendedType::Enum(e)) => ResolvedValue::leaf(json!(e
            .values
            .keys()
            .next()
            .map(|k| k.as_str())
            .unwrap_or(""))),
        Some(ExtendedType::Object(_)) if name.ends_with("Connection") => {
            ResolvedValue::object(Obj::Connection(Rc::new(Page {
                type_name: name.to_string(),
                edge_type: String::new(),
                items: vec![],
                has_next: false,
                has_previous: false,
            })))
        }
        Some(ExtendedType::Object(_)) => ResolvedValue::object(Obj::Empty(name.to_string())),
        _ => {
            // An interface or union: an empty object of its first implementer.
            let implementer = schema
                .types
                .values()
                .find_map(|t| match t {
                    ExtendedType::Object(o)
                        if o.implements_interfaces.iter().any(|i| i.name == name) =>
                    {
                        Some(o.name.to_string())
                    }
                    _ => None,
                })
                .or_else(|| match schema.types.get(name) {
                    Some(ExtendedType::Union(u)) => {
                        u.members.iter().next().map(|m| m.name.to_string())
                    }
                    _ => None,
                });
            match implementer {
                Some(t) => ResolvedValue::object(Obj::Empty(t)),
                None => ResolvedValue::null(),
            }
        }
    }
}

fn connection_field<'c, 's>(page: &Rc<Page<'c, 's>>, name: &str) -> Val<'c, 's> {
    match name {
        "nodes" => Val::List(
            page.items
                .iter()
                .map(|(_, o)| Val::Obj(o.clone()))
                .collect(),
        ),
        "edges" => Val::List(
            (0..page.items.len())
                .map(|i| Val::Obj(Obj::Edge(page.clone(), i)))
                .collect(),
        ),
        "pageInfo" => record(
            "PageInfo",
            vec![
                ("hasNextPage", json!(page.has_next).into()),
                ("hasPreviousPage", json!(page.has_previous).into()),
                (
                    "startCursor",
                    json!(page.items.first().map(|i| &i.0)).into(),
                ),
                ("endCursor", json!(page.items.last().map(|i| &i.0)).into()),
            ],
        )
        .into(),
        _ => Val::Json(Value::Null),
    }
}

/// A sort key value: numbers and text compare within their kind.
#[derive(Debug, Clone, PartialEq, PartialOrd)]
enum Key {
    Num(i128),
    Text(String),
}

impl Key {
    fn to_json(&self) -> Value {
        match self {
            Key::Num(n) => json!(n.to_string()),
            Key::Text(s) => json!(s),
        }
    }
}

fn encode_cursor(key: &Key, id: u64) -> String {
    let raw = json!({"last_id": id, "last_value": key.to_json()}).to_string();
    base64::engine::general_purpose::STANDARD.encode(raw)
}

fn decode_cursor(cursor: &str) -> Result<(Value, u64), FieldError> {
    let bad = || {
        field_error(format!(
            "Invalid cursor for current pagination sort: {cursor}"
        ))
    };
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(cursor)
        .map_err(|_| bad())?;
    let v: Value = serde_json::from_slice(&bytes).map_err(|_| bad())?;
    let id = v.get("last_id").and_then(Value::as_u64).ok_or_else(bad)?;
    Ok((v.get("last_value").cloned().unwrap_or(Value::Null), id))
}

fn key_from_json(v: &Value, like: &Key) -> Key {
    match like {
        Key::Num(_) => Key::Num(v.as_str().and_then(|s| s.parse().ok()).unwrap_or(0)),
        Key::Text(_) => Key::Text(v.as_str().unwrap_or_default().to_string()),
    }
}

/// Cut one page out of `items` (sorted ascending by key then id) per the connection
/// arguments `first`/`after`/`last`/`before`/`reverse`. Errors like Shopify's when
/// neither or a too-large page size is asked for.
fn paginate<'c, 's>(
    info: &ResolveInfo<'_>,
    mut items: Vec<(Key, u64, Obj<'c, 's>)>,
    args: &Map<String, Value>,
) -> Result<Page<'c, 's>, FieldError> {
    // In bulk execution (see `Ctx::with_bulk_window`) every item is returned, or the
    // top-level connection's window of them.
    let bulk = args.get("__bulk").is_some();
    let window = args
        .get("__bulk_window")
        .and_then(Value::as_array)
        .map(|w| {
            let at = |i: usize| w.get(i).and_then(Value::as_u64).unwrap_or(0) as usize;
            (at(0), at(1))
        });
    let first = args.get("first").and_then(Value::as_i64).filter(|_| !bulk);
    let last = args.get("last").and_then(Value::as_i64).filter(|_| !bulk);
    if first.is_none() && last.is_none() && !bulk {
        return Err(field_error("you must provide one of first or last"));
    }
    for n in [first, last].into_iter().flatten() {
        if !(0..=250).contains(&n) {
            return Err(field_error(format!(
                "The page size must be between 0 and 250, got {n}"
            )));
        }
    }
    let cmp = |a: &(Key, u64), b: &(Key, u64)| {
        a.0.partial_cmp(&b.0)
            .unwrap_or(Ordering::Equal)
            .then(a.1.cmp(&b.1))
    };
    items.sort_by(|a, b| cmp(&(a.0.clone(), a.1), &(b.0.clone(), b.1)));
    if args.get("reverse").and_then(Value::as_bool) == Some(true) {
        items.reverse();
    }
    let reversed = args.get("reverse").and_then(Value::as_bool) == Some(true);
    let in_order = |a: &(Key, u64), b: &(Key, u64)| {
        let o = cmp(a, b);
        if reversed {
            o.reverse()
        } else {
            o
        }
    };
    let mut start = 0;
    let mut end = items.len();
    if let Some((lo, hi)) = window {
        start = lo.min(end);
        end = hi.min(end);
    }
    if let Some(after) = args.get("after").and_then(Value::as_str).filter(|_| !bulk) {
        let (value, id) = decode_cursor(after)?;
        if let Some(sample) = items.first() {
            let at = (key_from_json(&value, &sample.0), id);
            start = items
                .iter()
                .position(|i| in_order(&(i.0.clone(), i.1), &at) == Ordering::Greater)
                .unwrap_or(items.len());
        }
    }
    if let Some(before) = args.get("before").and_then(Value::as_str).filter(|_| !bulk) {
        let (value, id) = decode_cursor(before)?;
        if let Some(sample) = items.first() {
            let at = (key_from_json(&value, &sample.0), id);
            end = items
                .iter()
                .position(|i| in_order(&(i.0.clone(), i.1), &at) != Ordering::Less)
                .unwrap_or(items.len());
        }
    }
    let end = end.max(start);
    let (mut lo, mut hi) = (start, end);
    if let Some(n) = first {
        hi = hi.min(lo + n as usize);
    }
    if let Some(n) = last {
        lo = lo.max(hi.saturating_sub(n as usize));
    }
    let total = items.len();
    let page_items = items
        .drain(lo..hi)
        .map(|(k, id, o)| (encode_cursor(&k, id), o))
        .collect();
    let type_name = return_type(info);
    let edge_type = info
        .schema()
        .get_object(&type_name)
        .and_then(|o| o.fields.get("edges"))
        .map(|f| f.ty.inner_named_type().to_string())
        .unwrap_or_default();
    Ok(Page {
        type_name,
        edge_type,
        items: page_items,
        has_next: hi < total,
        has_previous: lo > 0,
    })
}

fn return_type(info: &ResolveInfo<'_>) -> String {
    info.field_definition().ty.inner_named_type().to_string()
}

fn count_record<'c, 's>(n: usize, limit: Option<i64>) -> Val<'c, 's> {
    let limit = limit.map(|l| l.max(0) as usize);
    let (count, precision) = match limit {
        Some(l) if n > l => (l, "AT_LEAST"),
        _ => (n, "EXACT"),
    };
    record(
        "Count",
        vec![
            ("count", json!(count).into()),
            ("precision", json!(precision).into()),
        ],
    )
    .into()
}

fn product_sort_key(p: &Product, sort: &str) -> Key {
    match sort {
        "TITLE" => Key::Text(p.title.to_lowercase()),
        "UPDATED_AT" => Key::Num(p.updated_at.secs() as i128),
        "CREATED_AT" | "PUBLISHED_AT" => Key::Num(p.created_at.secs() as i128),
        "VENDOR" => Key::Text(p.vendor.to_lowercase()),
        "PRODUCT_TYPE" => Key::Text(p.product_type.to_lowercase()),
        "INVENTORY_TOTAL" => Key::Num(
            p.variants
                .iter()
                .map(|v| v.inventory_quantity as i128)
                .sum(),
        ),
        _ => Key::Num(p.id as i128),
    }
}

fn products_connection<'c, 's>(
    ctx: &'c Ctx<'s>,
    store: &Store,
    ids: Option<Vec<u64>>,
    args: &Map<String, Value>,
    info: &ResolveInfo<'_>,
) -> Result<Val<'c, 's>, FieldError> {
    let sort = args.get("sortKey").and_then(Value::as_str).unwrap_or("ID");
    let query =
        crate::search::Query::parse(args.get("query").and_then(Value::as_str).unwrap_or(""))
            .with_index_horizon(ctx.index_horizon);
    let items: Vec<(Key, u64, Obj)> = match ids {
        None => store
            .products()
            .filter(|p| query.matches_product(p))
            .map(|p| (product_sort_key(p, sort), p.id, Obj::Product(ctx, p.id)))
            .collect(),
        Some(ids) => ids
            .iter()
            .enumerate()
            .filter_map(|(pos, id)| store.product(*id).map(|p| (pos, p)))
            .filter(|(_, p)| query.matches_product(p))
            .map(|(pos, p)| {
                let key = match sort {
                    "COLLECTION_DEFAULT" | "MANUAL" | "BEST_SELLING" => Key::Num(pos as i128),
                    "PRICE" => Key::Num(
                        p.variants
                            .iter()
                            .map(|v| v.price.mantissa())
                            .min()
                            .unwrap_or(0),
                    ),
                    "CREATED" => Key::Num(p.created_at.secs() as i128),
                    other => product_sort_key(p, other),
                };
                (key, p.id, Obj::Product(ctx, p.id))
            })
            .collect(),
    };
    Ok(Val::Obj(Obj::Connection(Rc::new(paginate(
        info, items, args,
    )?))))
}

fn query_field<'c, 's>(
    ctx: &'c Ctx<'s>,
    name: &str,
    args: &Map<String, Value>,
    info: &ResolveInfo<'_>,
) -> Result<Option<Val<'c, 's>>, FieldError> {
    let store = ctx.store();
    let id_arg = || args.get("id").and_then(gid_number);
    Ok(Some(match name {
        "product" => Val::from(
            id_arg()
                .filter(|id| store.product(*id).is_some())
                .map(|id| Obj::Product(ctx, id)),
        ),
        "productByHandle" => {
            let h = args.get("handle").and_then(Value::as_str).unwrap_or("");
            Val::from(store.product_by_handle(h).map(|p| Obj::Product(ctx, p.id)))
        }
        "productByIdentifier" => {
            let ident = args.get("identifier").cloned().unwrap_or_default();
            let found = match (
                ident.get("id").and_then(gid_number),
                ident.get("handle").and_then(Value::as_str),
            ) {
                (Some(id), _) => store.product(id),
                (None, Some(h)) => store.product_by_handle(h),
                _ => ident.get("customId").and_then(|c| {
                    let f = |k: &str| c.get(k).and_then(Value::as_str).unwrap_or("");
                    store.product_by_custom_id(f("namespace"), f("key"), f("value"))
                }),
            };
            Val::from(found.map(|p| Obj::Product(ctx, p.id)))
        }
        "products" => products_connection(ctx, &store, None, args, info)?,
        "productsCount" => {
            let q = crate::search::Query::parse(
                args.get("query").and_then(Value::as_str).unwrap_or(""),
            )
            .with_index_horizon(ctx.index_horizon);
            count_record(
                store.products().filter(|p| q.matches_product(p)).count(),
                args.get("limit").and_then(Value::as_i64),
            )
        }
        "productVariant" => Val::from(
            id_arg()
                .filter(|id| store.variant(*id).is_some())
                .map(|id| Obj::Variant(ctx, id)),
        ),
        "productVariants" => {
            let items = store
                .products()
                .flat_map(|p| {
                    p.variants
                        .iter()
                        .map(|v| (Key::Num(v.id as i128), v.id, Obj::Variant(ctx, v.id)))
                })
                .collect();
            Val::Obj(Obj::Connection(Rc::new(paginate(info, items, args)?)))
        }
        "productVariantsCount" => count_record(
            store.products().map(|p| p.variants.len()).sum(),
            args.get("limit").and_then(Value::as_i64),
        ),
        "collection" => Val::from(
            id_arg()
                .filter(|id| store.collection(*id).is_some())
                .map(|id| Obj::Collection(ctx, id)),
        ),
        "collectionByHandle" => {
            let h = args.get("handle").and_then(Value::as_str).unwrap_or("");
            Val::from(
                store
                    .collection_by_handle(h)
                    .map(|c| Obj::Collection(ctx, c.id)),
            )
        }
        "collectionByIdentifier" => {
            let ident = args.get("identifier").cloned().unwrap_or_default();
            let found = match (
                ident.get("id").and_then(gid_number),
                ident.get("handle").and_then(Value::as_str),
            ) {
                (Some(id), _) => store.collection(id),
                (None, Some(h)) => store.collection_by_handle(h),
                _ => None,
            };
            Val::from(found.map(|c| Obj::Collection(ctx, c.id)))
        }
        "collections" => {
            let sort = args.get("sortKey").and_then(Value::as_str).unwrap_or("ID");
            let q = crate::search::Query::parse(
                args.get("query").and_then(Value::as_str).unwrap_or(""),
            );
            let items = store
                .collections()
                .filter(|c| q.matches_collection(c))
                .map(|c| {
                    let key = match sort {
                        "TITLE" => Key::Text(c.title.to_lowercase()),
                        "UPDATED_AT" => Key::Num(c.updated_at.secs() as i128),
                        _ => Key::Num(c.id as i128),
                    };
                    (key, c.id, Obj::Collection(ctx, c.id))
                })
                .collect();
            Val::Obj(Obj::Connection(Rc::new(paginate(info, items, args)?)))
        }
        "collectionsCount" => {
            let q = crate::search::Query::parse(
                args.get("query").and_then(Value::as_str).unwrap_or(""),
            );
            count_record(
                store
                    .collections()
                    .filter(|c| q.matches_collection(c))
                    .count(),
                args.get("limit").and_then(Value::as_i64),
            )
        }
        "bulkOperation" | "currentBulkOperation" => {
            crate::bulk::query_field(store.bulk(), name, args)
        }
        "bulkOperations" => {
            let items = crate::bulk::all_records(store.bulk())
                .into_iter()
                .enumerate()
                .map(|(pos, (id, o))| (Key::Num(pos as i128), id, o))
                .collect();
            Val::Obj(Obj::Connection(Rc::new(paginate(info, items, args)?)))
        }
        "node" => Val::from(args.get("id").and_then(|v| node(ctx, &store, v))),
        "nodes" => Val::List(
            args.get("ids")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|v| Val::from(node(ctx, &store, v)))
                .collect(),
        ),
        "job" => {
            let raw = args.get("id").and_then(Value::as_str).unwrap_or("");
            let key = raw.rsplit('/').next().unwrap_or("");
            match store.job_done(key) {
                Some(done) => job_record(raw, done, ctx),
                None => Val::Json(Value::Null),
            }
        }
        "webhookSubscription" => Val::from(
            id_arg()
                .and_then(|id| store.webhook_subscription(id))
                .map(webhook_subscription_record),
        ),
        "webhookSubscriptions" => {
            let filter = WebhookFilter::from_args(args);
            let sort = args
                .get("sortKey")
                .and_then(Value::as_str)
                .unwrap_or("CREATED_AT");
            let items = store
                .webhook_subscriptions()
                .filter(|w| filter.matches(w))
                .map(|w| {
                    let key = match sort {
                        "ID" => Key::Num(w.id as i128),
                        _ => Key::Num(w.created_at.secs() as i128),
                    };
                    (key, w.id, webhook_subscription_record(w))
                })
                .collect();
            Val::Obj(Obj::Connection(Rc::new(paginate(info, items, args)?)))
        }
        "metafieldDefinitions" => {
            let f = |k: &str| args.get(k).and_then(Value::as_str);
            let items = store
                .metafield_definitions()
                .iter()
                .filter(|d| f("ownerType").is_none_or(|o| o == d.owner_type))
                .filter(|d| f("namespace").is_none_or(|n| n == d.namespace))
                .filter(|d| f("key").is_none_or(|k| k == d.key))
                .map(|d| (Key::Num(d.id as i128), d.id, metafield_definition_record(d)))
                .collect();
            Val::Obj(Obj::Connection(Rc::new(paginate(info, items, args)?)))
        }
        "publications" => {
            let items = store
                .publications()
                .map(|(id, name)| {
                    let rec = record(
                        "Publication",
                        vec![
                            ("id", json!(gid("Publication", id)).into()),
                            ("name", json!(name).into()),
                        ],
                    );
                    (Key::Num(id as i128), id, rec)
                })
                .collect();
            Val::Obj(Obj::Connection(Rc::new(paginate(info, items, args)?)))
        }
        "webhookSubscriptionsCount" => {
            let filter = WebhookFilter::from_args(args);
            count_record(
                store
                    .webhook_subscriptions()
                    .filter(|w| filter.matches(w))
                    .count(),
                args.get("limit").and_then(Value::as_i64),
            )
        }
        "shop" => shop_record(ctx),
        _ => return Ok(None),
    }))
}

/// A `Job` record.
pub(crate) fn job_record<'c, 's>(id: &str, done: bool, ctx: &'c Ctx<'s>) -> Val<'c, 's> {
    record(
        "Job",
        vec![
            ("id", json!(id).into()),
            ("done", json!(done).into()),
            ("query", Val::Obj(Obj::Query(ctx))),
        ],
    )
    .into()
}

/// Resolve a global id to an object, or none.
fn node<'c, 's>(ctx: &'c Ctx<'s>, store: &Store, id: &Value) -> Option<Obj<'c, 's>> {
    let s = id.as_str()?;
    let kind = s.strip_prefix("gid://shopify/")?.split('/').next()?;
    let n = gid_number(id)?;
    match kind {
        "Product" => store.product(n).map(|_| Obj::Product(ctx, n)),
        "ProductVariant" => store.variant(n).map(|_| Obj::Variant(ctx, n)),
        "Collection" => store.collection(n).map(|_| Obj::Collection(ctx, n)),
        "WebhookSubscription" => store
            .webhook_subscription(n)
            .map(webhook_subscription_record),
        "BulkOperation" => crate::bulk::operation_obj(store.bulk(), id),
        _ => None,
    }
}

fn money(amount: &rust_decimal::Decimal) -> Value {
    json!(amount.to_string())
}

fn money_v2<'c, 's>(amount: rust_decimal::Decimal) -> Val<'c, 's> {
    record(
        "MoneyV2",
        vec![
            ("amount", money(&amount.normalize()).into()),
            ("currencyCode", json!("USD").into()),
        ],
    )
    .into()
}

fn strip_tags(html: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out
}

fn ts<'c, 's>(t: Timestamp) -> Val<'c, 's> {
    Val::Json(json!(t.to_string()))
}

fn product_field<'c, 's>(
    ctx: &'c Ctx<'s>,
    store: &Store,
    p: &Product,
    name: &str,
    args: &Map<String, Value>,
    info: &ResolveInfo<'_>,
) -> Result<Option<Val<'c, 's>>, FieldError> {
    let j = |v: Value| Some(Val::Json(v));
    Ok(match name {
        "id" => j(json!(gid("Product", p.id))),
        "legacyResourceId" => j(json!(p.id.to_string())),
        "title" => j(json!(p.title)),
        "handle" => j(json!(p.handle)),
        "descriptionHtml" => j(json!(p.description_html)),
        "description" => j(json!(strip_tags(&p.description_html))),
        "vendor" => j(json!(p.vendor)),
        "productType" => j(json!(p.product_type)),
        "status" => j(json!(p.status)),
        "tags" => j(json!(p.tags)),
        "templateSuffix" => j(json!(p.template_suffix)),
        "createdAt" => Some(ts(p.created_at)),
        "updatedAt" => Some(ts(p.updated_at)),
        "publishedAt" => j(if p.status == "ACTIVE" {
            json!(p.created_at.to_string())
        } else {
            Value::Null
        }),
        "seo" => Some(
            record(
                "SEO",
                vec![
                    ("title", json!(p.seo_title).into()),
                    ("description", json!(p.seo_description).into()),
                ],
            )
            .into(),
        ),
        "options" => {
            let n = args
                .get("first")
                .and_then(Value::as_u64)
                .map_or(p.options.len(), |n| n as usize);
            Some(Val::List(
                (0..p.options.len().min(n))
                    .map(|k| Val::Obj(Obj::ProductOption(ctx, p.id, k)))
                    .collect(),
            ))
        }
        "variants" => {
            let sort = args
                .get("sortKey")
                .and_then(Value::as_str)
                .unwrap_or("POSITION");
            let items = p
                .variants
                .iter()
                .enumerate()
                .map(|(pos, v)| {
                    let key = match sort {
                        "ID" => Key::Num(v.id as i128),
                        "SKU" => Key::Text(v.sku.clone().unwrap_or_default()),
                        "TITLE" => Key::Text(v.option_values.join(" / ")),
                        _ => Key::Num(pos as i128),
                    };
                    (key, v.id, Obj::Variant(ctx, v.id))
                })
                .collect();
            Some(Val::Obj(Obj::Connection(Rc::new(paginate(
                info, items, args,
            )?))))
        }
        "variantsCount" => Some(count_record(p.variants.len(), None)),
        "collections" => {
            let items = store
                .product_collections(p)
                .into_iter()
                .filter_map(|id| store.collection(id))
                .map(|c| {
                    let key = match args.get("sortKey").and_then(Value::as_str) {
                        Some("TITLE") => Key::Text(c.title.to_lowercase()),
                        Some("UPDATED_AT") => Key::Num(c.updated_at.secs() as i128),
                        _ => Key::Num(c.id as i128),
                    };
                    (key, c.id, Obj::Collection(ctx, c.id))
                })
                .collect();
            Some(Val::Obj(Obj::Connection(Rc::new(paginate(
                info, items, args,
            )?))))
        }
        "metafield" => {
            let f = |k: &str| args.get(k).and_then(Value::as_str).unwrap_or("");
            match store.product_metafield(p.id, f("namespace"), f("key")) {
                Some((ty, value)) => Some(
                    record(
                        "Metafield",
                        vec![
                            ("namespace", json!(f("namespace")).into()),
                            ("key", json!(f("key")).into()),
                            ("type", json!(ty).into()),
                            ("value", json!(value).into()),
                        ],
                    )
                    .into(),
                ),
                None => j(Value::Null),
            }
        }
        "publishedOnPublication" => {
            let pid = args.get("publicationId").and_then(gid_number);
            j(json!(pid.is_some_and(|n| store
                .product_publications(p.id)
                .contains(&n))))
        }
        "inCollection" => {
            let cid = args.get("id").and_then(gid_number);
            j(json!(cid.is_some_and(|c| store
                .product_collections(p)
                .contains(&c))))
        }
        "totalInventory" => j(json!(p
            .variants
            .iter()
            .map(|v| v.inventory_quantity)
            .sum::<i64>())),
        "tracksInventory" => j(json!(true)),
        "hasOnlyDefaultVariant" => j(json!(
            p.options.len() == 1 && p.options[0].name == "Title" && p.variants.len() == 1
        )),
        "hasOutOfStockVariants" => j(json!(p.variants.iter().any(|v| v.inventory_quantity <= 0))),
        "isGiftCard" | "requiresSellingPlan" => j(json!(false)),
        "defaultCursor" => j(json!(encode_cursor(&Key::Num(p.id as i128), p.id))),
        "priceRangeV2" | "priceRange" => {
            let min = p.variants.iter().map(|v| v.price).min().unwrap_or_default();
            let max = p.variants.iter().map(|v| v.price).max().unwrap_or_default();
            let ty = if name == "priceRange" {
                "ProductPriceRange"
            } else {
                "ProductPriceRangeV2"
            };
            Some(
                record(
                    ty,
                    vec![
                        ("minVariantPrice", money_v2(min)),
                        ("maxVariantPrice", money_v2(max)),
                    ],
                )
                .into(),
            )
        }
        "compareAtPriceRange" => {
            let prices: Vec<_> = p
                .variants
                .iter()
                .filter_map(|v| v.compare_at_price)
                .collect();
            let min = prices.iter().min().copied().unwrap_or_default();
            let max = prices.iter().max().copied().unwrap_or_default();
            Some(
                record(
                    "ProductCompareAtPriceRange",
                    vec![
                        ("minVariantCompareAtPrice", money_v2(min)),
                        ("maxVariantCompareAtPrice", money_v2(max)),
                    ],
                )
                .into(),
            )
        }
        _ => None,
    })
}

fn variant_field<'c, 's>(
    ctx: &'c Ctx<'s>,
    p: &Product,
    v: &Variant,
    name: &str,
) -> Option<Val<'c, 's>> {
    let j = |v: Value| Some(Val::Json(v));
    let title = v.option_values.join(" / ");
    match name {
        "id" => j(json!(gid("ProductVariant", v.id))),
        "legacyResourceId" => j(json!(v.id.to_string())),
        "title" => j(json!(title)),
        "displayName" => j(json!(format!("{} - {}", p.title, title))),
        "price" => j(money(&v.price)),
        "compareAtPrice" => j(v.compare_at_price.as_ref().map_or(Value::Null, money)),
        "sku" => j(json!(v.sku)),
        "barcode" => j(json!(v.barcode)),
        "inventoryPolicy" => j(json!(v.inventory_policy)),
        "inventoryQuantity" | "sellableOnlineQuantity" => j(json!(v.inventory_quantity)),
        "taxable" => j(json!(v.taxable)),
        "position" => j(json!(p
            .variants
            .iter()
            .position(|x| x.id == v.id)
            .map_or(1, |i| i + 1))),
        "availableForSale" => j(json!(
            p.status == "ACTIVE" && (v.inventory_quantity > 0 || v.inventory_policy == "CONTINUE")
        )),
        "createdAt" => Some(ts(v.created_at)),
        "updatedAt" => Some(ts(v.updated_at)),
        "product" => Some(Val::Obj(Obj::Product(ctx, p.id))),
        "selectedOptions" => Some(Val::List(
            p.options
                .iter()
                .zip(&v.option_values)
                .map(|(o, value)| {
                    let ov = o.values.iter().find(|x| &x.name == value);
                    let option_value = record(
                        "ProductOptionValue",
                        vec![
                            (
                                "id",
                                json!(gid("ProductOptionValue", ov.map_or(0, |x| x.id))).into(),
                            ),
                            ("name", json!(value).into()),
                            ("hasVariants", json!(true).into()),
                        ],
                    );
                    record(
                        "SelectedOption",
                        vec![
                            ("name", json!(o.name).into()),
                            ("value", json!(value).into()),
                            ("optionValue", option_value.into()),
                        ],
                    )
                    .into()
                })
                .collect(),
        )),
        "inventoryItem" => Some(
            record(
                "InventoryItem",
                vec![
                    ("id", json!(gid("InventoryItem", v.id)).into()),
                    ("sku", json!(v.sku).into()),
                    ("tracked", json!(true).into()),
                    ("requiresShipping", json!(true).into()),
                ],
            )
            .into(),
        ),
        _ => None,
    }
}

fn option_field<'c, 's>(p: &Product, k: usize, name: &str) -> Option<Val<'c, 's>> {
    let o = p.options.get(k)?;
    Some(Val::Json(match name {
        "id" => json!(gid("ProductOption", o.id)),
        "name" => json!(o.name),
        "position" => json!(k + 1),
        "values" => json!(o.values.iter().map(|v| &v.name).collect::<Vec<_>>()),
        "optionValues" => {
            return Some(Val::List(
                o.values
                    .iter()
                    .map(|v| {
                        let used = p
                            .variants
                            .iter()
                            .any(|x| x.option_values.get(k) == Some(&v.name));
                        record(
                            "ProductOptionValue",
                            vec![
                                ("id", json!(gid("ProductOptionValue", v.id)).into()),
                                ("name", json!(v.name).into()),
                                ("hasVariants", json!(used).into()),
                            ],
                        )
                        .into()
                    })
                    .collect(),
            ))
        }
        _ => return None,
    }))
}

fn collection_field<'c, 's>(
    ctx: &'c Ctx<'s>,
    store: &Store,
    c: &Collection,
    name: &str,
    args: &Map<String, Value>,
    info: &ResolveInfo<'_>,
) -> Result<Option<Val<'c, 's>>, FieldError> {
    let j = |v: Value| Some(Val::Json(v));
    Ok(match name {
        "id" => j(json!(gid("Collection", c.id))),
        "legacyResourceId" => j(json!(c.id.to_string())),
        "title" => j(json!(c.title)),
        "handle" => j(json!(c.handle)),
        "descriptionHtml" => j(json!(c.description_html)),
        "description" => j(json!(strip_tags(&c.description_html))),
        "sortOrder" => j(json!(c.sort_order)),
        "templateSuffix" => j(json!(c.template_suffix)),
        "updatedAt" => Some(ts(c.updated_at)),
        "seo" => Some(
            record(
                "SEO",
                vec![
                    ("title", json!(c.title).into()),
                    ("description", Value::Null.into()),
                ],
            )
            .into(),
        ),
        "ruleSet" => match &c.rule_set {
            None => j(Value::Null),
            Some(rs) => Some(
                record(
                    "CollectionRuleSet",
                    vec![
                        (
                            "appliedDisjunctively",
                            json!(rs.applied_disjunctively).into(),
                        ),
                        (
                            "rules",
                            Val::List(
                                rs.rules
                                    .iter()
                                    .map(|r| {
                                        record(
                                            "CollectionRule",
                                            vec![
                                                ("column", json!(r.column).into()),
                                                ("relation", json!(r.relation).into()),
                                                ("condition", json!(r.condition).into()),
                                            ],
                                        )
                                        .into()
                                    })
                                    .collect(),
                            ),
                        ),
                    ],
                )
                .into(),
            ),
        },
        "products" => Some(products_connection(
            ctx,
            store,
            Some(store.collection_members(c)),
            args,
            info,
        )?),
        "productsCount" => Some(count_record(store.collection_members(c).len(), None)),
        "hasProduct" => {
            let pid = args.get("id").and_then(gid_number);
            j(json!(pid.is_some_and(|p| store
                .collection_members(c)
                .contains(&p))))
        }
        _ => None,
    })
}

/// The `webhookSubscriptions` filter arguments: `topics`, `uri` (or the deprecated
/// `callbackUrl`) and `format`. (`query:` is accepted and ignored.)
struct WebhookFilter {
    topics: Option<Vec<String>>,
    uri: Option<String>,
    format: Option<String>,
}

impl WebhookFilter {
    fn from_args(args: &Map<String, Value>) -> Self {
        let text = |k: &str| args.get(k).and_then(Value::as_str).map(str::to_string);
        WebhookFilter {
            topics: args.get("topics").and_then(Value::as_array).map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(String::from)
                    .collect()
            }),
            uri: text("uri").or_else(|| text("callbackUrl")),
            format: text("format"),
        }
    }

    fn matches(&self, w: &crate::store::WebhookSubscription) -> bool {
        self.topics.as_ref().is_none_or(|t| t.contains(&w.topic))
            && self.uri.as_ref().is_none_or(|u| *u == w.uri)
            && self.format.as_ref().is_none_or(|f| *f == w.format)
    }
}

/// A `WebhookSubscription` object. `apiVersion` is left neutral: the store does not
/// know which version a subscription was made with.
pub(crate) fn webhook_subscription_record<'c, 's>(
    w: &crate::store::WebhookSubscription,
) -> Obj<'c, 's> {
    let https = w.uri.starts_with("https://");
    let endpoint = if let Some(tail) = w.uri.strip_prefix("pubsub://") {
        let (project, topic) = tail.split_once(':').unwrap_or((tail, ""));
        record(
            "WebhookPubSubEndpoint",
            vec![
                ("pubSubProject", json!(project).into()),
                ("pubSubTopic", json!(topic).into()),
            ],
        )
    } else if w.uri.starts_with("arn:") {
        record(
            "WebhookEventBridgeEndpoint",
            vec![("arn", json!(w.uri).into())],
        )
    } else {
        record(
            "WebhookHttpEndpoint",
            vec![("callbackUrl", json!(w.uri).into())],
        )
    };
    record(
        "WebhookSubscription",
        vec![
            ("id", json!(gid("WebhookSubscription", w.id)).into()),
            ("legacyResourceId", json!(w.id.to_string()).into()),
            ("topic", json!(w.topic).into()),
            ("uri", json!(w.uri).into()),
            (
                "callbackUrl",
                json!(if https { w.uri.as_str() } else { "" }).into(),
            ),
            ("endpoint", endpoint.into()),
            ("format", json!(w.format).into()),
            ("filter", json!(w.filter).into()),
            ("includeFields", json!(w.include_fields).into()),
            ("metafieldNamespaces", json!(w.metafield_namespaces).into()),
            ("name", json!(w.name).into()),
            ("createdAt", ts(w.created_at)),
            ("updatedAt", ts(w.updated_at)),
        ],
    )
}

/// `userErrors` records for a payload field whose error type is `type_name`.
pub(crate) fn user_errors<'c, 's>(type_name: &str, errors: &[UserError]) -> Val<'c, 's> {
    Val::List(
        errors
            .iter()
            .map(|e| {
                record(
                    type_name,
                    vec![
                        ("field", json!(e.field).into()),
                        ("message", json!(e.message).into()),
                        ("code", json!(e.code).into()),
                    ],
                )
                .into()
            })
            .collect(),
    )
}

/// Builders the mutation handlers use.
pub(crate) mod build {
    pub(crate) use super::{job_record, record, user_errors, Ctx, Obj, Val};
}

impl<'c, 's> Ctx<'s> {
    /// Run `f` with the store borrowed mutably (for one mutation field).
    pub(crate) fn write<R>(&'c self, f: impl FnOnce(&mut Store) -> R) -> R {
        let mut guard = self.store_mut();
        f(&mut guard)
    }

    /// Run `f` with the store borrowed.
    pub(crate) fn read<R>(&'c self, f: impl FnOnce(&Store) -> R) -> R {
        f(&self.store())
    }

    /// The error type of `payload`'s `userErrors` field in the schema.
    pub(crate) fn user_error_type(schema: &apollo_compiler::Schema, payload: &str) -> String {
        schema
            .get_object(payload)
            .and_then(|o| o.fields.get("userErrors"))
            .map(|f| f.ty.inner_named_type().to_string())
            .unwrap_or_else(|| "UserError".to_string())
    }
}

/// The `Shop` object.
pub(crate) fn shop_record<'c, 's>(ctx: &Ctx<'s>) -> Val<'c, 's> {
    record(
        "Shop",
        vec![
            ("id", json!(gid("Shop", 1)).into()),
            (
                "name",
                json!(ctx.shop_domain.trim_end_matches(".myshopify.com")).into(),
            ),
            ("myshopifyDomain", json!(ctx.shop_domain).into()),
            ("currencyCode", json!("USD").into()),
        ],
    )
    .into()
}

/// A `MetafieldDefinition` object.
pub(crate) fn metafield_definition_record<'c, 's>(
    d: &crate::store::MetafieldDefinition,
) -> Obj<'c, 's> {
    record(
        "MetafieldDefinition",
        vec![
            ("id", json!(gid("MetafieldDefinition", d.id)).into()),
            ("name", json!(d.name).into()),
            ("namespace", json!(d.namespace).into()),
            ("key", json!(d.key).into()),
            ("ownerType", json!(d.owner_type).into()),
            (
                "type",
                record(
                    "MetafieldDefinitionType",
                    vec![("name", json!(d.type_name).into())],
                )
                .into(),
            ),
        ],
    )
}
