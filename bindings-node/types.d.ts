/*
 * The data shapes that cross the boundary, exactly as the Rust core's serde writes and
 * reads them (snake_case keys and enum strings; `tests/vectors/*.json` holds examples).
 * Money is a string holding an exact decimal; timestamps are ISO 8601 strings.
 * Hand-written from the Rust types; the vectors tests check them against real values.
 */

/** A Rust `ErrorKind`: what went wrong, coarsely. */
export type ErrorKind =
  | 'not_configured'
  | 'invalid_input'
  | 'auth'
  | 'throttled'
  | 'transport'
  | 'timeout'
  | 'server'
  | 'graphql'
  | 'user_errors'
  | 'not_found'
  | 'decode'
  | 'outcome_unknown'
  | 'cost_exceeded'
  | 'cancelled'

/** One entry of a GraphQL response's `errors`. */
export interface GraphqlError {
  message: string
  path: Array<string | number>
  code: string | null
}

/** One entry of a mutation payload's `userErrors`. */
export interface UserError {
  field: string[] | null
  message: string
  code: string | null
}

/** A product gid, `gid://shopify/Product/<n>`. */
export type ProductGid = string
/** A collection gid, `gid://shopify/Collection/<n>`. */
export type CollectionGid = string
/** An exact decimal amount, e.g. `"19.99"` (never a JS number). */
export type Money = string
/** An ISO 8601 / RFC 3339 timestamp, e.g. `"2026-07-01T12:00:00.000Z"`. */
export type Timestamp = string

// ---------------------------------------------------------------------------------------
// Status

/** The states of the dashboard's status column. */
export type SyncState =
  | 'not_synced'
  | 'pending_create'
  | 'deleted_remotely'
  | 'syncing'
  | 'error'
  | 'conflict'
  | 'pending'
  | 'synced'
  | 'local_changes'
  | 'remote_changes'
  | 'diverged'
  | 'assumed_synced'

/** A product's changes by state in the change store. */
export interface ChangeCounts {
  staged?: number
  approved?: number
  applying?: number
  failed?: number
  stale?: number
  conflict?: number
}

/** Everything `computeStatus` looks at; every key is optional. */
export interface StatusInput {
  /** The Shopify id: a gid, a legacy numeric id (`"123"` or `123`); `""` or `null`: none. */
  shopify_id?: ProductGid | number | null
  /** `v1:<64 hex>`, or `null`: unknown. */
  local_fingerprint?: string | null
  base_fingerprint?: string | null
  remote_fingerprint?: string | null
  remote_deleted?: boolean
  changes?: ChangeCounts
  /** The last sync error; `""` counts as absent. */
  last_error?: string | null
  /** The legacy `shopify_sync_status` column, for gradual adoption. */
  legacy_status?: string | null
}

/** The outcome of `computeStatus`. */
export interface SyncStatus {
  state: SyncState
  /** The table row that decided (`"1a"` ... `"9"`). */
  rule: string
  /** A short human reason. */
  reason: string
  /** The input fields that drove the state (`"shopify_id"`, `"changes.failed"` ...). */
  fields: string[]
}

// ---------------------------------------------------------------------------------------
// Snapshots, masks, diff

/** A managed field: the unit of a field mask. */
export type Field =
  | 'title'
  | 'handle'
  | 'description_html'
  | 'vendor'
  | 'product_type'
  | 'status'
  | 'tags'
  | 'seo'
  | 'options'
  | 'collections'
  | 'variant_price'
  | 'variant_compare_at_price'
  | 'variant_sku'
  | 'variant_barcode'
  | 'variant_inventory_policy'
  | 'variant_option_values'
  | 'sort_order'
  | 'rules'

export interface Seo {
  title?: string | null
  description?: string | null
}

export interface OptionSnapshot {
  name?: string
  values?: string[]
}

export interface SelectedOption {
  name: string
  value: string
}

export interface VariantSnapshot {
  id?: string | null
  price?: Money | null
  compare_at_price?: Money | null
  sku?: string | null
  barcode?: string | null
  inventory_policy?: 'deny' | 'continue' | 'DENY' | 'CONTINUE' | null
  option_values?: SelectedOption[]
}

/** The synced content of a product (every key optional when reading). */
export interface ProductSnapshot {
  title?: string
  handle?: string
  description_html?: string
  vendor?: string
  product_type?: string
  status?: 'active' | 'archived' | 'draft' | 'unlisted' | 'ACTIVE' | 'ARCHIVED' | 'DRAFT' | 'UNLISTED' | null
  /** A list, or a comma-separated string. */
  tags?: string[] | string
  seo?: Seo
  options?: OptionSnapshot[]
  variants?: VariantSnapshot[]
  /** Custom collections the product belongs to (gids). */
  collections?: CollectionGid[]
}

