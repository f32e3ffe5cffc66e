import type { ErrorKind, GraphqlError, UserError } from './types'

/** Every code a `ShopifySyncError` can carry. */
export type ErrorCode =
  | 'SHOPIFY_NOT_CONFIGURED'
  | 'SHOPIFY_INVALID_INPUT'
  | 'SHOPIFY_AUTH'
  | 'SHOPIFY_THROTTLED'
  | 'SHOPIFY_TRANSPORT'
  | 'SHOPIFY_TIMEOUT'
  | 'SHOPIFY_SERVER'
  | 'SHOPIFY_GRAPHQL'
  | 'SHOPIFY_USER_ERRORS'
  | 'SHOPIFY_NOT_FOUND'
  | 'SHOPIFY_DECODE'
  | 'SHOPIFY_OUTCOME_UNKNOWN'
  | 'SHOPIFY_COST_EXCEEDED'
  | 'SHOPIFY_CANCELLED'
  | 'SHOPIFY_INTERNAL'

/** The structured fields of a `ShopifySyncError`. */
export interface ShopifySyncErrorFields {
  /** See `ShopifySyncError.code` (default `SHOPIFY_INTERNAL`). */
  code?: ErrorCode
  /** See `ShopifySyncError.kind`. */
  kind?: ErrorKind | null
  /** See `ShopifySyncError.retryable`. */
  retryable?: boolean
  /** See `ShopifySyncError.requestId`. */
  requestId?: string | null
  /** See `ShopifySyncError.graphqlErrors`. */
  graphqlErrors?: GraphqlError[]
  /** See `ShopifySyncError.userErrors`. */
  userErrors?: UserError[]
  /** See `ShopifySyncError.jsonPath`. */
  jsonPath?: string | null
  /** The error this one comes from (the standard `Error.cause`). */
  cause?: unknown
}

/**
 * The one error class of shopify-sync. Every error the library throws (or rejects a
 * promise with) is a `ShopifySyncError`; branch on `code`.
 */
export declare class ShopifySyncError extends Error {
  constructor(message: string, fields?: ShopifySyncErrorFields)
  readonly name: 'ShopifySyncError'
  /** `SHOPIFY_` + the kind in upper case; `SHOPIFY_INTERNAL` for a bug (a Rust panic). */
  readonly code: ErrorCode
  /** The Rust `ErrorKind` (snake_case); `null` for `SHOPIFY_INTERNAL`. */
  readonly kind: ErrorKind | null
  /** Whether trying the same call again may succeed. */
  readonly retryable: boolean
  /** Shopify's `X-Request-Id` of the failed request, for support tickets. */
  readonly requestId: string | null
  /** The GraphQL errors of the response. */
  readonly graphqlErrors: GraphqlError[]
  /** The `userErrors` of a refused mutation. */
  readonly userErrors: UserError[]
  /** For `SHOPIFY_DECODE`, the JSON path that failed (`data.products.nodes[3].price`). */
  readonly jsonPath: string | null
}
