//! Client configuration: the shop, the token, the API version, timeouts and policies,
//! resolved once and validated up front, from code or from the environment.
//!
//! ```
//! use shopify_sync::client::config::ClientConfig;
//! let config = ClientConfig::new("my-store", "shpat_secret").unwrap();
//! assert_eq!(config.graphql_url().as_str(), "https://my-store.myshopify.com/admin/api/2026-07/graphql.json");
//! assert!(!format!("{config:?}").contains("shpat_secret"));
//! ```
use crate::error::{Error, Result};
use crate::schema::{is_api_version, DEFAULT_API_VERSION};
use reqwest::Url;
use std::fmt;
use std::time::Duration;

/// An Admin API access token. It never shows itself: Debug and Display print a redacted
/// form, so it cannot leak through logs, errors or panics.
#[derive(Clone, PartialEq, Eq)]
pub struct AccessToken(String);

impl AccessToken {
    /// Wrap a token.
    pub fn new(token: impl Into<String>) -> AccessToken {
        AccessToken(token.into())
    }

    /// The secret itself, for the one header that needs it.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AccessToken(<redacted>)")
    }
}

impl fmt::Display for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// How retries of failed requests behave. Throttled requests are waited out and retried
/// outside this budget.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included (default 5).
    pub max_attempts: u32,
    /// First backoff (default 250 ms); each next one doubles, with full jitter.
    pub initial_backoff: Duration,
    /// Longest single backoff (default 10 s).
    pub max_backoff: Duration,
    /// Give up once this much time has passed since the first attempt (default 120 s).
    pub max_elapsed: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 5,
            initial_backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(10),
            max_elapsed: Duration::from_secs(120),
        }
    }
}

/// How the proactive cost throttle behaves.
#[derive(Debug, Clone, PartialEq)]
pub struct ThrottlePolicy {
    /// Wait for the bucket before sending (default true). Off, requests are sent at once
    /// and THROTTLED answers are still waited out and retried.
    pub proactive: bool,
    /// The single-document cost limit; dearer documents are refused before sending
    /// (default 1,000, Shopify's).
    pub max_query_cost: u32,
    /// Retries of throttled requests before giving up with a `throttled` error
    /// (default 50; they do not count against [`RetryPolicy::max_attempts`]).
    pub max_throttle_retries: u32,
}

impl Default for ThrottlePolicy {
    fn default() -> Self {
        ThrottlePolicy {
            proactive: true,
            max_query_cost: 1_000,
            max_throttle_retries: 50,
        }
    }
}

/// Everything a [`crate::client::ShopifyClient`] needs, validated.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    shop: Option<String>,
    token: AccessToken,
    api_version: String,
    endpoint: Option<Url>,
    /// Time to establish a connection (default 10 s).
    pub connect_timeout: Duration,
    /// Time for a whole request and its response (default 60 s).
    pub request_timeout: Duration,
    /// Retries of failed requests.
    pub retry: RetryPolicy,
    /// The proactive cost throttle.
    pub throttle: ThrottlePolicy,
    /// The `User-Agent` header.
    pub user_agent: String,
}

impl ClientConfig {
    /// A config for `shop` (`name` or `name.myshopify.com`) with `token`.
    pub fn new(shop: &str, token: impl Into<String>) -> Result<ClientConfig> {
        let shop = normalize_shop(shop)?;
        Ok(ClientConfig::base(Some(shop), token.into()))
    }

    /// A config that talks to `endpoint` (a base URL such as the simulator's
    /// `http://127.0.0.1:41234`), with an optional shop name for bucket sharing and
    /// messages. Plain `http` is accepted only for loopback addresses.
    pub fn with_endpoint(
        endpoint: &str,
        shop: Option<&str>,
        token: impl Into<String>,
    ) -> Result<ClientConfig> {
        let shop = shop.map(normalize_shop).transpose()?;
        let mut config = ClientConfig::base(shop, token.into());
        config.endpoint = Some(parse_endpoint(endpoint)?);
        Ok(config)
    }

    fn base(shop: Option<String>, token: String) -> ClientConfig {
        ClientConfig {
            shop,
            token: AccessToken(token),
            api_version: DEFAULT_API_VERSION.to_string(),
            endpoint: None,
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(60),
            retry: RetryPolicy::default(),
            throttle: ThrottlePolicy::default(),
            user_agent: format!("shopify-sync/{}", env!("CARGO_PKG_VERSION")),
        }
    }

