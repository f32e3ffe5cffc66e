//! The simulated shop's state and every write to it, with Shopify's validation
//! (`userErrors`) and normalisation (tags, handles, prices).
//!
//! This module knows nothing of GraphQL documents or HTTP: mutations arrive as coerced
//! JSON input objects and leave as records or user errors. [`crate::objects`] turns them
//! into GraphQL results.
use crate::catalog::{
    Catalog, Collection, OptionValue, Product, ProductOption, Rule, RuleSet, Variant,
    FIRST_COLLECTION_ID, FIRST_OPTION_ID, FIRST_OPTION_VALUE_ID, FIRST_PRODUCT_ID,
    FIRST_VARIANT_ID,
};
use crate::clock::Timestamp;
use rust_decimal::Decimal;
use serde_json::{Map, Value};
use shopify_sync::staging::{normalize_handle, normalize_tags};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::str::FromStr;
use std::time::{Duration, Instant};

/// Shopify's limits that the simulator enforces.
pub const MAX_VARIANTS: usize = 2_048;
/// At most this many options per product.
pub const MAX_OPTIONS: usize = 3;
/// At most this many ids per membership call.
pub const MAX_MEMBERSHIP_IDS: usize = 250;

/// One entry of a mutation payload's `userErrors`.
#[derive(Debug, Clone, PartialEq)]
pub struct UserError {
    /// Path to the input field at fault, or none.
    pub field: Option<Vec<String>>,
    /// Shopify's message.
    pub message: String,
    /// The error code, for payloads whose error type has one.
    pub code: Option<&'static str>,
}

impl UserError {
    fn new(field: &[&str], message: impl Into<String>, code: Option<&'static str>) -> Self {
        UserError {
            field: Some(field.iter().map(|s| s.to_string()).collect()),
            message: message.into(),
            code,
        }
    }
    fn at(field: Vec<String>, message: impl Into<String>, code: Option<&'static str>) -> Self {
        UserError {
            field: Some(field),
            message: message.into(),
            code,
        }
    }
}

/// A membership job started by `collectionAddProductsV2` or `collectionRemoveProducts`.
#[derive(Debug, Clone)]
struct Job {
    due: Instant,
    collection: u64,
    products: Vec<u64>,
    add: bool,
    done: bool,
}

/// The whole shop. A clone is a snapshot (bulk queries run over one), sharing only the
/// bulk operations.
#[derive(Debug, Clone)]
pub struct Store {
    products: BTreeMap<u64, Product>,
    collections: BTreeMap<u64, Collection>,
    product_handles: HashMap<String, u64>,
    collection_handles: HashMap<String, u64>,
    variant_owner: HashMap<u64, u64>,
    /// Custom-collection membership by product, for `Product.collections`.
    memberships: HashMap<u64, BTreeSet<u64>>,
    jobs: HashMap<String, Job>,
    job_delay: Duration,
    next_id: u64,
    last_write: Timestamp,
    webhooks: Webhooks,
    bulk: crate::bulk::BulkOperations,
    /// Sales channels' publications, by id: a new shop has these two.
    publications: BTreeMap<u64, String>,
    /// The publications each product is published on.
    published: HashMap<u64, BTreeSet<u64>>,
    /// Metafield definitions, in creation order.
    definitions: Vec<MetafieldDefinition>,
    /// Product metafields, by product.
    metafields: HashMap<u64, Metafields>,
}

/// One product's metafields: (namespace, key) -> (type, value).
type Metafields = BTreeMap<(String, String), (String, String)>;

/// A metafield definition (`metafieldDefinitionCreate`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetafieldDefinition {
    /// Numeric id.
    pub id: u64,
    /// Display name.
    pub name: String,
    /// Namespace.
    pub namespace: String,
    /// Key.
    pub key: String,
    /// Owner type (`PRODUCT` ...).
    pub owner_type: String,
    /// Type name (`id`, `single_line_text_field` ...).
    pub type_name: String,
}

/// The publications every simulated shop has (id, name).
pub const PUBLICATIONS: [(u64, &str); 2] = [(1, "Online Store"), (2, "Point of Sale")];

/// Which list field of the store a new id is for.
#[derive(Clone, Copy)]
enum IdKind {
    Product,
    Variant,
    Option,
    OptionValue,
    Collection,
}

impl Store {
    /// A store holding `catalog`. Membership jobs finish after `job_delay`.
    pub fn new(catalog: Catalog, job_delay: Duration) -> Store {
        let mut store = Store {
            products: BTreeMap::new(),
            collections: BTreeMap::new(),
            product_handles: HashMap::new(),
            collection_handles: HashMap::new(),
            variant_owner: HashMap::new(),
            memberships: HashMap::new(),
            jobs: HashMap::new(),
            job_delay,
            next_id: 1,
            last_write: Timestamp::from_secs(0),
            webhooks: Webhooks::default(),
            publications: PUBLICATIONS
                .iter()
                .map(|(id, name)| (*id, name.to_string()))
                .collect(),
            published: HashMap::new(),
            definitions: Vec::new(),
            metafields: HashMap::new(),
            bulk: Default::default(),
        };
        let mut max_seen = 0;
        for p in catalog.products {
            max_seen = max_seen.max(p.updated_at.secs());
            store.index_product(&p);
            store.products.insert(p.id, p);
        }
        for c in catalog.collections {
            max_seen = max_seen.max(c.updated_at.secs());
            store.collection_handles.insert(c.handle.clone(), c.id);
            for pid in &c.product_ids {
                store.memberships.entry(*pid).or_default().insert(c.id);
            }
            store.collections.insert(c.id, c);
        }
        store.last_write = Timestamp::from_secs(max_seen);
        // New ids continue above every id in the catalog, per kind.
        let top = store
            .products
            .values()
            .flat_map(|p| {
                std::iter::once(p.id - FIRST_PRODUCT_ID)
                    .chain(p.variants.iter().map(|v| v.id - FIRST_VARIANT_ID))
                    .chain(p.options.iter().map(|o| o.id - FIRST_OPTION_ID))
                    .chain(
                        p.options
                            .iter()
                            .flat_map(|o| o.values.iter().map(|v| v.id - FIRST_OPTION_VALUE_ID)),
                    )
            })
            .chain(store.collections.keys().map(|id| id - FIRST_COLLECTION_ID))
            .filter(|n| *n < 1 << 40)
            .max()
            .unwrap_or(0);
        store.next_id = top + 1;
        store
    }

    fn index_product(&mut self, p: &Product) {
        self.product_handles.insert(p.handle.clone(), p.id);
        for v in &p.variants {
            self.variant_owner.insert(v.id, p.id);
        }
    }

    fn unindex_product(&mut self, p: &Product) {
        self.product_handles.remove(&p.handle);
        for v in &p.variants {
            self.variant_owner.remove(&v.id);
        }
    }

    fn new_id(&mut self, kind: IdKind) -> u64 {
        let n = self.next_id;
        self.next_id += 1;
        n + match kind {
            IdKind::Product => FIRST_PRODUCT_ID,
            IdKind::Variant => FIRST_VARIANT_ID,
            IdKind::Option => FIRST_OPTION_ID,
            IdKind::OptionValue => FIRST_OPTION_VALUE_ID,
            IdKind::Collection => FIRST_COLLECTION_ID,
        }
    }

    /// The time a write happening now records: the wall clock, never earlier than the
    /// previous write, so `updatedAt` never goes backwards.
    fn write_time(&mut self) -> Timestamp {
        let now = Timestamp::now().max(self.last_write);
        self.last_write = now;
        now
    }

    /// Apply membership jobs whose time has come.
    pub fn run_due_jobs(&mut self, now: Instant) {
        let due: Vec<String> = self
            .jobs
            .iter()
            .filter(|(_, j)| !j.done && j.due <= now)
            .map(|(k, _)| k.clone())
            .collect();
        for key in due {
            let job = self.jobs.get_mut(&key).expect("listed above");
            job.done = true;
            let job = job.clone();
            self.change_membership(job.collection, &job.products, job.add);
        }
    }

    // ----- reads -------------------------------------------------------------------

    /// The shop's bulk operations and staged uploads.
    pub fn bulk(&self) -> &crate::bulk::BulkOperations {
        &self.bulk
    }

    /// All products by ascending id.
    pub fn products(&self) -> impl Iterator<Item = &Product> {
        self.products.values()
    }

    /// All collections by ascending id.
    pub fn collections(&self) -> impl Iterator<Item = &Collection> {
        self.collections.values()
    }

    /// A product by id.
    pub fn product(&self, id: u64) -> Option<&Product> {
        self.products.get(&id)
    }

    /// A product by handle.
    pub fn product_by_handle(&self, handle: &str) -> Option<&Product> {
        self.product_handles
            .get(handle)
            .and_then(|id| self.products.get(id))
    }

    /// A variant and its product.
    pub fn variant(&self, id: u64) -> Option<(&Product, &Variant)> {
        let p = self.products.get(self.variant_owner.get(&id)?)?;
        Some((p, p.variants.iter().find(|v| v.id == id)?))
    }

    /// A collection by id.
    pub fn collection(&self, id: u64) -> Option<&Collection> {
        self.collections.get(&id)
    }

    /// A collection by handle.
    pub fn collection_by_handle(&self, handle: &str) -> Option<&Collection> {
        self.collection_handles
            .get(handle)
            .and_then(|id| self.collections.get(id))
    }

    /// Whether the job exists, and whether it is done.
    pub fn job_done(&self, id: &str) -> Option<bool> {
        self.jobs.get(id).map(|j| j.done)
    }

