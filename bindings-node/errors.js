'use strict'

/**
 * The one error class of shopify-sync. Every error the library throws (or rejects a
 * promise with) is a `ShopifySyncError` with a machine-readable `code`:
 * `SHOPIFY_` + the Rust `ErrorKind` in upper case (`SHOPIFY_AUTH`, `SHOPIFY_THROTTLED`,
 * `SHOPIFY_OUTCOME_UNKNOWN` ...; `tests/vectors/errors.json` lists them), or
 * `SHOPIFY_INTERNAL` for a bug caught at the boundary (a Rust panic).
 */
class ShopifySyncError extends Error {
  /**
   * @param {string} message
   * @param {object} [fields]
   */
  constructor(message, fields = {}) {
    super(message, fields.cause === undefined ? undefined : { cause: fields.cause })
    this.name = 'ShopifySyncError'
    this.code = fields.code ?? 'SHOPIFY_INTERNAL'
    this.kind = fields.kind ?? null
    this.retryable = Boolean(fields.retryable)
    this.requestId = fields.requestId ?? null
    this.graphqlErrors = fields.graphqlErrors ?? []
    this.userErrors = fields.userErrors ?? []
    this.jsonPath = fields.jsonPath ?? null
  }
}

module.exports = { ShopifySyncError }
