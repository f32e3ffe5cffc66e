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

/** A product's or collection's search engine listing. */
export interface Seo {
  /** The page title search engines show. */
  title?: string | null
  /** The description search engines show. */
  description?: string | null
}

/** A product option (`Size`) with its values, in order. */
export interface OptionSnapshot {
  /** The option's name. */
  name?: string
  /** Its values, in order. */
  values?: string[]
}

/** A variant's value of one option (`{ name: 'Size', value: 'M' }`). */
export interface SelectedOption {
  /** The option's name. */
  name: string
  /** The variant's value. */
  value: string
}

/** The synced content of a variant. */
export interface VariantSnapshot {
  /** Its gid, once it exists on Shopify. */
  id?: string | null
  /** Its price (a decimal string). */
  price?: Money | null
  /** Its compare-at price (a decimal string). */
  compare_at_price?: Money | null
  /** Its SKU (variants are matched by SKU first). */
  sku?: string | null
  /** Its barcode. */
  barcode?: string | null
  /** Whether it sells when out of stock. */
  inventory_policy?: 'deny' | 'continue' | 'DENY' | 'CONTINUE' | null
  /** Its value of each option. */
  option_values?: SelectedOption[]
}

/** The synced content of a product (every key optional when reading). */
export interface ProductSnapshot {
  /** The title. */
  title?: string
  /** The handle (the URL's last segment; unique per shop). */
  handle?: string
  /** The description, in HTML. */
  description_html?: string
  /** The vendor. */
  vendor?: string
  /** The product type. */
  product_type?: string
  /** The status (either case). */
  status?: 'active' | 'archived' | 'draft' | 'unlisted' | 'ACTIVE' | 'ARCHIVED' | 'DRAFT' | 'UNLISTED' | null
  /** A list, or a comma-separated string. */
  tags?: string[] | string
  /** The search engine listing. */
  seo?: Seo
  /** The options, in order. */
  options?: OptionSnapshot[]
  /** The variants. */
  variants?: VariantSnapshot[]
  /** Custom collections the product belongs to (gids). */
  collections?: CollectionGid[]
}

/** One rule of a smart collection (`{ column: 'TAG', relation: 'EQUALS', condition: 'sale' }`). */
export interface CollectionRule {
  /** What the rule looks at. */
  column: string
  /** How it compares. */
  relation: string
  /** The value compared with. */
  condition: string
}

/** The synced content of a collection (every key optional when reading). */
export interface CollectionSnapshot {
  /** The title. */
  title?: string
  /** The handle. */
  handle?: string
  /** The description, in HTML. */
  description_html?: string
  /** The search engine listing. */
  seo?: Seo
  /** How its products are sorted. */
  sort_order?: string | null
  /** Smart collections only. */
  rules?: { applied_disjunctively?: boolean; rules?: CollectionRule[] } | null
}

/** A snapshot tagged with its kind. */
export type Snapshot = ({ kind: 'product' } & ProductSnapshot) | ({ kind: 'collection' } & CollectionSnapshot)

/** One row of a three-way diff. */
export interface DiffRow {
  /** Where in the entity (`title`, `variants[sku:A].price` ...). */
  path: string
  /** The managed field; `null` for whole entities and whole variants. */
  field: Field | null
  /** Which side changed since the base: local only, remote only, both alike, both differently; or an error. */
  kind: 'local' | 'remote' | 'converged' | 'conflict' | 'error'
  /** The value at the last sync. */
  base: unknown
  /** The local value. */
  local: unknown
  /** Shopify's value. */
  remote: unknown
  /** Error rows only. */
  message?: string
}

// ---------------------------------------------------------------------------------------
// Plans, changes, review

/** What a change does on Shopify. */
export type Operation =
  | 'create'
  | 'update'
  | 'delete'
  | 'create_variant'
  | 'delete_variant'
  | 'add_to_collection'
  | 'remove_from_collection'

/** Where a change stands: `staged` -> `approved` / `rejected` -> `applying` -> `applied` / `failed` / `stale`. */
export type ChangeState =
  | 'staged'
  | 'approved'
  | 'rejected'
  | 'applying'
  | 'applied'
  | 'failed'
  | 'stale'
  | 'superseded'

