//! The Shopify Admin GraphQL schemas this crate knows, embedded byte for byte.
//!
//! The SDL files live in `data/shopify/schema/` (see `data/shopify/PROVENANCE.md`);
//! they are parsed and validated once, on first use, and shared for the life of the
//! process. Both the client (cost estimation, document validation) and the simulator
//! (execution) read them from here, so there is one copy of each schema per process.
//!
//! ```
//! use shopify_sync::schema::{admin_schema, SchemaVersion};
//! let schema = admin_schema(SchemaVersion::V2026_07);
//! assert!(schema.types.contains_key("Product"));
//! ```
use apollo_compiler::validation::Valid;
use apollo_compiler::Schema;
use std::sync::OnceLock;

/// The API version used when none is configured.
pub const DEFAULT_API_VERSION: &str = "2026-07";

/// An Admin API schema shipped with this crate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SchemaVersion {
    /// Admin API 2025-10.
    V2025_10,
    /// Admin API 2026-07 (the default).
    V2026_07,
}

impl SchemaVersion {
    /// Every shipped schema, oldest first.
    pub const ALL: [SchemaVersion; 2] = [SchemaVersion::V2025_10, SchemaVersion::V2026_07];

    /// The API version string, `YYYY-MM`.
    pub fn as_str(self) -> &'static str {
        match self {
            SchemaVersion::V2025_10 => "2025-10",
            SchemaVersion::V2026_07 => "2026-07",
        }
    }

    /// The schema that serves a requested API version: the newest shipped schema that is
    /// not newer than it, or the oldest one for versions before it (Shopify likewise
    /// falls forward to its oldest supported version). `unstable` maps to the newest.
    /// Returns `None` when `version` is neither `YYYY-MM` nor `unstable`.
    ///
    /// ```
    /// use shopify_sync::schema::SchemaVersion;
    /// assert_eq!(SchemaVersion::for_api_version("2026-01"), Some(SchemaVersion::V2025_10));
    /// assert_eq!(SchemaVersion::for_api_version("2027-01"), Some(SchemaVersion::V2026_07));
    /// assert_eq!(SchemaVersion::for_api_version("latest"), None);
    /// ```
    pub fn for_api_version(version: &str) -> Option<SchemaVersion> {
        if version == "unstable" {
            return Some(SchemaVersion::V2026_07);
        }
        if !is_api_version(version) {
            return None;
        }
        let chosen = Self::ALL
            .iter()
            .rev()
            .find(|v| v.as_str() <= version)
            .copied()
            .unwrap_or(SchemaVersion::V2025_10);
        Some(chosen)
    }

    /// The SDL text, byte for byte as captured from Shopify.
    pub fn sdl(self) -> &'static str {
        match self {
            SchemaVersion::V2025_10 => {
                include_str!("../../data/shopify/schema/admin-2025-10.schema.graphql")
            }
            SchemaVersion::V2026_07 => {
                include_str!("../../data/shopify/schema/admin-2026-07.schema.graphql")
            }
        }
    }
}

/// Whether `version` has the `YYYY-MM` shape of a Shopify API version (month 01-12).
pub fn is_api_version(version: &str) -> bool {
    let b = version.as_bytes();
    b.len() == 7
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && b[5..].iter().all(u8::is_ascii_digit)
        && matches!(
            &version[5..],
            "01" | "02" | "03" | "04" | "05" | "06" | "07" | "08" | "09" | "10" | "11" | "12"
        )
}

/// The parsed and validated schema for `version`, built once per process.
pub fn admin_schema(version: SchemaVersion) -> &'static Valid<Schema> {
    static SCHEMAS: [OnceLock<Valid<Schema>>; 2] = [OnceLock::new(), OnceLock::new()];
    let slot = match version {
        SchemaVersion::V2025_10 => &SCHEMAS[0],
        SchemaVersion::V2026_07 => &SCHEMAS[1],
    };
    slot.get_or_init(|| {
        let name = format!("admin-{}.schema.graphql", version.as_str());
        // The embedded schemas are fixed data checked by this crate's tests; failing
        // to parse one is a build defect, not a runtime condition.
        Schema::parse_and_validate(version.sdl(), name)
            .unwrap_or_else(|e| panic!("embedded Shopify schema does not validate: {}", e.errors))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_schemas_parse_and_define_the_catalog_types() {
        for v in SchemaVersion::ALL {
            let s = admin_schema(v);
            for ty in [
                "Product",
                "ProductVariant",
                "Collection",
                "QueryRoot",
                "Mutation",
            ] {
                assert!(s.types.contains_key(ty), "{ty} missing from {}", v.as_str());
            }
        }
    }

    #[test]
    fn api_version_shape() {
        assert!(is_api_version("2026-07"));
        assert!(!is_api_version("2026-13"));
        assert!(!is_api_version("2026-7"));
        assert!(!is_api_version("26-07-01"));
    }
}
