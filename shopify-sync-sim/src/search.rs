//! A subset of Shopify's search syntax, for the `query:` argument of `products` and
//! `collections`: `field:value` terms with `:<`, `:<=`, `:>`, `:>=` comparisons, quoted
//! values, `-field:value` and `NOT` negation, implicit `AND`, explicit `AND` / `OR`
//! (`OR` binds loosest), and bare words matched against the title.
//!
//! The simulator can model the index's lag ([`Query::with_index_horizon`]): a product
//! written within the lag is not yet returned by an `updated_at` filter, as on Shopify,
//! where the search index trails writes by seconds.
//!
//! Fields: `id`, `title`, `handle`, `status` (comma list), `tag`, `tag_not`, `vendor`,
//! `product_type`, `sku`, `updated_at`, `created_at`. An unknown field matches nothing,
//! as Shopify's search does for a field it does not index.
use crate::catalog::{Collection, Product};
use crate::clock::Timestamp;

/// How a term compares its field with its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cmp {
    Eq,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Debug, Clone, PartialEq)]
struct Term {
    negated: bool,
    field: Option<String>,
    cmp: Cmp,
    value: String,
}

/// A parsed search query: a disjunction of conjunctions of terms.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Query {
    any_of: Vec<Vec<Term>>,
    index_horizon: Option<Timestamp>,
}

impl Query {
    /// Parse a query string. Never fails: unbalanced quotes run to the end of the input,
    /// as Shopify's tolerant parser does.
    ///
    /// ```
    /// use shopify_sync_sim::search::Query;
    /// let q = Query::parse("status:active,draft AND tag:'sale' OR vendor:Acme");
    /// assert!(!q.is_empty());
    /// ```
    pub fn parse(input: &str) -> Query {
        let mut any_of = vec![vec![]];
        let mut negate_next = false;
        for token in tokenize(input) {
            match token.as_str() {
                "OR" => any_of.push(vec![]),
                "AND" => {}
                "NOT" => negate_next = true,
                _ => {
                    let mut term = parse_term(&token);
                    term.negated ^= negate_next;
                    negate_next = false;
                    any_of.last_mut().expect("never empty").push(term);
                }
            }
        }
        any_of.retain(|c| !c.is_empty());
        Query {
            any_of,
            index_horizon: None,
        }
    }

    /// Model the search index's lag: products written after `horizon` are not yet
    /// indexed under their new `updated_at`, so no `updated_at` term matches them.
    pub fn with_index_horizon(mut self, horizon: Option<Timestamp>) -> Query {
        self.index_horizon = horizon;
        self
    }

    /// True when the query has no terms (it matches everything).
    pub fn is_empty(&self) -> bool {
        self.any_of.is_empty()
    }

    /// Whether `product` matches.
    pub fn matches_product(&self, product: &Product) -> bool {
        let unindexed = self.index_horizon.is_some_and(|h| product.updated_at > h);
        self.matches(|term| {
            if unindexed && term.field.as_deref() == Some("updated_at") {
                return false;
            }
            product_term(product, term)
        })
    }

    /// Whether `collection` matches (fields `id`, `title`, `handle`, `updated_at`,
    /// `collection_type` = `smart` | `custom`).
    pub fn matches_collection(&self, c: &Collection) -> bool {
        self.matches(|term| {
            let field = term.field.as_deref().unwrap_or("title");
            match field {
                "id" => num_cmp(c.id as i128, term),
                "title" => text_contains(&c.title, &term.value),
                "handle" => eq_ci(&c.handle, &term.value),
                "updated_at" => time_cmp(c.updated_at, term),
                "collection_type" => {
                    let kind = if c.rule_set.is_some() {
                        "smart"
                    } else {
                        "custom"
                    };
                    eq_ci(kind, &term.value)
                }
                _ => false,
            }
        })
    }

    fn matches(&self, mut test: impl FnMut(&Term) -> bool) -> bool {
        self.is_empty()
            || self
                .any_of
                .iter()
                .any(|all| all.iter().all(|t| test(t) != t.negated))
    }
}

fn product_term(p: &Product, term: &Term) -> bool {
    let v = term.value.as_str();
    match term.field.as_deref() {
        None | Some("title") => text_contains(&p.title, v),
        Some("id") => num_cmp(p.id as i128, term),
        Some("handle") => eq_ci(&p.handle, v),
        Some("status") => v.split(',').any(|s| eq_ci(&p.status, s.trim())),
        Some("tag") => p.tags.iter().any(|t| eq_ci(t, v)),
        Some("tag_not") => !p.tags.iter().any(|t| eq_ci(t, v)),
        Some("vendor") => eq_ci(&p.vendor, v),
        Some("product_type") => v.split(',').any(|s| eq_ci(&p.product_type, s.trim())),
        Some("sku") => p
            .variants
            .iter()
            .any(|x| x.sku.as_deref().is_some_and(|s| eq_ci(s, v))),
        Some("updated_at") => time_cmp(p.updated_at, term),
        Some("created_at") => time_cmp(p.created_at, term),
        Some(_) => false,
    }
}