/** The entity a change, a row or an audit entry is about. */
export interface Target {
  /** Product or collection. */
  kind: 'product' | 'collection'
  /** The caller's id for the record, when it has one. */
  local_id: string | null
  /** The Shopify gid, when the entity exists on Shopify. */
  shopify_id: string | null
}

/** How a reviewer resolved a conflict row: what was taken and the value that will be written. */
export interface Resolution {
  /** What was taken. */
  take: Take
  /** The value to write (`null` for `"remote"`: nothing is written for the row). */
  value: unknown
}

/** What a reviewer takes to resolve a conflict: the local value, Shopify's, or a value given. */
export type Take = 'local' | 'remote' | 'value'

/** One row of a change: a diff row (`local` or `conflict`) with its resolution, once resolved. */
export interface ChangeRow {
  /** Where in the entity (`title`, `variants[sku:A].price` ...). */
  path: string
  /** The managed field; `null` for whole entities and whole variants. */
  field: Field | null
  /** How the sides relate: `local` or `conflict` in a change. */
  kind: DiffRow['kind']
  /** The value at the last sync. */
  base: unknown
  /** The local value. */
  local: unknown
  /** Shopify's value when planned. */
  remote: unknown
  /** The resolution of a conflict row, once resolved. */
  resolution?: Resolution
}

/** One proposed change (its JSON shape in plan files and the store). */
export interface Change {
  /** The change's id. */
  id: string
  /** The plan it belongs to. */
  plan_id: string
  /** The entity it changes. */
  target: Target
  /** What it does. */
  operation: Operation
  /** The managed field of a one-field change, else `null`. */
  field: Field | null
  /** Its rows, side by side. */
  rows: ChangeRow[]
  /** What the stale guard compares before writing (Shopify's state when planned). */
  guard: Record<string, unknown>
  /** The executor priority of its write. */
  priority: number
  /** Where it stands in review and apply. */
  state: ChangeState
  /** Bumped by every transition (two writers cannot both move it). */
  version: number
  /** Issues found by preflight checks (a flagged change is not approved). */
  preflight: Array<Record<string, unknown>>
  /** The apply's result, once applied, failed or stale. */
  result: { outcome: 'applied' | 'failed' | 'stale'; message: string | null; ids: IdMapping | null } | null
  /** When it was planned. */
  created_at: Timestamp
  /** When it last moved. */
  updated_at: Timestamp
}

/** Shopify's changes with nothing to write, or an entity that cannot be planned: its rows. */
export interface TargetRows {
  /** The entity. */
  target: Target
  /** Its diff rows. */
  rows: DiffRow[]
}

/** A plan: the changes a diff proposes, for review (`engine.plan()`, `store.plan(id)`, plan files). */
export interface Plan {
  /** The plan's id. */
  id: string
  /** When it was computed. */
  created_at: Timestamp
  /** The managed fields it was computed under. */
  mask: Field[]
  /** The changes, in plan order. */
  changes: Change[]
  /** Rows changed on Shopify only or on both sides alike, for the local system. */
  incoming: TargetRows[]
  /** Entities that cannot be planned (`error` rows: ambiguous matches ...). */
  problems: TargetRows[]
  /** Remote entities never synced: never deleted, never changed. */
  unmanaged: Target[]
  /** How many entities had no difference. */
  unchanged: number
}

/** Counts over a plan for a review screen's header (`planSummary(plan)`). */
export interface PlanSummary {
  /** Changes in all. */
  changes: number
  /** Changes per operation. */
  by_operation: Partial<Record<Operation, number>>
  /** Changes per state. */
  by_state: Partial<Record<ChangeState, number>>
  /** Changes with an unresolved conflict (approve skips them). */
  conflicts: number
  /** Changes flagged by preflight checks. */
  flagged: number
  /** Entities with incoming rows. */
  incoming: number
  /** Entities with problems. */
  problems: number
  /** Unmanaged remote entities. */
  unmanaged: number
  /** Entities with no difference. */
  unchanged: number
}

/** One row of a review table (`planReviewRows(plan)`): the row with the change it belongs to. */
export interface ReviewRow extends ChangeRow {
  /** The change. */
  change_id: string
  /** The entity. */
  target: Target
  /** The change's operation. */
  operation: Operation
  /** The change's state. */
  state: ChangeState
}