export interface CollectionRule {
  column: string
  relation: string
  condition: string
}

/** The synced content of a collection (every key optional when reading). */
export interface CollectionSnapshot {
  title?: string
  handle?: string
  description_html?: string
  seo?: Seo
  sort_order?: string | null
  /** Smart collections only. */
  rules?: { applied_disjunctively?: boolean; rules?: CollectionRule[] } | null
}

/** A snapshot tagged with its kind. */
export type Snapshot = ({ kind: 'product' } & ProductSnapshot) | ({ kind: 'collection' } & CollectionSnapshot)

/** One row of a three-way diff. */
export interface DiffRow {
  path: string
  field: Field | null
  kind: 'local' | 'remote' | 'converged' | 'conflict' | 'error'
  base: unknown
  local: unknown
  remote: unknown
  /** Error rows only. */
  message?: string
}

// ---------------------------------------------------------------------------------------
// Plans, changes, review

export type Operation =
  | 'create'
  | 'update'
  | 'delete'
  | 'create_variant'
  | 'delete_variant'
  | 'add_to_collection'
  | 'remove_from_collection'

export type ChangeState =
  | 'staged'
  | 'approved'
  | 'rejected'
  | 'applying'
  | 'applied'
  | 'failed'
  | 'stale'
  | 'superseded'

export interface Target {
  kind: 'product' | 'collection'
  local_id: string | null
  shopify_id: string | null
}

/** One proposed change (its JSON shape in plan files and the store). */
export interface Change {
  id: string
  plan_id: string
  target: Target
  operation: Operation
  field: Field | null
  rows: Array<Record<string, unknown>>
  guard: Record<string, unknown>
  priority: number
  state: ChangeState
  version: number
  preflight: Array<Record<string, unknown>>
  result: { outcome: 'applied' | 'failed' | 'stale'; message: string | null; ids: IdMapping | null } | null
  created_at: Timestamp
  updated_at: Timestamp
}

/** A plan: the changes a diff proposes, for review. */
export interface Plan {
  id: string
  created_at: Timestamp
  mask: Field[]
  changes: Change[]
  incoming: Array<{ target: Target; rows: DiffRow[] }>
  problems: Array<{ target: Target; rows: DiffRow[] }>
  unmanaged: Target[]
  unchanged: number
}

/** Which changes an action or a query selects; every key set must hold. */
export interface ChangeFilter {
  plan_id?: string | null
  change_ids?: string[] | null
  operations?: Operation[] | null
  /** Shopify gids or local ids. */
  targets?: string[] | null
  fields?: Field[] | null
  states?: ChangeState[] | null
}

export interface SavedPlan {
  plan_id: string
  changes: number
  superseded: string[]
}

export interface ReviewReport {
  changed: string[]
  skipped: Array<{ id: string; state: ChangeState; reason: string }>
  [key: string]: unknown
}

export interface IdMapping {
  local_id: string | null
  shopify_id: string
  variants: Array<{ key: string; id: string }>
}

/** One local product of the merchant's system, for `SyncEngine.plan` and `statuses`. */
export interface LocalRecord {
  /** The caller's id (its primary key). */
  local_id?: string | null
  /** The Shopify gid, once there is one. */
  shopify_id?: ProductGid | null
  /** The content. */
  snapshot: ProductSnapshot
}

// ---------------------------------------------------------------------------------------
// Sync engine

/** Which side a stored snapshot is: what was last synced, or what Shopify held. */
export type SnapshotSide = 'base' | 'remote'

/** A snapshot as the change store holds it (`store.snapshot(side, key)`). */
export interface StoredSnapshot {
  snapshot: Snapshot
  fingerprint: string | null
  /** Shopify's `updatedAt`. */
  updated_at: Timestamp | null
  /** The caller's id of the entity, once known (base snapshots). */
  local_id?: string
}

export interface PullReport {
  mode: 'paginated' | 'bulk'
  incremental: boolean
  products: number
  collections: number
  deleted: number
  memberships: number
  membership_changes: number
  cursor: Timestamp | null
  elapsed_ms: number
}

export interface ApplyReport {
  operation_id: string
  applied: number
  stale: number
  failed: number
  reconciled: number
  created: IdMapping[]
  elapsed_ms: number
}

