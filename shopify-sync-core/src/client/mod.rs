//! The Shopify Admin GraphQL client: transport, config, auth, throttle, retry, pagination.
//!
//! So far it holds the static cost estimator that the throttle (and the simulator) use.
pub mod cost;