    /// The products of a collection, in collection order: the manual list for custom
    /// collections, products matching the rules (by id) for smart ones.
    pub fn collection_members(&self, c: &Collection) -> Vec<u64> {
        match &c.rule_set {
            None => c.product_ids.clone(),
            Some(rs) => self
                .products
                .values()
                .filter(|p| rule_set_matches(rs, p))
                .map(|p| p.id)
                .collect(),
        }
    }

    /// The collections a product belongs to, by ascending id.
    pub fn product_collections(&self, product: &Product) -> Vec<u64> {
        let mut ids: BTreeSet<u64> = self
            .memberships
            .get(&product.id)
            .cloned()
            .unwrap_or_default();
        for c in self.collections.values() {
            if let Some(rs) = &c.rule_set {
                if rule_set_matches(rs, product) {
                    ids.insert(c.id);
                }
            }
        }
        ids.into_iter().collect()
    }

    /// A copy of the whole catalog (the `/_sim/dump` shape).
    pub fn dump(&self) -> Catalog {
        Catalog {
            products: self.products.values().cloned().collect(),
            collections: self.collections.values().cloned().collect(),
        }
    }

    // ----- out-of-band edits -------------------------------------------------------

    /// Edit a product as a merchant would in the Shopify admin: `fields` holds any of
    /// `title`, `handle`, `descriptionHtml`, `vendor`, `productType`, `status`, `tags`,
    /// and per-variant `price` edits as `variants: [{id, price, compareAtPrice, sku}]`.
    /// Bumps `updatedAt`. Returns the product after the edit.
    pub fn edit_product(
        &mut self,
        id: u64,
        fields: &Map<String, Value>,
    ) -> Result<&Product, String> {
        let mut p = self
            .products
            .get(&id)
            .cloned()
            .ok_or_else(|| format!("no product {id}"))?;
        apply_scalar_fields(&mut p, fields, &[]).map_err(|e| e.message)?;
        if let Some(Value::Array(edits)) = fields.get("variants") {
            for e in edits {
                let vid = e
                    .get("id")
                    .and_then(gid_number)
                    .ok_or("variant edit needs an id")?;
                let v = p
                    .variants
                    .iter_mut()
                    .find(|v| v.id == vid)
                    .ok_or(format!("no variant {vid}"))?;
                apply_variant_fields(
                    v,
                    e.as_object().ok_or("variant edit must be an object")?,
                    &[] as &[&str],
                )
                .map_err(|e| e.message)?;
            }
        }
        if let Some(h) = fields.get("handle").and_then(Value::as_str) {
            if self
                .product_handles
                .get(h)
                .is_some_and(|other| *other != id)
            {
                return Err(format!("handle {h} already in use"));
            }
        }
        Ok(self.save_product(p))
    }

    // ----- product writes ----------------------------------------------------------

    /// `productCreate(product:)`.
    pub fn product_create(&mut self, input: &Map<String, Value>) -> Result<u64, Vec<UserError>> {
        let title = input
            .get("title")
            .and_then(Value::as_str)
            .unwrap_or("")
            .trim();
        if title.is_empty() {
            return Err(vec![UserError::new(
                &["title"],
                "Title can't be blank",
                None,
            )]);
        }
        let handle = self.claim_handle(
            input.get("handle").and_then(Value::as_str),
            title,
            None,
            &["input", "handle"],
        )?;
        let now = self.write_time();
        let mut p = self.new_product(title, handle, now);
        let id = p.id;
        apply_scalar_fields(&mut p, input, &[]).map_err(|e| vec![e])?;
        // productCreate makes the options and one variant with each option's first value.
        let options = input
            .get("productOptions")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        if options.len() > MAX_OPTIONS {
            return Err(vec![UserError::new(
                &["options"],
                "Can only specify a maximum of 3 options",
                None,
            )]);
        }
        if !options.is_empty() {
            p.options = vec![];
            for o in &options {
                let name = o
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string();
                if name.contains(" / ") {
                    return Err(vec![UserError::new(
                        &["options"],
                        "Name cannot contain the character sequence \" / \"",
                        None,
                    )]);
                }
                let values = o
                    .get("values")
                    .and_then(Value::as_array)
                    .map(|vs| {
                        vs.iter()
                            .filter_map(|v| v.get("name").and_then(Value::as_str))
                            .map(String::from)
                            .collect()
                    })
                    .unwrap_or_else(Vec::new);
                let values: Vec<String> = if values.is_empty() {
                    vec!["Default Title".into()]
                } else {
                    values
                };
                let option = self.make_option(&name, &values);
                p.options.push(option);
            }
            let first: Vec<String> = p.options.iter().map(|o| o.values[0].name.clone()).collect();
            p.variants[0].option_values = first;
        }
        let joins = ids_of(input.get("collectionsToJoin"));
        self.products.insert(id, p.clone());
        self.index_product(&p);
        self.join_collections(id, &joins);
        Ok(id)
    }

    /// `productUpdate(product:)`.
    pub fn product_update(&mut self, input: &Map<String, Value>) -> Result<u64, Vec<UserError>> {
        let Some(id) = input.get("id").and_then(gid_number) else {
            return Err(vec![UserError::new(
                &["id"],
                "Product does not exist",
                None,
            )]);
        };
        let Some(mut p) = self.products.get(&id).cloned() else {
            return Err(vec![UserError::new(
                &["id"],
                "Product does not exist",
                None,
            )]);
        };
        if let Some(t) = input.get("title") {
            if t.as_str().is_none_or(|t| t.trim().is_empty()) {
                return Err(vec![UserError::new(
                    &["title"],
                    "Title can't be blank",
                    None,
                )]);
            }
        }
        if let Some(h) = input.get("handle").and_then(Value::as_str) {
            p.handle = self.claim_handle(Some(h), &p.title, Some(id), &["input", "handle"])?;
        }
        apply_scalar_fields(&mut p, input, &[]).map_err(|e| vec![e])?;
        let joins = ids_of(input.get("collectionsToJoin"));
        let leaves = ids_of(input.get("collectionsToLeave"));
        self.save_product(p);
        self.join_collections(id, &joins);
        for c in leaves {
            self.change_membership(c, &[id], false);
        }
        Ok(id)
    }

    /// `productDelete(input: {id})`. Returns the deleted id.
    pub fn product_delete(&mut self, id_value: &Value) -> Result<u64, Vec<UserError>> {
        let id = gid_number(id_value).filter(|id| self.products.contains_key(id));
        let Some(id) = id else {
            return Err(vec![UserError::new(
                &["id"],
                "Product does not exist",
                None,
            )]);
        };
        let p = self.products.remove(&id).expect("checked");
        self.unindex_product(&p);
        if let Some(cs) = self.memberships.remove(&id) {
            for c in cs {
                if let Some(c) = self.collections.get_mut(&c) {
                    c.product_ids.retain(|x| *x != id);
                }
            }
        }
        Ok(id)
    }