    /// Read `SHOPIFY_SHOP`, `SHOPIFY_ACCESS_TOKEN`, `SHOPIFY_API_VERSION` and
    /// `SHOPIFY_ENDPOINT`. With `SHOPIFY_ENDPOINT` set, `SHOPIFY_SHOP` is optional. A
    /// missing setting is a `not_configured` error naming the variable.
    pub fn from_env() -> Result<ClientConfig> {
        ClientConfig::from_lookup(|k| std::env::var(k).ok().filter(|v| !v.trim().is_empty()))
    }

    /// [`ClientConfig::from_env`] over any lookup function (tests, config files).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<ClientConfig> {
        let token = get("SHOPIFY_ACCESS_TOKEN")
            .ok_or_else(|| Error::not_configured("SHOPIFY_ACCESS_TOKEN"))?;
        let mut config = match get("SHOPIFY_ENDPOINT") {
            Some(endpoint) => {
                ClientConfig::with_endpoint(&endpoint, get("SHOPIFY_SHOP").as_deref(), token)?
            }
            None => {
                let shop =
                    get("SHOPIFY_SHOP").ok_or_else(|| Error::not_configured("SHOPIFY_SHOP"))?;
                ClientConfig::new(&shop, token)?
            }
        };
        if let Some(v) = get("SHOPIFY_API_VERSION") {
            config = config.api_version(&v)?;
        }
        Ok(config)
    }

    /// Use another API version (`YYYY-MM`).
    pub fn api_version(mut self, version: &str) -> Result<ClientConfig> {
        if !is_api_version(version) {
            return Err(Error::invalid_input(format!(
                "API version {version:?} is not of the form YYYY-MM (e.g. {DEFAULT_API_VERSION})"
            )));
        }
        self.api_version = version.to_string();
        Ok(self)
    }

    /// The shop domain, when known.
    pub fn shop(&self) -> Option<&str> {
        self.shop.as_deref()
    }

    /// The API version.
    pub fn version(&self) -> &str {
        &self.api_version
    }

    /// The access token (redacted when printed).
    pub fn token(&self) -> &AccessToken {
        &self.token
    }

    /// The one URL the client sends the token to.
    pub fn graphql_url(&self) -> Url {
        let base = match &self.endpoint {
            Some(e) => e.as_str().trim_end_matches('/').to_string(),
            None => format!("https://{}", self.shop.as_deref().unwrap_or_default()),
        };
        let url = format!("{base}/admin/api/{}/graphql.json", self.api_version);
        Url::parse(&url).expect("built from a validated base")
    }

    /// The key under which clients share a cost bucket: one per shop per process.
    pub(crate) fn bucket_key(&self) -> String {
        match (&self.shop, &self.endpoint) {
            (Some(shop), None) => shop.clone(),
            (shop, Some(e)) => format!("{}@{}", shop.as_deref().unwrap_or(""), e),
            (None, None) => String::new(),
        }
    }
}

/// `name` -> `name.myshopify.com`; `name.myshopify.com` (optionally with `https://` and
/// a trailing `/`) stays; anything else is refused.
fn normalize_shop(input: &str) -> Result<String> {
    let bad = |why: &str| {
        Error::invalid_input(format!(
            "invalid shop {input:?}: {why}; expected `name` or `name.myshopify.com`"
        ))
    };
    let s = input.trim();
    let s = s.strip_prefix("https://").unwrap_or(s);
    let s = s.strip_suffix('/').unwrap_or(s);
    if s.is_empty() {
        return Err(bad("it is empty"));
    }
    if s.contains('@') {
        return Err(bad("it contains credentials"));
    }
    if s.contains('/') || s.contains('?') || s.contains('#') {
        return Err(bad("it contains a path"));
    }
    if s.contains(':') {
        return Err(bad("it contains a scheme or port"));
    }
    let lower = s.to_ascii_lowercase();
    let name = match lower.strip_suffix(".myshopify.com") {
        Some(name) => name,
        None if !lower.contains('.') => lower.as_str(),
        None => {
            return Err(bad(
                "only *.myshopify.com hosts are Shopify Admin endpoints",
            ))
        }
    };
    let valid = !name.is_empty()
        && name.len() <= 63
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-');
    if !valid {
        return Err(bad("a shop name is letters, digits and inner hyphens"));
    }
    Ok(format!("{name}.myshopify.com"))
}

