//! # shopify-sync
//!
//! Keep a merchant's product catalog in sync with a Shopify store.
pub mod client;
pub mod schema;