    /// `productSet(input:, identifier:)`: create or replace. List fields given replace
    /// the product's (omitted variants are deleted); list fields left out are kept.
    pub fn product_set(
        &mut self,
        input: &Map<String, Value>,
        identifier: Option<&Map<String, Value>>,
    ) -> Result<u64, Vec<UserError>> {
        let mut existing: Option<Product> = None;
        let mut upsert_handle: Option<String> = None;
        if let Some(ident) = identifier {
            if let Some(idv) = ident.get("id").filter(|v| !v.is_null()) {
                match gid_number(idv).and_then(|id| self.products.get(&id)) {
                    Some(p) => existing = Some(p.clone()),
                    None => {
                        return Err(vec![UserError::new(
                            &["identifier", "id"],
                            "Product does not exist",
                            Some("PRODUCT_DOES_NOT_EXIST"),
                        )]);
                    }
                }
            } else if let Some(h) = ident.get("handle").and_then(Value::as_str) {
                existing = self.product_by_handle(h).cloned();
                upsert_handle = Some(h.to_string());
            } else if let Some(custom) = ident.get("customId").and_then(Value::as_object) {
                let field = |k: &str| custom.get(k).and_then(Value::as_str).unwrap_or("");
                let (ns, key, value) = (field("namespace"), field("key"), field("value"));
                let defined = self.definitions.iter().any(|d| {
                    d.owner_type == "PRODUCT"
                        && d.namespace == ns
                        && d.key == key
                        && d.type_name == "id"
                });
                if !defined {
                    return Err(vec![UserError::new(
                        &["identifier", "customId"],
                        "Metafield definition of type 'id' is required when using custom ids.",
                        Some("INVALID_INPUT"),
                    )]);
                }
                existing = self.product_by_custom_id(ns, key, value).cloned();
            }
        }
        let creating = existing.is_none();
        let title = input.get("title").and_then(Value::as_str).map(str::trim);
        if creating && title.is_none_or(str::is_empty)
            || !creating && title.is_some_and(str::is_empty)
        {
            return Err(vec![UserError::new(
                &["input", "title"],
                "Title can't be blank",
                Some("INVALID_INPUT"),
            )]);
        }
        if title.is_some_and(|t| t.chars().count() > 255) {
            return Err(vec![UserError::new(
                &["input", "title"],
                "is too long (maximum is 255 characters)",
                Some("INVALID_INPUT"),
            )]);
        }
        let now = self.write_time();
        let mut p = match existing {
            Some(p) => p,
            None => {
                let title = title.unwrap_or_default();
                let handle_wanted = input
                    .get("handle")
                    .and_then(Value::as_str)
                    .map(String::from)
                    .or(upsert_handle);
                let handle =
                    self.claim_handle(handle_wanted.as_deref(), title, None, &["input", "handle"])?;
                self.new_product(title, handle, now)
            }
        };
        if !creating {
            if let Some(h) = input.get("handle").and_then(Value::as_str) {
                p.handle =
                    self.claim_handle(Some(h), &p.title, Some(p.id), &["input", "handle"])?;
            }
        }
        apply_scalar_fields(&mut p, input, &["input"]).map_err(|e| vec![e])?;
        let options_in = input.get("productOptions").and_then(Value::as_array);
        let variants_in = input.get("variants").and_then(Value::as_array);
        if options_in.is_some() && variants_in.is_none() && !creating {
            return Err(vec![UserError::new(
                &["input", "variants"],
                "Variants input is required when updating product options",
                Some("VARIANTS_INPUT_MISSING"),
            )]);
        }
        if let Some(vs) = variants_in {
            self.set_variants(&mut p, options_in, vs, now)?;
        }
        let collections = input.get("collections").map(|v| ids_of(Some(v)));
        let id = p.id;
        let old = self.products.get(&id).cloned();
        if let Some(old) = &old {
            self.unindex_product(old);
        }
        p.updated_at = now;
        self.index_product(&p);
        self.products.insert(id, p);
        for m in input
            .get("metafields")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let field = |k: &str| m.get(k).and_then(Value::as_str).unwrap_or("").to_string();
            self.metafields.entry(id).or_default().insert(
                (field("namespace"), field("key")),
                (field("type"), field("value")),
            );
        }
        if let Some(wanted) = collections {
            let current: Vec<u64> = self
                .memberships
                .get(&id)
                .map(|s| s.iter().copied().collect())
                .unwrap_or_default();
            for c in current.iter().filter(|c| !wanted.contains(c)) {
                self.change_membership(*c, &[id], false);
            }
            self.join_collections(id, &wanted);
        }
        Ok(id)
    }

    /// Replace `p`'s options and variants from `productSet` input.
    fn set_variants(
        &mut self,
        p: &mut Product,
        options_in: Option<&Vec<Value>>,
        variants_in: &[Value],
        now: Timestamp,
    ) -> Result<(), Vec<UserError>> {
        if variants_in.len() > MAX_VARIANTS {
            return Err(vec![UserError::new(
                &["input", "variants"],
                format!("Exceeded the maximum of {MAX_VARIANTS} variants."),
                Some("VARIANTS_OVER_LIMIT"),
            )]);
        }
        // Option names and values: declared ones first, then any the variants name.
        let mut names: Vec<String> = vec![];
        let mut values: Vec<Vec<String>> = vec![];
        if let Some(opts) = options_in {
            for (i, o) in opts.iter().enumerate() {
                let name = o
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string();
                if name.contains(" / ") {
                    return Err(vec![UserError::at(
                        path(&["input", "productOptions"], &[&i.to_string(), "name"]),
                        "The name contains unsupported sequence ' / '",
                        Some("INVALID_INPUT"),
                    )]);
                }
                if names.iter().any(|n| n.eq_ignore_ascii_case(&name)) {
                    return Err(vec![UserError::at(
                        path(&["input", "productOptions"], &[&i.to_string()]),
                        "Duplicated option name.",
                        Some("DUPLICATED_OPTION_NAME"),
                    )]);
                }
                names.push(name);
                values.push(
                    o.get("values")
                        .and_then(Value::as_array)
                        .map(|vs| {
                            vs.iter()
                                .filter_map(|v| v.get("name").and_then(Value::as_str))
                                .map(String::from)
                                .collect()
                        })
                        .unwrap_or_default(),
                );
            }
        }
        let mut combos: Vec<Vec<String>> = Vec::with_capacity(variants_in.len());
        for (i, v) in variants_in.iter().enumerate() {
            let mut combo = vec![String::new(); names.len()];
            for ov in v
                .get("optionValues")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let oname = ov
                    .get("optionName")
                    .and_then(Value::as_str)
                    .unwrap_or("Title")
                    .to_string();
                let vname = ov
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string();
                let k = match names.iter().position(|n| *n == oname) {
                    Some(k) => k,
                    None => {
                        names.push(oname);
                        values.push(vec![]);
                        combo.push(String::new());
                        names.len() - 1
                    }
                };
                if !values[k].contains(&vname) {
                    values[k].push(vname.clone());
                }
                combo[k] = vname;
            }
            if combos.contains(&combo) {
                return Err(vec![UserError::at(
                    path(&["input", "variants"], &[&i.to_string()]),
                    format!(
                        "The variant '{}' already exists. Please change at least one option value.",
                        combo.join(" / ")
                    ),
                    None,
                )]);
            }
            combos.push(combo);
        }
        if names.len() > MAX_OPTIONS {
            return Err(vec![UserError::new(
                &["input", "productOptions"],
                "Can only specify a maximum of 3 options",
                Some("OPTIONS_OVER_LIMIT"),
            )]);
        }
        for combo in &mut combos {
            combo.resize(names.len(), String::new());
        }
        if names.is_empty() {
            names.push("Title".into());
            values.push(vec!["Default Title".into()]);
            for combo in &mut combos {
                *combo = vec!["Default Title".into()];
            }
        }
        // Keep option and value ids where names match.
        let old_options = std::mem::take(&mut p.options);
        for (name, vals) in names.iter().zip(&values) {
            let old = old_options.iter().find(|o| &o.name == name);
            let id = old
                .map(|o| o.id)
                .unwrap_or_else(|| self.new_id(IdKind::Option));
            let values = vals
                .iter()
                .map(|v| OptionValue {
                    id: old
                        .and_then(|o| o.values.iter().find(|x| &x.name == v))
                        .map(|x| x.id)
                        .unwrap_or_else(|| self.new_id(IdKind::OptionValue)),
                    name: v.clone(),
                })
                .collect();
            p.options.push(ProductOption {
                id,
                name: name.clone(),
                values,
            });
        }
        let old_variants = std::mem::take(&mut p.variants);
        for (i, (input, combo)) in variants_in.iter().zip(combos).enumerate() {
            let at = path(&["input", "variants"], &[&i.to_string()]);
            let by_id = input.get("id").filter(|v| !v.is_null());
            let old = match by_id {
                Some(idv) => {
                    match gid_number(idv).and_then(|id| old_variants.iter().find(|v| v.id == id)) {
                        Some(v) => Some(v.clone()),
                        None => {
                            return Err(vec![UserError::at(
                                at,
                                "Product variant does not exist",
                                Some("PRODUCT_VARIANT_DOES_NOT_EXIST"),
                            )])
                        }
                    }
                }
                None => old_variants
                    .iter()
                    .find(|v| v.option_values == combo)
                    .cloned(),
            };
            let mut v = match old {
                Some(v) => v,
                None => self.new_variant(vec![], now),
            };
            v.option_values = combo;
            v.updated_at = now;
            let obj = input.as_object().cloned().unwrap_or_default();
            apply_variant_fields(&mut v, &obj, &at).map_err(|mut e| {
                e.code = Some("INVALID_VARIANT");
                vec![e]
            })?;
            p.variants.push(v);
        }
        Ok(())
    }

    /// `productVariantsBulkCreate`.
    pub fn variants_bulk_create(
        &mut self,
        product: &Value,
        inputs: &[Value],
        strategy: &str,
    ) -> Result<(u64, Vec<u64>), Vec<UserError>> {
        let mut p = self.product_for_bulk(product)?;
        if p.variants.len() + inputs.len() > MAX_VARIANTS {
            return Err(vec![UserError::new(
                &["variants"],
                format!("Exceeded the maximum of {MAX_VARIANTS} variants."),
                Some("TOO_MANY_VARIANTS_CREATED"),
            )]);
        }
        let now = self.write_time();
        let only_default =
            p.variants.len() == 1 && p.options.len() == 1 && p.options[0].name == "Title";
        let remove_standalone = strategy == "REMOVE_STANDALONE_VARIANT" || only_default;
        if only_default {
            p.options.clear();
        }
        let mut created = vec![];
        let mut new_variants = vec![];
        for (i, input) in inputs.iter().enumerate() {
            let at = vec!["variants".to_string(), i.to_string()];
            let mut combo = vec![String::new(); p.options.len()];
            for (k, ov) in input
                .get("optionValues")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .enumerate()
            {
                let oname = ov.get("optionName").and_then(Value::as_str).unwrap_or("");
                let vname = ov
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string();
                let idx = match p.options.iter().position(|o| o.name == oname) {
                    Some(idx) => idx,
                    None if only_default
                        || p.options.len() < MAX_OPTIONS && p.variants.is_empty() =>
                    {
                        let option = self.make_option(oname, &[]);
                        p.options.push(option);
                        combo.push(String::new());
                        p.options.len() - 1
                    }
                    None => {
                        return Err(vec![UserError::at(
                            vec![
                                "variants".into(),
                                i.to_string(),
                                "optionValues".into(),
                                k.to_string(),
                            ],
                            "Option does not exist",
                            Some("INVALID_INPUT"),
                        )]);
                    }
                };
                if !p.options[idx].values.iter().any(|v| v.name == vname) {
                    let vid = self.new_id(IdKind::OptionValue);
                    p.options[idx].values.push(OptionValue {
                        id: vid,
                        name: vname.clone(),
                    });
                }
                combo[idx] = vname;
            }
            if let Some(missing) = combo.iter().position(String::is_empty) {
                return Err(vec![UserError::at(
                    at,
                    format!(
                        "You need to add option values for {}",
                        p.options[missing].name
                    ),
                    Some("NEED_TO_ADD_OPTION_VALUES"),
                )]);
            }
            let clash = p
                .variants
                .iter()
                .chain(&new_variants)
                .any(|v: &Variant| v.option_values == combo);
            if clash
                && !(remove_standalone
                    && !only_default
                    && p.variants.iter().any(|v| v.option_values == combo))
            {
                return Err(vec![UserError::at(
                    at,
                    format!(
                        "The variant '{}' already exists. Please change at least one option value.",
                        combo.join(" / ")
                    ),
                    Some("VARIANT_ALREADY_EXISTS"),
                )]);
            }
            let mut v = self.new_variant(combo, now);
            apply_variant_fields(&mut v, input.as_object().unwrap_or(&Map::new()), &at).map_err(
                |mut e| {
                    e.code = e.code.or(Some("INVALID_INPUT"));
                    vec![e]
                },
            )?;
            created.push(v.id);
            new_variants.push(v);
        }
        if remove_standalone {
            for v in &p.variants {
                self.variant_owner.remove(&v.id);
            }
            p.variants.clear();
        }
        for v in &mut p.variants {
            v.option_values.resize(p.options.len(), String::new());
        }
        p.variants.extend(new_variants);
        prune_unused_values(&mut p);
        let id = p.id;
        self.save_product(p);
        Ok((id, created))
    }

    /// `productVariantsBulkUpdate`.
    pub fn variants_bulk_update(
        &mut self,
        product: &Value,
        inputs: &[Value],
    ) -> Result<(u64, Vec<u64>), Vec<UserError>> {
        let mut p = self.product_for_bulk(product)?;
        let now = self.write_time();
        let mut updated = vec![];
        for (i, input) in inputs.iter().enumerate() {
            let at = vec!["variants".to_string(), i.to_string()];
            let Some(idv) = input.get("id").filter(|v| !v.is_null()) else {
                return Err(vec![UserError::at(
                    path(&at, &["id"]),
                    "Product variant is missing ID attribute",
                    Some("PRODUCT_VARIANT_ID_MISSING"),
                )]);
            };
            let vid = gid_number(idv);
            let Some(v) = p.variants.iter_mut().find(|v| Some(v.id) == vid) else {
                return Err(vec![UserError::at(
                    path(&at, &["id"]),
                    "Product variant does not exist",
                    Some("PRODUCT_VARIANT_DOES_NOT_EXIST"),
                )]);
            };
            if input
                .get("inventoryQuantities")
                .is_some_and(|q| !q.is_null())
            {
                return Err(vec![UserError::at(
                    path(&at, &["inventoryQuantities"]),
                    "Inventory quantities can only be provided during create. To update inventory for existing variants, use inventoryAdjustQuantities.",
                    Some("NO_INVENTORY_QUANTITIES_ON_VARIANTS_UPDATE"),
                )]);
            }
            apply_variant_fields(v, input.as_object().unwrap_or(&Map::new()), &at)
                .map_err(|e| vec![e])?;
            v.updated_at = now;
            updated.push(v.id);
        }
        let id = p.id;
        self.save_product(p);
        Ok((id, updated))
    }

    /// `productVariantsBulkDelete`.
    pub fn variants_bulk_delete(
        &mut self,
        product: &Value,
        ids: &[Value],
    ) -> Result<u64, Vec<UserError>> {
        let mut p = self.product_for_bulk(product)?;
        for (i, idv) in ids.iter().enumerate() {
            let vid = gid_number(idv);
            if !p.variants.iter().any(|v| Some(v.id) == vid) {
                return Err(vec![UserError::new(
                    &["variantsIds", &i.to_string()],
                    "At least one variant does not belong to the product",
                    Some("AT_LEAST_ONE_VARIANT_DOES_NOT_BELONG_TO_THE_PRODUCT"),
                )]);
            }
        }
        let doomed: BTreeSet<u64> = ids.iter().filter_map(gid_number).collect();
        p.variants.retain(|v| !doomed.contains(&v.id));
        for id in &doomed {
            self.variant_owner.remove(id);
        }
        if p.variants.is_empty() {
            // Shopify keeps a product's last variant as its default one.
            let now = self.write_time();
            p.options = vec![self.make_option("Title", &["Default Title".to_string()])];
            let v = self.new_variant(vec!["Default Title".into()], now);
            p.variants.push(v);
        }
        prune_unused_values(&mut p);
        let id = p.id;
        self.save_product(p);
        Ok(id)
    }

    fn product_for_bulk(&self, product: &Value) -> Result<Product, Vec<UserError>> {
        gid_number(product)
            .and_then(|id| self.products.get(&id))
            .cloned()
            .ok_or_else(|| {
                vec![UserError::new(
                    &["productId"],
                    "Product does not exist",
                    Some("PRODUCT_DOES_NOT_EXIST"),
                )]
            })
    }

    /// `tagsAdd` / `tagsRemove` on a product. Returns the product id.
    pub fn tags_change(
        &mut self,
        id: &Value,
        tags: &[Value],
        add: bool,
    ) -> Result<u64, Vec<UserError>> {
        let Some(mut p) = gid_number(id)
            .and_then(|id| self.products.get(&id))
            .cloned()
        else {
            return Err(vec![UserError::new(
                &["id"],
                "Resource does not exist",
                None,
            )]);
        };
        let given: Vec<String> = tags
            .iter()
            .filter_map(Value::as_str)
            .flat_map(|t| t.split(','))
            .map(String::from)
            .collect();
        if add {
            p.tags.extend(given);
        } else {
            let drop: Vec<String> = given.iter().map(|t| t.trim().to_lowercase()).collect();
            p.tags.retain(|t| !drop.contains(&t.to_lowercase()));
        }
        p.tags = normalize_tags(&p.tags);
        let pid = p.id;
        self.save_product(p);
        Ok(pid)
    }

    /// Store `p` (already in the store), bump its `updatedAt`, keep the indexes right.
    fn save_product(&mut self, mut p: Product) -> &Product {
        let now = self.write_time();
        p.updated_at = now;
        if let Some(old) = self.products.get(&p.id).cloned() {
            self.unindex_product(&old);
        }
        self.index_product(&p);
        let id = p.id;
        self.products.insert(id, p);
        &self.products[&id]
    }

    fn make_option(&mut self, name: &str, values: &[String]) -> ProductOption {
        ProductOption {
            id: self.new_id(IdKind::Option),
            name: name.to_string(),
            values: values
                .iter()
                .map(|v| OptionValue {
                    id: self.new_id(IdKind::OptionValue),
                    name: v.clone(),
                })
                .collect(),
        }
    }

    /// The handle a product gets: an explicit one must be free; a generated one takes
    /// the first free of `base`, `base-1`, `base-2` ...
    fn claim_handle(
        &self,
        wanted: Option<&str>,
        title: &str,
        owner: Option<u64>,
        field: &[&str],
    ) -> Result<String, Vec<UserError>> {
        let taken = |h: &str| {
            self.product_handles
                .get(h)
                .is_some_and(|id| Some(*id) != owner)
        };
        match wanted {
            Some(raw) if !raw.trim().is_empty() => {
                let h = normalize_handle(raw);
                if h.chars().count() > 255 {
                    return Err(vec![UserError::new(
                        &["handle"],
                        "Handle is too long (maximum is 255 characters)",
                        None,
                    )]);
                }
                if taken(&h) {
                    return Err(vec![UserError::new(
                        field,
                        format!("Handle '{raw}' already in use. Please provide a new handle."),
                        None,
                    )]);
                }
                Ok(h)
            }
            _ => Ok(unique_handle(&normalize_handle(title), taken)),
        }
    }

    // ----- collections -------------------------------------------------------------

    /// `collectionCreate(input:)` or `collectionCreate(collection:)`.
    pub fn collection_create(&mut self, input: &Map<String, Value>) -> Result<u64, Vec<UserError>> {
        let title = input
            .get("title")
            .and_then(Value::as_str)
            .unwrap_or("")
            .trim()
            .to_string();
        if title.is_empty() {
            return Err(vec![UserError::new(
                &["title"],
                "Title can't be blank",
                None,
            )]);
        }
        if title.chars().count() > 255 {
            return Err(vec![UserError::new(
                &["title"],
                "Title is too long (maximum is 255 characters)",
                None,
            )]);
        }
        let rule_set = parse_rule_set(input.get("ruleSet"));
        let members = ids_of(input.get("products"));
        if rule_set.is_some() && !members.is_empty() {
            return Err(vec![UserError::new(
                &["products"],
                "Can't manually add products to a smart collection",
                None,
            )]);
        }
        let taken = |h: &str| self.collection_handles.contains_key(h);
        let handle = match input
            .get("handle")
            .and_then(Value::as_str)
            .filter(|h| !h.trim().is_empty())
        {
            Some(h) if taken(&normalize_handle(h)) => {
                return Err(vec![UserError::new(
                    &["handle"],
                    format!("Handle '{h}' already in use. Please provide a new handle."),
                    None,
                )]);
            }
            Some(h) => normalize_handle(h),
            None => unique_handle(&normalize_handle(&title), taken),
        };
        let now = self.write_time();
        let id = self.new_id(IdKind::Collection);
        let smart = rule_set.is_some();
        let c = Collection {
            id,
            title,
            handle: handle.clone(),
            description_html: input
                .get("descriptionHtml")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
            sort_order: input
                .get("sortOrder")
                .and_then(Value::as_str)
                .unwrap_or(if smart { "BEST_SELLING" } else { "MANUAL" })
                .to_string(),
            template_suffix: input
                .get("templateSuffix")
                .and_then(Value::as_str)
                .map(String::from),
            rule_set,
            product_ids: vec![],
            updated_at: now,
        };
        self.collections.insert(id, c);
        self.collection_handles.insert(handle, id);
        let existing: Vec<u64> = members
            .into_iter()
            .filter(|p| self.products.contains_key(p))
            .collect();
        self.change_membership(id, &existing, true);
        Ok(id)
    }

    /// `collectionUpdate(input:)` or `collectionUpdate(collection:)`.
    pub fn collection_update(&mut self, input: &Map<String, Value>) -> Result<u64, Vec<UserError>> {
        let Some(mut c) = input
            .get("id")
            .and_then(gid_number)
            .and_then(|id| self.collections.get(&id))
            .cloned()
        else {
            return Err(vec![UserError::new(
                &["id"],
                "Collection does not exist",
                None,
            )]);
        };
        if let Some(t) = input.get("title") {
            match t.as_str().map(str::trim) {
                Some(t) if !t.is_empty() => c.title = t.to_string(),
                _ => {
                    return Err(vec![UserError::new(
                        &["title"],
                        "Title can't be blank",
                        None,
                    )])
                }
            }
        }
        if let Some(h) = input.get("handle").and_then(Value::as_str) {
            let h2 = normalize_handle(h);
            if self
                .collection_handles
                .get(&h2)
                .is_some_and(|id| *id != c.id)
            {
                return Err(vec![UserError::new(
                    &["handle"],
                    format!("Handle '{h}' already in use. Please provide a new handle."),
                    None,
                )]);
            }
            self.collection_handles.remove(&c.handle);
            self.collection_handles.insert(h2.clone(), c.id);
            c.handle = h2;
        }
        if let Some(d) = input.get("descriptionHtml").and_then(Value::as_str) {
            c.description_html = d.to_string();
        }
        if let Some(s) = input.get("sortOrder").and_then(Value::as_str) {
            c.sort_order = s.to_string();
        }
        if input.contains_key("ruleSet") {
            if c.rule_set.is_none() {
                return Err(vec![UserError::new(
                    &["ruleSet"],
                    "Cannot update rule set of a custom collection",
                    None,
                )]);
            }
            c.rule_set = parse_rule_set(input.get("ruleSet"));
        }
        c.updated_at = self.write_time();
        let id = c.id;
        self.collections.insert(id, c);
        Ok(id)
    }

    /// `collectionDelete(input: {id})`.
    pub fn collection_delete(&mut self, id: &Value) -> Result<u64, Vec<UserError>> {
        let Some(c) = gid_number(id).and_then(|id| self.collections.remove(&id)) else {
            return Err(vec![UserError::new(
                &["id"],
                "Collection does not exist",
                None,
            )]);
        };
        self.collection_handles.remove(&c.handle);
        for p in &c.product_ids {
            if let Some(set) = self.memberships.get_mut(p) {
                set.remove(&c.id);
            }
        }
        Ok(c.id)
    }

    /// Check a membership call's arguments: the collection exists and is custom, at
    /// most 250 ids, each an existing product.
    fn check_membership(
        &self,
        collection: &Value,
        products: &[Value],
        coded: bool,
    ) -> Result<(u64, Vec<u64>), Vec<UserError>> {
        let code = |c: &'static str| coded.then_some(c);
        let Some(c) = gid_number(collection).and_then(|id| self.collections.get(&id)) else {
            return Err(vec![UserError::new(
                &["id"],
                "Collection does not exist",
                code("COLLECTION_DOES_NOT_EXIST"),
            )]);
        };
        if c.rule_set.is_some() {
            return Err(vec![UserError::new(
                &["id"],
                "Can't manually add products to a smart collection",
                code("CANT_ADD_TO_SMART_COLLECTION"),
            )]);
        }
        if products.len() > MAX_MEMBERSHIP_IDS {
            return Err(vec![UserError::new(
                &["productIds"],
                format!("The maximum number of product IDs is {MAX_MEMBERSHIP_IDS}."),
                None,
            )]);
        }
        let mut ids = vec![];
        for (i, v) in products.iter().enumerate() {
            match gid_number(v).filter(|id| self.products.contains_key(id)) {
                Some(id) => ids.push(id),
                None => {
                    return Err(vec![UserError::new(
                        &["productIds", &i.to_string()],
                        "Product does not exist",
                        None,
                    )]);
                }
            }
        }
        Ok((c.id, ids))
    }

    /// `collectionAddProducts` (synchronous). Adding a product that is already a member
    /// is accepted and changes nothing, as the captured Shopify responses show.
    pub fn collection_add(
        &mut self,
        collection: &Value,
        products: &[Value],
    ) -> Result<u64, Vec<UserError>> {
        let (cid, ids) = self.check_membership(collection, products, false)?;
        self.change_membership(cid, &ids, true);
        Ok(cid)
    }

    /// `collectionAddProductsV2` / `collectionRemoveProducts`: checked now, applied by a
    /// job that finishes after the configured delay. Returns the job id.
    pub fn collection_job(
        &mut self,
        collection: &Value,
        products: &[Value],
        add: bool,
    ) -> Result<String, Vec<UserError>> {
        let (cid, ids) = self.check_membership(collection, products, add)?;
        let id = format!("{:08x}-0000-4000-8000-{:012x}", self.next_id, cid);
        self.next_id += 1;
        self.jobs.insert(
            id.clone(),
            Job {
                due: Instant::now() + self.job_delay,
                collection: cid,
                products: ids,
                add,
                done: false,
            },
        );
        if self.job_delay.is_zero() {
            self.run_due_jobs(Instant::now());
        }
        Ok(id)
    }

    fn join_collections(&mut self, product: u64, collections: &[u64]) {
        for c in collections {
            if self
                .collections
                .get(c)
                .is_some_and(|c| c.rule_set.is_none())
            {
                self.change_membership(*c, &[product], true);
            }
        }
    }

    fn change_membership(&mut self, collection: u64, products: &[u64], add: bool) {
        let now = self.write_time();
        let Some(c) = self.collections.get_mut(&collection) else {
            return;
        };
        for p in products {
            let member = c.product_ids.contains(p);
            if add && !member {
                c.product_ids.push(*p);
                self.memberships.entry(*p).or_default().insert(collection);
            } else if !add && member {
                c.product_ids.retain(|x| x != p);
                if let Some(s) = self.memberships.get_mut(p) {
                    s.remove(&collection);
                }
            }
        }
        c.updated_at = now;
    }
}