/** An executor event: the JSON of `tests/vectors/events.json`. */
export type ExecutorEvent = {
  operation_id: string
  seq: number
  timestamp: Timestamp
} & (
  | { type: 'operation_started'; min_workers: number; max_workers: number; queue_capacity: number }
  | { type: 'job_queued'; job_id: number; key: string | null; priority: number; estimated_cost: number }
  | { type: 'job_started'; job_id: number; key: string | null; attempt: number }
  | { type: 'job_retrying'; job_id: number; key: string | null; attempt: number; backoff_ms: number; error: EventError }
  | { type: 'job_succeeded'; job_id: number; key: string | null; attempt: number; elapsed_ms: number }
  | { type: 'job_failed'; job_id: number; key: string | null; attempt: number; effect: Effect; error: EventError }
  | { type: 'job_cancelled'; job_id: number; key: string | null; effect: Effect }
  | { type: 'throttled'; wait_ms: number; cost: number; available: number }
  | { type: 'workers_scaled'; from: number; to: number; reason: string }
  | {
      type: 'progress'
      done: number
      failed: number
      cancelled: number
      running: number
      queued: number
      total: number
      workers: number
      rate_per_minute: number
      eta_ms: number | null
      elapsed_ms: number
    }
  | { type: 'paused' }
  | { type: 'resumed' }
  | { type: 'cancelled'; mode: string; dropped: number; in_flight: number }
  | {
      type: 'finished'
      total: number
      succeeded: number
      failed: number
      cancelled: { done: number; not_done: number; unknown: number }
      deduplicated: number
      retries: number
      throttled_ms: number
      elapsed_ms: number
      cancel: string | null
    }
)

export type Effect = 'done' | 'not_done' | 'unknown'

export interface EventError {
  kind: ErrorKind
  message: string
  retryable: boolean
  request_id: string | null
}

// ---------------------------------------------------------------------------------------
// Client

/** A GraphQL response: `data`, field errors of a partial response, request id, cost. */
export interface GraphqlResponse<T = any> {
  data: T
  errors: GraphqlError[]
  request_id: string | null
  cost: {
    requested: number
    actual: number | null
    maximum: number
    available: number
    restore_rate: number
  } | null
}

/** A product as the Admin API returns it (camelCase: the GraphQL shape). */
export interface Product {
  id: ProductGid
  title: string
  handle: string
  descriptionHtml: string
  vendor: string
  productType: string
  status: 'ACTIVE' | 'ARCHIVED' | 'DRAFT' | 'UNLISTED' | null
  tags: string[]
  seo: Seo
  templateSuffix: string | null
  options: Array<{ id: string | null; name: string; position: number | null; values: string[] }>
  variants: Array<{
    id: string
    title: string
    sku: string | null
    barcode: string | null
    price: Money | null
    compareAtPrice: Money | null
    [key: string]: unknown
  }>
  createdAt: Timestamp | null
  updatedAt: Timestamp | null
}

/** A collection as the Admin API returns it (camelCase: the GraphQL shape). */
export interface Collection {
  id: CollectionGid
  title: string
  handle: string
  [key: string]: unknown
}

// ---------------------------------------------------------------------------------------
// Webhooks, simulator

/** What `verifyWebhook` returns: the verified request's headers. */
export interface VerifiedWebhook {
  topic: string
  shop_domain: string
  webhook_id: string | null
  event_id: string | null
  api_version: string | null
  triggered_at: Timestamp | null
  /** Which secret matched (0: the current one). */
  secret_index: number
  is_current_secret: boolean
  /** The GraphQL enum form of the topic (`PRODUCTS_UPDATE`), or null. */
  sync_topic: string | null
}

/** What `receiveWebhook` returns: `verifyWebhook`'s fields and the entity it is about. */
export interface ReceivedWebhook extends VerifiedWebhook {
  product_id: ProductGid | null
  collection_id: CollectionGid | null
}

/** A bulk operation as Shopify reports it (the Admin API's camelCase shape). */
export interface BulkOperation {
  id: string
  status: 'CREATED' | 'RUNNING' | 'COMPLETED' | 'FAILED' | 'CANCELING' | 'CANCELED' | 'EXPIRED' | 'UNKNOWN'
  type: 'QUERY' | 'MUTATION' | 'UNKNOWN'
  errorCode: string | null
  createdAt: Timestamp | null
  completedAt: Timestamp | null
  objectCount: number
  rootObjectCount: number
  fileSize: number | null
  url: string | null
  partialDataUrl: string | null
  query: string | null
}

/** What a `WebhookQueue` did with an accepted delivery: answer 200 for each. */
export type QueueOutcome = 'marked' | 'duplicate' | 'stale' | 'ignored'

/** What `WebhookQueue.receive` returns: `receiveWebhook`'s fields and the outcome. */
export interface QueuedWebhook extends ReceivedWebhook {
  outcome: QueueOutcome
}

/** What `engine.refresh(queue)` did. */
export interface RefreshReport {
  /** Product snapshots re-read and written (products that exist). */
  products: number
  /** Collection snapshots re-read and written. */
  collections: number
  /** Remote snapshots deleted: the product or collection is gone from Shopify. */
  deleted: number
  /** Stored product snapshots whose custom-collection membership changed. */
  memberships: number
  /** Repeated deliveries received since the last refresh. */
  duplicates: number
  /** Stale deliveries received since the last refresh. */
  stale: number
  /** Deliveries of other topics received since the last refresh. */
  ignored: number
}

