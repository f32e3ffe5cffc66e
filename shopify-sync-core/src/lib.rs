//! # shopify-sync
//!
//! Keep a merchant's product catalog in sync with a Shopify store.
//!
//! The modules, in the order dependencies point (each module's own documentation says
//! what it owns and what it must not touch):
//!
//! - [`model`]: products, variants, options, collections, typed ids, exact money (plain
//!   data, no I/O);
//! - [`client`]: the GraphQL Admin API client (config, cost throttle, retries, pagination,
//!   typed operations, bulk operations, webhook subscriptions); [`schema`] holds the
//!   Admin schemas it validates against;
//! - [`staging`]: snapshots, fingerprints, the three-way diff, plans, review, audit and
//!   the change store;
//! - [`status`]: `compute_status`, the one answer to "is this product in sync?";
//! - [`executor`]: the parallel, rate-budgeted job runner with progress events;
//! - [`sync`]: the sync engine: pull, plan, apply, webhook refresh (client + staging +
//!   executor);
//! - [`webhook`]: verifying and reading Shopify's webhook deliveries;
//! - [`error`]: the one error type everything returns.
pub mod client;
pub mod error;
pub mod executor;
pub mod model;
pub mod schema;
pub mod staging;
pub mod status;
pub mod sync;
pub mod webhook;

/// The README's examples, compiled as doc tests so they cannot drift from the code.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