impl Store {
    /// A new product with Shopify's defaults: one `Default Title` variant priced 0.
    fn new_product(&mut self, title: &str, handle: String, now: Timestamp) -> Product {
        let id = self.new_id(IdKind::Product);
        let option = self.make_option("Title", &["Default Title".to_string()]);
        let variant = self.new_variant(vec!["Default Title".into()], now);
        Product {
            id,
            title: title.to_string(),
            handle,
            description_html: String::new(),
            vendor: String::new(),
            product_type: String::new(),
            status: "ACTIVE".into(),
            tags: vec![],
            seo_title: None,
            seo_description: None,
            template_suffix: None,
            options: vec![option],
            variants: vec![variant],
            created_at: now,
            updated_at: now,
        }
    }

    /// A new variant with Shopify's defaults: price 0, policy `DENY`, taxable.
    fn new_variant(&mut self, option_values: Vec<String>, now: Timestamp) -> Variant {
        Variant {
            id: self.new_id(IdKind::Variant),
            price: Decimal::ZERO,
            compare_at_price: None,
            sku: None,
            barcode: None,
            inventory_policy: "DENY".into(),
            inventory_quantity: 0,
            taxable: true,
            option_values,
            created_at: now,
            updated_at: now,
        }
    }
}

// ----- webhook subscriptions ---------------------------------------------------------

