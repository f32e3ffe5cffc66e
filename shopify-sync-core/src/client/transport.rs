//! The HTTP transport behind a small trait, with reqwest (rustls, gzip, no redirects) as
//! the real default. Tests can plug in their own; the library's own tests use real HTTP
//! on loopback.
use futures::future::BoxFuture;
use std::time::Duration;

/// One POST of a GraphQL body.
#[derive(Debug, Clone)]
pub struct HttpRequest {
    /// Absolute URL.
    pub url: reqwest::Url,
    /// Headers (the token among them).
    pub headers: Vec<(&'static str, String)>,
    /// JSON body.
    pub body: Vec<u8>,
}

/// What came back.
#[derive(Debug, Clone)]
pub struct HttpResponse {
    /// HTTP status.
    pub status: u16,
    /// Headers, names lowercased.
    pub headers: Vec<(String, String)>,
    /// The body, whole (a truncated body fails in the transport).
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// The first header named `name` (lowercase).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Where a transport failure happened: a request that never left can always be retried;
/// one that may have reached Shopify has an unknown outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailurePoint {
    /// Nothing was sent (connection refused, DNS, TLS).
    BeforeSending,
    /// The request may have been received (timeout, reset, truncated response).
    AfterSending,
}

/// A transport failure.
#[derive(Debug)]
pub struct TransportError {
    /// Where it happened.
    pub point: FailurePoint,
    /// A timeout rather than another failure.
    pub timeout: bool,
    /// The cause.
    pub source: Box<dyn std::error::Error + Send + Sync>,
}

/// Sends requests. Implemented by [`ReqwestTransport`]; tests may supply their own.
pub trait HttpSend: Send + Sync + std::fmt::Debug {
    /// Send one request and read the whole response.
    fn send(&self, request: HttpRequest) -> BoxFuture<'_, Result<HttpResponse, TransportError>>;
}

/// The real transport: reqwest with rustls and gzip, redirects never followed (so the
/// token is never sent anywhere but the configured endpoint).
#[derive(Debug, Clone)]
pub struct ReqwestTransport {
    http: reqwest::Client,
}

impl ReqwestTransport {
    /// A transport with the given timeouts and user agent.
    pub fn new(
        connect_timeout: Duration,
        request_timeout: Duration,
        user_agent: &str,
    ) -> Result<ReqwestTransport, reqwest::Error> {
        let http = reqwest::Client::builder()
            .connect_timeout(connect_timeout)
            .timeout(request_timeout)
            .user_agent(user_agent)
            .redirect(reqwest::redirect::Policy::none())
            .gzip(true)
            .build()?;
        Ok(ReqwestTransport { http })
    }
}

fn classify(e: reqwest::Error) -> TransportError {
    let point = if e.is_connect() {
        FailurePoint::BeforeSending
    } else {
        FailurePoint::AfterSending
    };
    TransportError {
        point,
        timeout: e.is_timeout(),
        source: Box::new(e),
    }
}

impl HttpSend for ReqwestTransport {
    fn send(&self, request: HttpRequest) -> BoxFuture<'_, Result<HttpResponse, TransportError>> {
        Box::pin(async move {
            let mut builder = self.http.post(request.url).body(request.body);
            for (k, v) in &request.headers {
                builder = builder.header(*k, v);
            }
            let resp = builder.send().await.map_err(classify)?;
            let status = resp.status().as_u16();
            let headers = resp
                .headers()
                .iter()
                .filter_map(|(k, v)| Some((k.as_str().to_string(), v.to_str().ok()?.to_string())))
                .collect();
            let body = resp.bytes().await.map_err(classify)?.to_vec();
            Ok(HttpResponse {
                status,
                headers,
                body,
            })
        })
    }
}
