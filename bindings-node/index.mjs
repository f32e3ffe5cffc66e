// The ES module entry of shopify-sync: the same objects as the CommonJS entry (one
// native module, one ShopifySyncError class), re-exported by name. test/package.test.mjs
// checks that this list and the CommonJS exports stay the same.
import cjs from './index.js'

export const {
  ApplyRun,
  BulkQueryRun,
  ChangeStore,
  CollectionStream,
  DEFAULT_API_VERSION,
  IdStream,
  ProductStream,
  ShopifyClient,
  ShopifySyncError,
  Simulator,
  SyncEngine,
  VERSION,
  WebhookQueue,
  __napiBindingTarget,
  _computeStatusJson,
  _computeStatusesJson,
  _makeError,
  _panic,
  _roundTripEvent,
  _setErrorClass,
  _statusBatch,
  _statusBatchFinish,
  _statusBatchPush,
  canonicalDocument,
  collectionSnapshot,
  computeStatus,
  computeStatuses,
  diff,
  fingerprint,
  fingerprintCollection,
  fingerprintProduct,
  normalizeSnapshot,
  productSnapshot,
  receiveWebhook,
  verifyWebhook,
  verifyWebhookSignature,
} = cjs

export default cjs