/** Request statistics of the simulator (the JSON of `GET /_sim/stats`). */
export type SimStats = Record<string, unknown>

// ---------------------------------------------------------------------------------------
// Options (camelCase keys: they are API, not wire data)

/** Options of `client.bulkQuery()`. */
export interface BulkQueryOptions extends CallOptions {
  /** Ask Shopify to write each object's children right after it (slower for Shopify). */
  groupObjects?: boolean | null
  /** Give up waiting after this many milliseconds (the operation is canceled). */
  timeoutMs?: number | null
}

/** Options of every long operation. */
export interface CallOptions {
  /** Abort the operation: it rejects with code `SHOPIFY_CANCELLED`. */
  signal?: AbortSignal | null
}

/** `new ShopifyClient(options)`. Unknown keys are refused. */
export interface ClientOptions {
  /** `name` or `name.myshopify.com` (needed unless `endpoint` is given). */
  shop?: string | null
  /** The Admin API access token (never printed). */
  accessToken: string
  /** A base URL overriding the shop's (the simulator, a proxy); plain `http` only on loopback. */
  endpoint?: string | null
  /** `YYYY-MM` (default: `DEFAULT_API_VERSION`). */
  apiVersion?: string | null
  /** Attempts of a failed request, the first included (default 5). */
  maxAttempts?: number | null
  /** Default 60000. */
  requestTimeoutMs?: number | null
  /** Default 10000. */
  connectTimeoutMs?: number | null
}

/** Which products `ShopifyClient.products()` lists. Unknown keys are refused. */
export interface ProductQueryOptions {
  /** Shopify's search syntax, e.g. `status:active tag:sale`. */
  search?: string | null
  updatedAfter?: Timestamp | null
  updatedBefore?: Timestamp | null
  sort?: 'id' | 'title' | 'updated_at' | 'created_at' | 'vendor' | 'product_type' | null
  reverse?: boolean | null
  /** A fixed page size (default: the largest whose cost fits Shopify's limit). */
  pageSize?: number | null
}

/** `Simulator.start(options)`. Unknown keys are refused. */
export interface SimulatorOptions {
  /** Generated catalog: products (default 1000), collections (default 57), seed. */
  products?: number | null
  collections?: number | null
  seed?: number | null
  /** A catalog as `Simulator.dump()` returns it (instead of a generated one). */
  catalog?: Record<string, unknown> | null
  shop?: string | null
  accessToken?: string | null
  /** Cost bucket size in points (Shopify: 2000) and restore rate per second (100). */
  bucketSize?: number | null
  restoreRate?: number | null
  maxQueryCost?: number | null
  jobDelayMs?: number | null
  indexLagMs?: number | null
  bulkRowsPerSecond?: number | null
  /** Share of requests that fail with a random fault (default 0), and its seed. */
  faultRate?: number | null
  faultSeed?: number | null
}

/** The merchant's side of a plan. */
export interface LocalCatalog {
  products?: LocalRecord[]
  collections?: Array<{ local_id?: string | null; shopify_id?: CollectionGid | null; snapshot: CollectionSnapshot }>
  /** `"listed"` (default: an absent product is unknown, never deleted) or `"all"` (absent means delete). */
  productScope?: 'listed' | 'all' | null
  collectionScope?: 'listed' | 'all' | null
}

/** `new SyncEngine(client, store, options)`. Unknown keys are refused. */
export interface SyncEngineOptions {
  pullMode?: 'auto' | 'paginated' | 'bulk' | null
  /** Products from which `"auto"` pulls with a bulk query (default 25000). */
  bulkPullThreshold?: number | null
  /** How far before its cursor an incremental pull reads again (default 300000). */
  overlapMs?: number | null
  /** Targets re-read per request by the stale guard (default 100, at most 250). */
  guardBatch?: number | null
  /** Who the audit trail names for the engine's own transitions (default "shopify-sync"). */
  actor?: string | null
  /** Publication gids new products are published to. */
  publications?: string[] | null
}

/** `engine.pull(options)`. */
export interface PullOptions extends CallOptions {
  mode?: 'auto' | 'paginated' | 'bulk' | null
  /** Read only the products updated since the last pull's cursor. */
  incremental?: boolean | null
}

/** `engine.apply(filter, options)`. */
export interface ApplyOptions extends CallOptions {
  /**
   * Every executor event, on the JS thread, in order. Called through a non-blocking
   * threadsafe function: a slow callback never stalls the Rust workers (events queue).
   */
  onEvent?: ((event: ExecutorEvent) => void) | null
  /** The operation id events carry (default: a random one): name a WebSocket room after it. */
  operationId?: string | null
}