/** Which changes an action or a query selects; every key set must hold. */
export interface ChangeFilter {
  /** Changes of this plan. */
  plan_id?: string | null
  /** These changes. */
  change_ids?: string[] | null
  /** Changes with one of these operations. */
  operations?: Operation[] | null
  /** Shopify gids or local ids. */
  targets?: string[] | null
  /** Changes touching one of these fields. */
  fields?: Field[] | null
  /** Changes in one of these states. */
  states?: ChangeState[] | null
}

/** What `store.savePlan()` did. */
export interface SavedPlan {
  /** The plan. */
  plan_id: string
  /** How many changes were saved. */
  changes: number
  /** Older unapplied changes of the same targets, now `superseded`. */
  superseded: string[]
}

/** What `approve()` and `reject()` did. */
export interface ReviewReport {
  /** The changes moved. */
  changed: string[]
  /** The selected `staged` changes not moved (an unresolved conflict, a preflight issue ...). */
  skipped: Array<{ change_id: string; reason: string }>
  /** The audit entries written, in order. */
  audit: AuditEntry[]
}

/** Who reviews: the audit trail names `actor` and keeps `comment`. */
export interface ReviewInput {
  /** Who (a user, or a process). */
  actor: string
  /** Why, for the audit trail. */
  comment?: string | null
}

/** `store.resolve(changeId, take, resolution)`. Unknown keys are refused. */
export interface ResolveOptions extends ReviewInput {
  /** The conflict row to resolve (default: every unresolved conflict of the change). */
  path?: string | null
  /** The value written, with `take: "value"` (valid for the row: a price is a decimal string). */
  value?: unknown
}

/** What an audit entry records. */
export type AuditAction =
  | 'planned'
  | 'approved'
  | 'rejected'
  | 'resolved'
  | 'applying'
  | 'applied'
  | 'failed'
  | 'stale'
  | 'returned_to_review'
  | 'superseded'

/** One entry of the audit trail (`store.audit(query)`). */
export interface AuditEntry {
  /** Its position in the trail, from 1. */
  seq: number
  /** When. */
  at: Timestamp
  /** Who. */
  actor: string
  /** What. */
  action: AuditAction
  /** The change, when the entry is about one. */
  change_id: string | null
  /** The plan. */
  plan_id: string | null
  /** The entity. */
  target: Target | null
  /** The state (or resolution) before. */
  before: unknown
  /** The state (or resolution, or apply result) after. */
  after: unknown
  /** The reviewer's comment. */
  comment: string | null
}

/** Which audit entries `store.audit()` selects; every key set must hold. Unknown keys are refused. */
export interface AuditQuery {
  /** Entries about this change. */
  change_id?: string | null
  /** Entries of this plan. */
  plan_id?: string | null
  /** Entries about this entity: its Shopify gid or its local id. */
  target?: string | null
  /** At or after this time. */
  since?: Timestamp | null
  /** Before this time. */
  until?: Timestamp | null
  /** With `seq` above this (paging, tailing). */
  after_seq?: number | null
  /** At most this many (the first ones). */
  limit?: number | null
}