/// Ids of webhook subscriptions start above this (Shopify's are 13-digit numbers).
const FIRST_WEBHOOK_SUBSCRIPTION_ID: u64 = 1_300_000_000_000;

/// A webhook subscription made with `webhookSubscriptionCreate`.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookSubscription {
    /// Numeric id (`gid://shopify/WebhookSubscription/{id}`).
    pub id: u64,
    /// `WebhookSubscriptionTopic` value, e.g. `PRODUCTS_UPDATE`.
    pub topic: String,
    /// Delivery address: an https URL, `pubsub://project:topic` or an EventBridge ARN.
    pub uri: String,
    /// `JSON` or `XML`.
    pub format: String,
    /// The subscription's filter, if any.
    pub filter: Option<String>,
    /// `includeFields`.
    pub include_fields: Vec<String>,
    /// `metafieldNamespaces`.
    pub metafield_namespaces: Vec<String>,
    /// `name` (2026-07 and later).
    pub name: Option<String>,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it was last changed.
    pub updated_at: Timestamp,
}

/// The shop's webhook subscriptions, by ascending id.
#[derive(Debug, Default, Clone)]
struct Webhooks {
    subscriptions: BTreeMap<u64, WebhookSubscription>,
    created: u64,
}

impl Store {
    /// All webhook subscriptions, by ascending id (creation order).
    pub fn webhook_subscriptions(&self) -> impl Iterator<Item = &WebhookSubscription> {
        self.webhooks.subscriptions.values()
    }

    /// A webhook subscription by id.
    pub fn webhook_subscription(&self, id: u64) -> Option<&WebhookSubscription> {
        self.webhooks.subscriptions.get(&id)
    }

