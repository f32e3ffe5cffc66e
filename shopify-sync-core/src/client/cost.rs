//! Static estimate of a GraphQL document's requested cost.