/** The ids an apply gave a created entity (and its variants). */
export interface IdMapping {
  /** The caller's id. */
  local_id: string | null
  /** The Shopify gid. */
  shopify_id: string
  /** The variants' gids, by variant key. */
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

/** What `engine.pull()` did. */
export interface PullReport {
  /** How it read the catalog. */
  mode: 'paginated' | 'bulk'
  /** Whether it read only the products updated since the last cursor. */
  incremental: boolean
  /** Product snapshots written. */
  products: number
  /** Collection snapshots written. */
  collections: number
  /** Remote snapshots deleted (gone from Shopify). */
  deleted: number
  /** Custom-collection memberships read. */
  memberships: number
  /** Product snapshots whose membership changed. */
  membership_changes: number
  /** The cursor the next incremental pull starts from. */
  cursor: Timestamp | null
  /** How long it took. */
  elapsed_ms: number
}

/** What `engine.apply()` did. */
export interface ApplyReport {
  /** The operation id its events carried. */
  operation_id: string
  /** Changes written. */
  applied: number
  /** Changes not written: Shopify moved since the plan (back to review). */
  stale: number
  /** Changes that failed. */
  failed: number
  /** Changes left `applying` by an earlier run, settled first. */
  reconciled: number
  /** The ids of the entities created: write them into the local records. */
  created: IdMapping[]
  /** How long it took. */
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

/** What a job that did not succeed did to the shop: done, not done (safe to run again), or unknown (read first). */
export type Effect = 'done' | 'not_done' | 'unknown'

/** The error an event carries (`job_retrying`, `job_failed`). */
export interface EventError {
  /** The Rust `ErrorKind`. */
  kind: ErrorKind
  /** What went wrong. */
  message: string
  /** Whether trying again may succeed. */
  retryable: boolean
  /** Shopify's request id, when there was a response. */
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

/** The result of one input line of a bulk mutation. */
export interface BulkMutationLine<T = any> {
  /** The index of the variables it answers (0-based). */
  line_number: number
  /** Whether it ran without GraphQL errors or `userErrors`. */
  ok: boolean
  /** The mutation's payload (`{ tagsAdd: { ... } }`). */
  data: T
  /** GraphQL errors of the line (variables that do not coerce ...). */
  errors: GraphqlError[]
  /** The payload's `userErrors`: Shopify refused the line. */
  user_errors: UserError[]
}

/** What `client.bulkMutation()` resolves with. */
export interface BulkMutationResult<T = any> {
  /** The operation as it finished. */
  operation: BulkOperation
  /** Whether the operation failed midway (the lines in `missing` may or may not have run). */
  partial: boolean
  /** Every result, by input line. */
  lines: Array<BulkMutationLine<T>>
  /** Input lines with no result. */
  missing: number[]
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

/** Options of `client.bulkMutation()`. */
export interface BulkMutationOptions extends CallOptions {
  /** Poll the operation's status this often, in milliseconds (default: from 500 backing off to 5000). */
  pollIntervalMs?: number | null
  /** Give up waiting after this many milliseconds (`SHOPIFY_TIMEOUT`; the operation is canceled). */
  timeoutMs?: number | null
}

/** Options of `client.bulkQuery()`. */
export interface BulkQueryOptions extends BulkMutationOptions {
  /** Ask Shopify to write each object's children right after it (slower for Shopify). */
  groupObjects?: boolean | null
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
  /** How an apply sends product updates: `"auto"` (default: bulk from `bulkWriteThreshold` up), `"direct"` or `"bulk"`. */
  writeMode?: 'auto' | 'direct' | 'bulk' | null
  /** Product updates from which `"auto"` uses one bulk mutation (default 1000). */
  bulkWriteThreshold?: number | null
  /** The executor the writes run on. */
  executor?: ExecutorConfig | null
}

/**
 * How an executor runs (`new Executor(client, { config })`, `SyncEngineOptions.executor`):
 * every key optional, over the core's defaults. Unknown keys are refused.
 */
export interface ExecutorConfig {
  /** Workers kept even when idle or throttled (default 2, at least 1). */
  minWorkers?: number | null
  /** Workers at most (default 10). */
  maxWorkers?: number | null
  /** Jobs waiting at most; `submit()` waits for room beyond (default 10000). */
  queueCapacity?: number | null
  /** Resident memory (MB) beyond which no job is admitted until it falls (default 0: off). */
  memoryWatermarkMb?: number | null
  /** How often resident memory is read, at most (default 100 ms). */
  memoryPollMs?: number | null
  /** Attempts of a job, the first included, for retryable errors (default 3). */
  maxAttempts?: number | null
  /** The first retry's backoff; each next one doubles (default 500 ms). */
  initialBackoffMs?: number | null
  /** The longest backoff (default 30000 ms). */
  maxBackoffMs?: number | null
  /** Idle workers are let go after this long (default 1000 ms). */
  idleTimeoutMs?: number | null
  /** While throttled, the pool shrinks by one worker per interval (default 500 ms). */
  scaleIntervalMs?: number | null
  /** `progress` events at most this often (default 250 ms). */
  progressIntervalMs?: number | null
  /** Events a slow reader may have waiting before its `progress` events are dropped (default 1024). */
  eventBuffer?: number | null
}

/** `new Executor(client, options)`. Unknown keys are refused. */
export interface ExecutorOptions {
  /** Workers, queue, retries ... */
  config?: ExecutorConfig | null
  /** The operation id every event carries (default: `op-` and random hex). */
  operationId?: string | null
  /** Every event, on the JS thread, in order (a non-blocking threadsafe function: never stalls the workers). */
  onEvent?: ((event: ExecutorEvent) => void) | null
}

/** `executor.submit(document, variables, options)`. Unknown keys are refused. */
export interface SubmitOptions {
  /** Higher runs first; equal priorities in submission order (default 0; the core's low / high are -10 / 10). */
  priority?: number | null
  /** Deduplication: a job with the key of a job still waiting is not queued again. */
  key?: string | null
  /** This job's attempts, the first included (default: the config's `maxAttempts`). */
  maxAttempts?: number | null
}

/** What `executor.submit()` resolves with. */
export interface SubmitResult {
  /** The job's id within the operation (from 1; the events' `job_id`; the key of its response). */
  job_id: number
  /** Not queued: the job `job_id`, with the same key, is waiting already. */
  duplicate: boolean
}

/** Where an executor's operation stands (`executor.progress()`). */
export interface ExecutorProgress {
  /** Jobs succeeded. */
  done: number
  /** Jobs failed for good. */
  failed: number
  /** Jobs cancelled. */
  cancelled: number
  /** Jobs running now. */
  running: number
  /** Jobs waiting (in the queue, or for a retry). */
  queued: number
  /** Jobs admitted so far. */
  total: number
  /** The pool's size. */
  workers: number
  /** Jobs ended per minute, recently. */
  rate_per_minute: number
  /** Estimated time to the end of the jobs admitted so far, when known. */
  eta_ms: number | null
  /** Time since the operation started. */
  elapsed_ms: number
}

/** A job that did not succeed, in an executor's report. */
export interface JobRecord {
  /** The job's id. */
  job_id: number
  /** Its key. */
  key: string | null
  /** Attempts started (0: never started). */
  attempts: number
  /** What it did to the shop: `not_done` is safe to run again, `unknown` needs a read first. */
  effect: Effect
  /** Its last error (with `code`, `requestId`, `userErrors` ...), if it had one. */
  error: import('./errors').ShopifySyncError | null
}

/** How an executor's operation ended: the `finished` event's counts. */
export interface ExecutorSummary {
  /** Jobs admitted. */
  total: number
  /** Jobs succeeded. */
  succeeded: number
  /** Jobs failed for good. */
  failed: number
  /** Jobs cancelled, by effect. */
  cancelled: { done: number; not_done: number; unknown: number }
  /** Submissions not queued because a job with the same key was waiting. */
  deduplicated: number
  /** Retries in all. */
  retries: number
  /** Time the next job waited for the budget, in all. */
  throttled_ms: number
  /** Time from start to end. */
  elapsed_ms: number
  /** How it was cancelled (`"graceful"`, `"immediate"`), if it was. */
  cancel: string | null
}

/** What `executor.finish()` resolves with. */
export interface ExecutorReport {
  /** The counts. */
  summary: ExecutorSummary
  /** Jobs that failed for good, in the order they did. */
  failed: JobRecord[]
  /** Jobs cancelled, in the order they were. */
  cancelled: JobRecord[]
  /** The GraphQL response of every job that succeeded, by job id. */
  responses: Record<string, GraphqlResponse>
}

/** `engine.pull(options)`. */
export interface PullOptions extends CallOptions {
  mode?: 'auto' | 'paginated' | 'bulk' | null
  /** Read only the products updated since the last pull's cursor. */
  incremental?: boolean | null
  /**
   * Called with the pull's progress after each stage and every 100 products, on the JS
   * thread, through a non-blocking threadsafe function (a slow callback never stalls the
   * pull). The promise settles after the last call.
   */
  onProgress?: ((progress: PullProgress) => void) | null
}

/** A pull's progress (`PullOptions.onProgress`). */
export interface PullProgress {
  /** Where the pull is: collections listed, membership read, products (every 100 and once when all are read), deletions reconciled, done. */
  stage: 'collections' | 'membership' | 'products' | 'reconciled' | 'done'
  /** Whether it is an incremental pull. */
  incremental: boolean
  /** Product snapshots written so far. */
  products: number
  /** How many products a full pull expects (`productsCount` at its start); `null` for incremental pulls. */
  total_products: number | null
  /** Collection snapshots written so far. */
  collections: number
  /** Custom-collection memberships read. */
  memberships: number
  /** Remote snapshots deleted so far. */
  deleted: number
  /** Milliseconds since the pull started. */
  elapsed_ms: number
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