    /// `webhookSubscriptionCreate(topic:, webhookSubscription:)`, with Shopify's address
    /// validation and its refusal of a second subscription of one address to one topic.
    pub fn webhook_subscription_create(
        &mut self,
        topic: &str,
        input: &Map<String, Value>,
    ) -> Result<u64, Vec<UserError>> {
        let text = |k: &str| input.get(k).and_then(Value::as_str).map(str::to_string);
        let list = |k: &str| -> Vec<String> {
            input
                .get(k)
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(String::from)
                        .collect()
                })
                .unwrap_or_default()
        };
        let uri = text("uri")
            .or_else(|| text("callbackUrl"))
            .unwrap_or_default()
            .trim()
            .to_string();
        let format = text("format").unwrap_or_else(|| "JSON".into());
        let filter = text("filter").filter(|f| !f.is_empty());
        let name = text("name");
        let mut errors = webhook_address_errors(&uri);
        if (uri.starts_with("pubsub://") || uri.starts_with("arn:aws:events:")) && format != "JSON"
        {
            errors.push(UserError::new(
                &["webhookSubscription", "format"],
                "Format can only be used with format: 'json'",
                None,
            ));
        }
        if let Some(name) = &name {
            if name.is_empty() {
                errors.push(UserError::new(
                    &["webhookSubscription", "name"],
                    "Name is too short (minimum is 1 character)",
                    None,
                ));
            } else if self.webhook_subscriptions().any(|s| {
                s.name
                    .as_deref()
                    .is_some_and(|n| n.eq_ignore_ascii_case(name))
            }) {
                errors.push(UserError::new(
                    &["webhookSubscription", "name"],
                    "Name already exists, no duplicate allowed",
                    None,
                ));
            }
        }
        if errors.is_empty()
            && self
                .webhook_subscriptions()
                .any(|s| s.topic == topic && s.uri == uri && s.filter == filter)
        {
            errors.push(UserError::new(
                &["webhookSubscription", "callbackUrl"],
                "Address for this topic has already been taken",
                None,
            ));
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let now = self.write_time();
        self.webhooks.created += 1;
        let id = FIRST_WEBHOOK_SUBSCRIPTION_ID + self.webhooks.created;
        self.webhooks.subscriptions.insert(
            id,
            WebhookSubscription {
                id,
                topic: topic.to_string(),
                uri,
                format,
                filter,
                include_fields: list("includeFields"),
                metafield_namespaces: list("metafieldNamespaces"),
                name,
                created_at: now,
                updated_at: now,
            },
        );
        Ok(id)
    }

    /// `webhookSubscriptionDelete(id:)`.
    pub fn webhook_subscription_delete(&mut self, id: &Value) -> Result<u64, Vec<UserError>> {
        let kind_ok = id.as_str().is_some_and(|s| {
            s.strip_prefix("gid://shopify/")
                .is_none_or(|rest| rest.starts_with("WebhookSubscription/"))
        });
        match gid_number(id).filter(|_| kind_ok) {
            Some(n) if self.webhooks.subscriptions.remove(&n).is_some() => Ok(n),
            _ => Err(vec![UserError::new(
                &["id"],
                "Webhook subscription does not exist",
                None,
            )]),
        }
    }
}

/// Shopify's refusals of a webhook address, all on `webhookSubscription.callbackUrl`.
fn webhook_address_errors(uri: &str) -> Vec<UserError> {
    let err = |m: &str| UserError::new(&["webhookSubscription", "callbackUrl"], m, None);
    if uri.is_empty() {
        return vec![err("Address can't be blank")];
    }
    if uri.len() > 65_535 {
        return vec![err("Address is too big (maximum is 64 KB)")];
    }
    if let Some(tail) = uri.strip_prefix("pubsub://") {
        return match tail.split_once(':') {
            Some((project, topic)) if !project.is_empty() && !topic.is_empty() => vec![],
            _ => vec![
                err("Address protocol pubsub:// is not supported"),
                err("Address is not a valid GCP pub/sub format. Format should be pubsub://project:topic"),
            ],
        };
    }
    if uri.starts_with("arn:aws:events:") {
        return vec![];
    }
    let Some(rest) = uri.strip_prefix("https://") else {
        return match uri.split_once("://") {
            Some((scheme, _))
                if !scheme.is_empty() && scheme.bytes().all(|b| b.is_ascii_alphanumeric()) =>
            {
                vec![err(&format!(
                    "Address protocol {}:// is not supported",
                    scheme.to_ascii_lowercase()
                ))]
            }
            _ => vec![err("Address is invalid")],
        };
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host_port = authority.rsplit('@').next().unwrap_or_default();
    let host = if let Some(v6) = host_port.strip_prefix('[') {
        v6.split(']').next().unwrap_or_default()
    } else {
        host_port.split(':').next().unwrap_or_default()
    }
    .to_ascii_lowercase();
    let valid_host = !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':'))
        && !host.starts_with('.')
        && !host.ends_with('.');
    if !valid_host || uri.chars().any(char::is_whitespace) {
        return vec![err("Address is invalid")];
    }
    if webhook_host_is_internal(&host) {
        return vec![err("Address cannot be a Shopify or an internal domain")];
    }
    vec![]
}

/// Loopback, private and Shopify's own hosts, where Shopify does not deliver.
fn webhook_host_is_internal(host: &str) -> bool {
    let domain_is = |d: &str| host == d || host.ends_with(&format!(".{d}"));
    if domain_is("localhost")
        || domain_is("shopify.com")
        || domain_is("myshopify.com")
        || domain_is("shopifycloud.com")
    {
        return true;
    }
    match host.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(ip)) => {
            ip.is_loopback() || ip.is_private() || ip.is_link_local() || ip.is_unspecified()
        }
        Ok(std::net::IpAddr::V6(ip)) => ip.is_loopback() || ip.is_unspecified(),
        Err(_) => false,
    }
}

#[cfg(test)]
mod webhook_tests {
    use super::*;
    use serde_json::json;

    fn store() -> Store {
        Store::new(Catalog::default(), Duration::ZERO)
    }