fn eq_ci(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b) || a.to_lowercase() == b.to_lowercase()
}

fn text_contains(haystack: &str, needle: &str) -> bool {
    let needle = needle.trim_end_matches('*').to_lowercase();
    haystack.to_lowercase().contains(&needle)
}

fn ordered<T: PartialOrd>(left: T, cmp: Cmp, right: T) -> bool {
    match cmp {
        Cmp::Eq => left == right,
        Cmp::Lt => left < right,
        Cmp::Le => left <= right,
        Cmp::Gt => left > right,
        Cmp::Ge => left >= right,
    }
}

fn num_cmp(value: i128, term: &Term) -> bool {
    let raw = term.value.rsplit('/').next().unwrap_or_default();
    raw.parse::<i128>()
        .is_ok_and(|n| ordered(value, term.cmp, n))
}

fn time_cmp(value: Timestamp, term: &Term) -> bool {
    let bound = if term.value.eq_ignore_ascii_case("now") {
        Some(Timestamp::now())
    } else {
        Timestamp::parse(&term.value)
    };
    bound.is_some_and(|b| ordered(value, term.cmp, b))
}

/// Split on whitespace outside quotes; quotes are kept out of the tokens' values but a
/// quoted value stays one token.
fn tokenize(input: &str) -> Vec<String> {
    let mut tokens = vec![];
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    for c in input.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => cur.push(c),
            (None, '\'' | '"') => quote = Some(c),
            (None, c) if c.is_whitespace() => {
                if !cur.is_empty() {
                    tokens.push(std::mem::take(&mut cur));
                }
            }
            (None, '(' | ')') => {}
            (None, c) => cur.push(c),
        }
    }
    if !cur.is_empty() {
        tokens.push(cur);
    }
    tokens
}

fn parse_term(token: &str) -> Term {
    let (negated, body) = match token.strip_prefix('-') {
        Some(rest) if !rest.is_empty() => (true, rest),
        _ => (false, token),
    };
    let Some((field, rest)) = body.split_once(':') else {
        return Term {
            negated,
            field: None,
            cmp: Cmp::Eq,
            value: body.to_string(),
        };
    };
    let (cmp, value) = if let Some(v) = rest.strip_prefix(">=") {
        (Cmp::Ge, v)
    } else if let Some(v) = rest.strip_prefix("<=") {
        (Cmp::Le, v)
    } else if let Some(v) = rest.strip_prefix('>') {
        (Cmp::Gt, v)
    } else if let Some(v) = rest.strip_prefix('<') {
        (Cmp::Lt, v)
    } else {
        (Cmp::Eq, rest)
    };
    Term {
        negated,
        field: Some(field.to_lowercase()),
        cmp,
        value: value.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{Catalog, CatalogSpec};

    fn sample() -> Product {
        let mut p = Catalog::generate(&CatalogSpec {
            products: 1,
            collections: 0,
            ..Default::default()
        })
        .products
        .remove(0);
        p.title = "Organic Cotton Tee".into();
        p.status = "DRAFT".into();
        p.tags = vec!["sale".into(), "Summer".into()];
        p.vendor = "Acme Goods".into();
        p.updated_at = Timestamp::parse("2026-03-01T12:00:00Z").unwrap();
        p
    }

    #[test]
    fn terms_and_connectives() {
        let p = sample();
        let yes = [
            "",
            "status:active,draft",
            "tag:summer",
            "vendor:'Acme Goods'",
            "updated_at:>'2026-03-01T00:00:00Z'",
            "updated_at:<=2026-03-01T12:00:00Z",
            "cotton",
            "tag:nope OR tag:sale",
            "-tag:winter",
            "NOT status:active",
            "tag_not:winter",
        ];
        for q in yes {
            assert!(Query::parse(q).matches_product(&p), "{q}");
        }
        let no = [
            "status:active",
            "tag:winter",
            "updated_at:>2026-03-01T12:00:00Z",
            "tag:sale AND vendor:other",
            "unknown_field:x",
        ];
        for q in no {
            assert!(!Query::parse(q).matches_product(&p), "{q}");
        }
    }
}