fn parse_endpoint(input: &str) -> Result<Url> {
    let bad =
        |why: String| Error::invalid_input(format!("invalid SHOPIFY_ENDPOINT {input:?}: {why}"));
    let url = Url::parse(input.trim()).map_err(|e| bad(e.to_string()))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad("it contains credentials".into()));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(bad("a base URL has no query or fragment".into()));
    }
    match url.scheme() {
        "https" => {}
        "http" => {
            let loopback = match url.host() {
                Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
                Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
                Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
                None => false,
            };
            if !loopback {
                return Err(bad(
                    "plain http is allowed only for loopback addresses".into()
                ));
            }
        }
        other => return Err(bad(format!("unsupported scheme {other}"))),
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;
    use std::collections::HashMap;

    #[test]
    fn shops_are_completed_or_refused() {
        assert_eq!(
            normalize_shop("my-store").unwrap(),
            "my-store.myshopify.com"
        );
        assert_eq!(
            normalize_shop(" My-Store.myshopify.com ").unwrap(),
            "my-store.myshopify.com"
        );
        assert_eq!(
            normalize_shop("https://my-store.myshopify.com/").unwrap(),
            "my-store.myshopify.com"
        );
        for bad in [
            "",
            "evil.com",
            "my-store.myshopify.com.evil.com",
            "my-store.myshopify.com/admin",
            "user:pass@my-store.myshopify.com",
            "my-store.myshopify.com:8080",
            "-store",
            "sto re",
            "http://my-store.myshopify.com",
        ] {
            let e = normalize_shop(bad).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidInput, "{bad}");
            assert!(e.to_string().contains("expected `name`"), "{e}");
        }
    }

    #[test]
    fn endpoints_allow_http_only_on_loopback() {
        for ok in [
            "http://127.0.0.1:8080",
            "http://localhost:1",
            "http://[::1]:9",
            "https://proxy.example.com/shopify",
        ] {
            assert!(parse_endpoint(ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://10.0.0.1:80",
            "http://example.com",
            "ftp://127.0.0.1",
            "https://u:p@proxy.example.com",
            "not a url",
        ] {
            assert_eq!(
                parse_endpoint(bad).unwrap_err().kind(),
                ErrorKind::InvalidInput,
                "{bad}"
            );
        }
        let c =
            ClientConfig::with_endpoint("https://proxy.example.com/shopify/", None, "t").unwrap();
        assert_eq!(
            c.graphql_url().as_str(),
            "https://proxy.example.com/shopify/admin/api/2026-07/graphql.json"
        );
    }

    #[test]
    fn from_env_names_the_missing_variable() {
        let env = |pairs: &[(&str, &str)]| {
            let map: HashMap<String, String> = pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            move |k: &str| map.get(k).cloned()
        };
        let e = ClientConfig::from_lookup(env(&[("SHOPIFY_SHOP", "s")])).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NotConfigured);
        assert!(e.to_string().contains("SHOPIFY_ACCESS_TOKEN"));
        let e = ClientConfig::from_lookup(env(&[("SHOPIFY_ACCESS_TOKEN", "t")])).unwrap_err();
        assert!(e.to_string().contains("SHOPIFY_SHOP"));
        let c = ClientConfig::from_lookup(env(&[
            ("SHOPIFY_ACCESS_TOKEN", "t"),
            ("SHOPIFY_ENDPOINT", "http://127.0.0.1:9"),
        ]))
        .unwrap();
        assert_eq!(
            c.graphql_url().as_str(),
            "http://127.0.0.1:9/admin/api/2026-07/graphql.json"
        );
        let e = ClientConfig::from_lookup(env(&[
            ("SHOPIFY_ACCESS_TOKEN", "t"),
            ("SHOPIFY_SHOP", "s"),
            ("SHOPIFY_API_VERSION", "latest"),
        ]))
        .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
    }

    #[test]
    fn the_token_never_prints() {
        let c = ClientConfig::new("s", "shpat_very_secret").unwrap();
        assert!(!format!("{c:?}").contains("shpat_very_secret"));
        assert!(!format!("{}", c.token()).contains("shpat_very_secret"));
        assert_eq!(c.token().expose(), "shpat_very_secret");
    }
}