    fn input(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    fn messages(r: Result<u64, Vec<UserError>>) -> Vec<String> {
        r.expect_err("refused")
            .into_iter()
            .map(|e| e.message)
            .collect()
    }

    #[test]
    fn subscriptions_are_created_listed_and_deleted() {
        let mut s = store();
        let a = s
            .webhook_subscription_create(
                "PRODUCTS_UPDATE",
                &input(json!({"uri": "https://hooks.example.com/a", "format": "JSON"})),
            )
            .unwrap();
        // The deprecated callbackUrl works too; another topic may reuse the address.
        let b = s
            .webhook_subscription_create(
                "PRODUCTS_DELETE",
                &input(json!({"callbackUrl": "https://hooks.example.com/a"})),
            )
            .unwrap();
        assert!(b > a);
        let listed: Vec<_> = s
            .webhook_subscriptions()
            .map(|w| w.topic.as_str())
            .collect();
        assert_eq!(listed, ["PRODUCTS_UPDATE", "PRODUCTS_DELETE"]);
        assert_eq!(s.webhook_subscription(b).unwrap().format, "JSON");
        let gid = json!(format!("gid://shopify/WebhookSubscription/{a}"));
        assert_eq!(s.webhook_subscription_delete(&gid), Ok(a));
        assert_eq!(
            messages(s.webhook_subscription_delete(&gid)),
            ["Webhook subscription does not exist"]
        );
        let wrong_kind = json!(format!("gid://shopify/Product/{b}"));
        assert!(s.webhook_subscription_delete(&wrong_kind).is_err());
        assert_eq!(s.webhook_subscriptions().count(), 1);
        // Ids are never reused.
        let c = s
            .webhook_subscription_create(
                "PRODUCTS_UPDATE",
                &input(json!({"uri": "https://hooks.example.com/a"})),
            )
            .unwrap();
        assert!(c > b);
    }

    #[test]
    fn addresses_are_validated_like_shopify() {
        let mut s = store();
        let create = |s: &mut Store, uri: &str| {
            s.webhook_subscription_create("PRODUCTS_CREATE", &input(json!({"uri": uri})))
        };
        for (uri, message) in [
            ("", "Address can't be blank"),
            (
                "http://hooks.example.com/a",
                "Address protocol http:// is not supported",
            ),
            (
                "ftp://hooks.example.com/a",
                "Address protocol ftp:// is not supported",
            ),
            ("hooks.example.com/a", "Address is invalid"),
            ("https://", "Address is invalid"),
            ("https://exa mple.com/", "Address is invalid"),
            (
                "https://localhost:3000/h",
                "Address cannot be a Shopify or an internal domain",
            ),
            (
                "https://127.0.0.1/h",
                "Address cannot be a Shopify or an internal domain",
            ),
            (
                "https://10.1.2.3/h",
                "Address cannot be a Shopify or an internal domain",
            ),
            (
                "https://shop.myshopify.com/h",
                "Address cannot be a Shopify or an internal domain",
            ),
        ] {
            assert_eq!(messages(create(&mut s, uri)), [message], "{uri}");
        }
        let e = create(&mut s, "http://x.example").unwrap_err();
        assert_eq!(
            e[0].field.as_deref(),
            Some(&["webhookSubscription".to_string(), "callbackUrl".to_string()][..])
        );
        assert!(create(&mut s, "https://hooks.example.com:8443/h?x=1").is_ok());
        assert!(create(&mut s, "pubsub://my-project:my-topic").is_ok());
        assert_eq!(
            messages(create(&mut s, "https://hooks.example.com:8443/h?x=1")),
            ["Address for this topic has already been taken"]
        );
        assert_eq!(s.webhook_subscriptions().count(), 2);
    }
}

fn unique_handle(base: &str, taken: impl Fn(&str) -> bool) -> String {
    let base = if base.is_empty() { "product" } else { base };
    if !taken(base) {
        return base.to_string();
    }
    (1..)
        .map(|n| format!("{base}-{n}"))
        .find(|h| !taken(h))
        .expect("an unbounded range")
}

/// Drop option values no variant uses (Shopify keeps only values in use).
fn prune_unused_values(p: &mut Product) {
    for (k, o) in p.options.iter_mut().enumerate() {
        o.values.retain(|v| {
            p.variants
                .iter()
                .any(|x| x.option_values.get(k) == Some(&v.name))
        });
    }
}

fn path(base: &[impl AsRef<str>], rest: &[&str]) -> Vec<String> {
    base.iter()
        .map(|s| s.as_ref().to_string())
        .chain(rest.iter().map(|s| s.to_string()))
        .collect()
}

/// The numeric part of a GID (`gid://shopify/Product/123` -> 123), or a bare number.
pub fn gid_number(v: &Value) -> Option<u64> {
    let s = v.as_str()?;
    let tail = s.rsplit('/').next()?;
    let tail = tail.split('?').next()?;
    tail.parse().ok()
}

fn ids_of(v: Option<&Value>) -> Vec<u64> {
    v.and_then(Value::as_array)
        .map(|a| a.iter().filter_map(gid_number).collect())
        .unwrap_or_default()
}

/// Apply the scalar product fields present in `input` (title, descriptionHtml, vendor,
/// productType, status, tags, seo, templateSuffix). `prefix` starts error paths.
fn apply_scalar_fields(
    p: &mut Product,
    input: &Map<String, Value>,
    prefix: &[&str],
) -> Result<(), UserError> {
    let text = |k: &str| input.get(k).and_then(Value::as_str).map(String::from);
    for (key, label) in [("vendor", "Vendor"), ("productType", "Product type")] {
        if text(key).is_some_and(|t| t.chars().count() > 255) {
            let field = if prefix.is_empty() {
                vec![key]
            } else {
                prefix.to_vec()
            };
            return Err(UserError::new(
                &field,
                format!("{label} is too long (maximum is 255 characters)"),
                None,
            ));
        }
    }
    if let Some(t) = text("title") {
        if t.chars().count() > 255 {
            return Err(UserError::new(
                &[prefix, &["title"]].concat(),
                "Title is too long (maximum is 255 characters)",
                None,
            ));
        }
        p.title = t.trim().to_string();
    }
    if let Some(v) = text("descriptionHtml") {
        p.description_html = v;
    }
    if let Some(v) = text("vendor") {
        p.vendor = v;
    }
    if let Some(v) = text("productType") {
        p.product_type = v;
    }
    if let Some(v) = text("status") {
        p.status = v;
    }
    if let Some(v) = text("templateSuffix") {
        p.template_suffix = Some(v);
    }
    if let Some(Value::Array(tags)) = input.get("tags") {
        let tags: Vec<String> = tags
            .iter()
            .filter_map(Value::as_str)
            .map(String::from)
            .collect();
        let tags = normalize_tags(&tags);
        if tags.iter().any(|t| t.chars().count() > 255) {
            return Err(UserError::new(&["tags"], "Product tags is invalid", None));
        }
        p.tags = tags;
    }
    if let Some(Value::Object(seo)) = input.get("seo") {
        if let Some(t) = seo.get("title") {
            p.seo_title = t.as_str().map(String::from);
        }
        if let Some(d) = seo.get("description") {
            p.seo_description = d.as_str().map(String::from);
        }
    }
    Ok(())
}

/// Parse a Money input: a decimal string (or number), never negative.
fn money(v: &Value) -> Option<Decimal> {
    match v {
        Value::String(s) => Decimal::from_str(s.trim()).ok(),
        Value::Number(n) => Decimal::from_str(&n.to_string()).ok(),
        _ => None,
    }
}

/// Apply variant fields present in `input` (price, compareAtPrice, sku, barcode,
/// inventoryPolicy, taxable, inventoryQuantities on create).
fn apply_variant_fields(
    v: &mut Variant,
    input: &Map<String, Value>,
    at: &[impl AsRef<str>],
) -> Result<(), UserError> {
    for key in ["price", "compareAtPrice"] {
        let Some(raw) = input.get(key) else { continue };
        if raw.is_null() {
            if key == "compareAtPrice" {
                v.compare_at_price = None;
            }
            continue;
        }
        let Some(mut d) = money(raw) else {
            return Err(UserError::at(
                path(at, &[key]),
                format!("{key} is invalid"),
                Some("INVALID_INPUT"),
            ));
        };
        if d.is_sign_negative() && !d.is_zero() {
            let label = if key == "price" {
                "Price"
            } else {
                "Compare at price"
            };
            return Err(UserError::at(
                path(at, &[key]),
                format!("{label} must be greater than or equal to 0"),
                Some("GREATER_THAN_OR_EQUAL_TO"),
            ));
        }
        d.rescale(2);
        if key == "price" {
            v.price = d;
        } else {
            v.compare_at_price = Some(d);
        }
    }
    if let Some(s) = input.get("sku") {
        v.sku = s.as_str().map(String::from);
    }
    if let Some(Value::Object(item)) = input.get("inventoryItem") {
        if let Some(s) = item.get("sku") {
            v.sku = s.as_str().map(String::from);
        }
    }
    if let Some(b) = input.get("barcode") {
        v.barcode = b.as_str().map(String::from);
    }
    if let Some(p) = input.get("inventoryPolicy").and_then(Value::as_str) {
        v.inventory_policy = p.to_string();
    }
    if let Some(t) = input.get("taxable").and_then(Value::as_bool) {
        v.taxable = t;
    }
    if let Some(Value::Array(qs)) = input.get("inventoryQuantities") {
        v.inventory_quantity = qs
            .iter()
            .filter_map(|q| {
                q.get("availableQuantity")
                    .or_else(|| q.get("quantity"))
                    .and_then(Value::as_i64)
            })
            .sum();
    }
    Ok(())
}

fn parse_rule_set(v: Option<&Value>) -> Option<RuleSet> {
    let rs = v?.as_object()?;
    Some(RuleSet {
        applied_disjunctively: rs
            .get("appliedDisjunctively")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        rules: rs
            .get("rules")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|r| Rule {
                column: r
                    .get("column")
                    .and_then(Value::as_str)
                    .unwrap_or("TITLE")
                    .to_string(),
                relation: r
                    .get("relation")
                    .and_then(Value::as_str)
                    .unwrap_or("EQUALS")
                    .to_string(),
                condition: r
                    .get("condition")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
            })
            .collect(),
    })
}

/// Whether a product satisfies a smart collection's rule set.
pub fn rule_set_matches(rs: &RuleSet, p: &Product) -> bool {
    if rs.rules.is_empty() {
        return false;
    }
    let mut results = rs.rules.iter().map(|r| rule_matches(r, p));
    if rs.applied_disjunctively {
        results.any(|b| b)
    } else {
        results.all(|b| b)
    }
}

fn rule_matches(r: &Rule, p: &Product) -> bool {
    let texts: Vec<String> = match r.column.as_str() {
        "TAG" => p.tags.clone(),
        "TITLE" => vec![p.title.clone()],
        "TYPE" => vec![p.product_type.clone()],
        "VENDOR" => vec![p.vendor.clone()],
        "VARIANT_TITLE" => p
            .variants
            .iter()
            .map(|v| v.option_values.join(" / "))
            .collect(),
        "VARIANT_PRICE" => return p.variants.iter().any(|v| num_rule(r, Some(v.price))),
        "VARIANT_COMPARE_AT_PRICE" => {
            return p.variants.iter().any(|v| num_rule(r, v.compare_at_price))
        }
        "VARIANT_INVENTORY" => {
            return p
                .variants
                .iter()
                .any(|v| num_rule(r, Some(Decimal::from(v.inventory_quantity))))
        }
        "IS_PRICE_REDUCED" => {
            let reduced = p
                .variants
                .iter()
                .any(|v| v.compare_at_price.is_some_and(|c| c > v.price));
            return reduced == r.condition.eq_ignore_ascii_case("true");
        }
        _ => return false,
    };
    let cond = r.condition.to_lowercase();
    let test = |t: &String| {
        let t = t.to_lowercase();
        match r.relation.as_str() {
            "EQUALS" => t == cond,
            "NOT_EQUALS" => t != cond,
            "CONTAINS" => t.contains(&cond),
            "NOT_CONTAINS" => !t.contains(&cond),
            "STARTS_WITH" => t.starts_with(&cond),
            "ENDS_WITH" => t.ends_with(&cond),
            "IS_SET" => !t.is_empty(),
            "IS_NOT_SET" => t.is_empty(),
            _ => false,
        }
    };
    match r.relation.as_str() {
        "NOT_EQUALS" | "NOT_CONTAINS" => texts.iter().all(test),
        _ => texts.iter().any(test),
    }
}

