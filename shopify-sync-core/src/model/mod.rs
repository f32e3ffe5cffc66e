//! The catalog's data types: products, variants, options, collections, typed ids,
//! exact money and timestamps. Plain data with serde; no I/O.
