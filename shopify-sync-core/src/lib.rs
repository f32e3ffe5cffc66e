//! # shopify-sync
//!
//! Keep a merchant's product catalog in sync with a Shopify store.
pub mod client;
pub mod error;
pub mod executor;
pub mod model;
pub mod schema;
pub mod staging;
pub mod status;
pub mod webhook;

/// The README's examples, compiled as doc tests so they cannot drift from the code.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