fn num_rule(r: &Rule, value: Option<Decimal>) -> bool {
    let (Some(v), Ok(c)) = (value, Decimal::from_str(r.condition.trim())) else {
        return false;
    };
    match r.relation.as_str() {
        "EQUALS" => v == c,
        "NOT_EQUALS" => v != c,
        "GREATER_THAN" => v > c,
        "LESS_THAN" => v < c,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::CatalogSpec;
    use serde_json::json;

    fn store() -> Store {
        Store::new(
            Catalog::generate(&CatalogSpec {
                products: 50,
                collections: 8,
                ..Default::default()
            }),
            Duration::ZERO,
        )
    }

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn product_set_replaces_variants_and_upserts_by_handle() {
        let mut s = store();
        let input = obj(
            json!({"title": "Tee", "productOptions": [{"name": "Size", "values": [{"name": "S"}, {"name": "M"}]}],
            "variants": [{"optionValues": [{"optionName": "Size", "name": "S"}], "price": "10"},
                         {"optionValues": [{"optionName": "Size", "name": "M"}], "price": "12.5"}]}),
        );
        let ident = obj(json!({"handle": "my-tee"}));
        let id = s.product_set(&input, Some(&ident)).unwrap();
        let p = s.product(id).unwrap().clone();
        assert_eq!(p.handle, "my-tee");
        assert_eq!(p.variants.len(), 2);
        assert_eq!(p.variants[1].price.to_string(), "12.50");
        // Same identifier again: same product, one variant left, the other's id kept.
        let input2 = obj(
            json!({"title": "Tee", "productOptions": [{"name": "Size", "values": [{"name": "M"}]}],
            "variants": [{"optionValues": [{"optionName": "Size", "name": "M"}], "price": "13"}]}),
        );
        assert_eq!(s.product_set(&input2, Some(&ident)).unwrap(), id);
        let p2 = s.product(id).unwrap();
        assert_eq!(p2.variants.len(), 1);
        assert_eq!(p2.variants[0].id, p.variants[1].id);
        assert!(
            s.variant(p.variants[0].id).is_none(),
            "omitted variant deleted"
        );
    }

    #[test]
    fn user_errors_for_bad_writes() {
        let mut s = store();
        let e = s.product_create(&obj(json!({"title": "  "}))).unwrap_err();
        assert_eq!(e[0].message, "Title can't be blank");
        let taken = s.products().next().unwrap().handle.clone();
        let e = s
            .product_create(&obj(json!({"title": "x", "handle": taken})))
            .unwrap_err();
        assert!(e[0].message.contains("already in use"));
        let pid = json!(format!(
            "gid://shopify/Product/{}",
            s.products().next().unwrap().id
        ));
        let vid = s.products().next().unwrap().variants[0].id;
        let e = s
            .variants_bulk_update(
                &pid,
                &[json!({"id": format!("gid://shopify/ProductVariant/{vid}"), "price": "-1"})],
            )
            .unwrap_err();
        assert_eq!(e[0].code, Some("GREATER_THAN_OR_EQUAL_TO"));
        let smart = s.collections().find(|c| c.rule_set.is_some()).unwrap().id;
        let e = s
            .collection_add(
                &json!(format!("gid://shopify/Collection/{smart}")),
                std::slice::from_ref(&pid),
            )
            .unwrap_err();
        assert!(e[0].message.contains("smart collection"));
        let custom = s.collections().find(|c| c.rule_set.is_none()).unwrap().id;
        let many: Vec<Value> = (0..251).map(|_| pid.clone()).collect();
        let e = s
            .collection_add(&json!(format!("gid://shopify/Collection/{custom}")), &many)
            .unwrap_err();
        assert_eq!(e[0].field, Some(vec!["productIds".to_string()]));
    }

    #[test]
    fn generated_handles_are_suffixed_and_writes_bump_updated_at() {
        let mut s = store();
        let a = s
            .product_create(&obj(json!({"title": "Same Name"})))
            .unwrap();
        let b = s
            .product_create(&obj(json!({"title": "Same Name"})))
            .unwrap();
        assert_eq!(s.product(a).unwrap().handle, "same-name");
        assert_eq!(s.product(b).unwrap().handle, "same-name-1");
        let first = s.products().next().unwrap().clone();
        s.edit_product(first.id, &obj(json!({"title": "Edited"})))
            .unwrap();
        assert!(s.product(first.id).unwrap().updated_at > first.updated_at);
    }

    #[test]
    fn smart_membership_follows_edits() {
        let mut s = store();
        let rs = json!({"appliedDisjunctively": false, "rules": [{"column": "TAG", "relation": "EQUALS", "condition": "zzz"}]});
        let cid = s
            .collection_create(&obj(json!({"title": "Z", "ruleSet": rs})))
            .unwrap();
        let c = s.collection(cid).unwrap().clone();
        assert!(s.collection_members(&c).is_empty());
        let pid = s.products().next().unwrap().id;
        s.tags_change(
            &json!(format!("gid://shopify/Product/{pid}")),
            &[json!("ZZZ")],
            true,
        )
        .unwrap();
        assert_eq!(s.collection_members(&c), vec![pid]);
        assert!(s
            .product_collections(s.product(pid).unwrap())
            .contains(&cid));
    }

    #[test]
    fn membership_jobs_apply_when_due() {
        let mut s = Store::new(
            Catalog::generate(&CatalogSpec {
                products: 200,
                collections: 4,
                ..Default::default()
            }),
            Duration::from_secs(3600),
        );
        let cid = s.collections().find(|c| c.rule_set.is_none()).unwrap().id;
        let pid = s
            .products()
            .find(|p| !s.collection(cid).unwrap().product_ids.contains(&p.id))
            .unwrap()
            .id;
        let job = s
            .collection_job(
                &json!(format!("gid://shopify/Collection/{cid}")),
                &[json!(format!("gid://shopify/Product/{pid}"))],
                true,
            )
            .unwrap();
        assert_eq!(s.job_done(&job), Some(false));
        assert!(!s.collection(cid).unwrap().product_ids.contains(&pid));
        s.run_due_jobs(Instant::now() + Duration::from_secs(3601));
        assert_eq!(s.job_done(&job), Some(true));
        assert!(s.collection(cid).unwrap().product_ids.contains(&pid));
    }
}

impl Store {
    /// The shop's publications (id, name), by id.
    pub fn publications(&self) -> impl Iterator<Item = (u64, &str)> {
        self.publications.iter().map(|(id, n)| (*id, n.as_str()))
    }

    /// The publications a product is published on.
    pub fn product_publications(&self, product: u64) -> Vec<u64> {
        self.published
            .get(&product)
            .map(|s| s.iter().copied().collect())
            .unwrap_or_default()
    }

    /// `publishablePublish` for a product: every publication must exist.
    pub(crate) fn publish(&mut self, id: &Value, input: &[Value]) -> Result<u64, Vec<UserError>> {
        let product = id
            .as_str()
            .and_then(|s| s.strip_prefix("gid://shopify/Product/"))
            .and_then(|n| n.parse::<u64>().ok())
            .filter(|n| self.products.contains_key(n))
            .ok_or_else(|| {
                vec![UserError::new(
                    &["id"],
                    "Resource does not exist",
                    Some("NOT_FOUND"),
                )]
            })?;
        let mut wanted = Vec::new();
        for (i, p) in input.iter().enumerate() {
            let publication = p
                .get("publicationId")
                .and_then(Value::as_str)
                .and_then(|s| s.strip_prefix("gid://shopify/Publication/"))
                .and_then(|n| n.parse::<u64>().ok())
                .filter(|n| self.publications.contains_key(n));
            match publication {
                Some(n) => wanted.push(n),
                None => {
                    return Err(vec![UserError::at(
                        vec!["input".into(), i.to_string(), "publicationId".into()],
                        "Publication does not exist",
                        Some("NOT_FOUND"),
                    )])
                }
            }
        }
        self.published.entry(product).or_default().extend(wanted);
        Ok(product)
    }
}

impl Store {
    /// `metafieldDefinitionCreate`: one definition per owner type, namespace and key.
    pub(crate) fn metafield_definition_create(
        &mut self,
        input: &Map<String, Value>,
    ) -> Result<u64, Vec<UserError>> {
        let field = |k: &str| {
            input
                .get(k)
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string()
        };
        let (namespace, key, owner_type) = (field("namespace"), field("key"), field("ownerType"));
        if key.is_empty() || field("type").is_empty() || field("name").is_empty() {
            return Err(vec![UserError::new(
                &["definition"],
                "Name, key and type are required.",
                Some("BLANK"),
            )]);
        }
        if self
            .definitions
            .iter()
            .any(|d| d.owner_type == owner_type && d.namespace == namespace && d.key == key)
        {
            return Err(vec![UserError::new(
                &["definition", "key"],
                format!(
                    "Key is in use for {} metafields on the '{namespace}' namespace.",
                    owner_type.to_lowercase()
                ),
                Some("TAKEN"),
            )]);
        }
        let id = self.definitions.len() as u64 + 1;
        self.definitions.push(MetafieldDefinition {
            id,
            name: field("name"),
            namespace,
            key,
            owner_type,
            type_name: field("type"),
        });
        Ok(id)
    }

    /// The metafield definitions, in creation order.
    pub fn metafield_definitions(&self) -> &[MetafieldDefinition] {
        &self.definitions
    }

    /// A product's metafield: (type, value).
    pub fn product_metafield(
        &self,
        product: u64,
        namespace: &str,
        key: &str,
    ) -> Option<(&str, &str)> {
        self.metafields
            .get(&product)?
            .get(&(namespace.to_string(), key.to_string()))
            .map(|(t, v)| (t.as_str(), v.as_str()))
    }

    /// The product whose metafield `namespace.key` holds `value`.
    pub fn product_by_custom_id(
        &self,
        namespace: &str,
        key: &str,
        value: &str,
    ) -> Option<&Product> {
        self.metafields
            .iter()
            .find(|(_, m)| {
                m.get(&(namespace.to_string(), key.to_string()))
                    .is_some_and(|(_, v)| v == value)
            })
            .and_then(|(id, _)| self.products.get(id))
    }
}
