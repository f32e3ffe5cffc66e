//! # shopify-sync
//!
//! Keep a merchant's product catalog in sync with a Shopify store.
pub mod client;
pub mod error;
pub mod model;
pub mod schema;
pub mod webhook;
