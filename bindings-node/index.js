'use strict'
// The CommonJS entry of shopify-sync: the native module (loaded by the napi-rs loader in
// native.js, which picks the prebuilt binary of this platform) plus the few things that
// live in JS: the ShopifySyncError class and `Symbol.asyncIterator` on the stream
// classes (a native `next()` / `close()` pair underneath).

const native = require('./native.js')
const { ShopifySyncError } = require('./errors.js')

native._setErrorClass(ShopifySyncError)

for (const Stream of [native.ProductStream, native.CollectionStream, native.IdStream, native.ApplyRun, native.BulkQueryRun]) {
  Object.defineProperty(Stream.prototype, Symbol.asyncIterator, {
    configurable: true,
    writable: true,
    value: async function* iterate() {
      try {
        for (;;) {
          const item = await this.next()
          if (item === null) return
          yield item
        }
      } finally {
        this.close()
      }
    },
  })
}

// computeStatus(es): the inputs cross the boundary as one JSON.stringify text (one
// string instead of a native call per property) and come back as the distinct statuses
// plus an index per input, expanded here into one plain object per input. An input the
// core refuses takes the native element-by-element path, which throws the error naming
// what (and which index) is wrong.
function computeStatus(input) {
  if (input !== null && typeof input === 'object' && !Array.isArray(input)) {
    let json
    try {
      json = JSON.stringify(input)
    } catch {
      json = undefined
    }
    if (json !== undefined) {
      const status = native._computeStatusJson(json)
      if (status !== null) return status
    }
  }
  return native.computeStatus(input)
}

// Large batches go in slices: each slice's JSON text is parsed and computed on a thread
// of its own while the next one is serialised here.
const SLICE = 65536

function statusTable(inputs) {
  try {
    if (inputs.length <= SLICE) {
      const json = JSON.stringify(inputs)
      return json === undefined ? null : native._computeStatusesJson(json)
    }
    const batch = native._statusBatch()
    const size = Math.max(SLICE, Math.ceil(inputs.length / 16))
    for (let at = 0; at < inputs.length; at += size) {
      native._statusBatchPush(batch, JSON.stringify(inputs.slice(at, at + size)))
    }
    return native._statusBatchFinish(batch)
  } catch {
    // Not JSON data (a BigInt, a cycle ...): the element-by-element path says what.
    return null
  }
}

function computeStatuses(inputs) {
  if (Array.isArray(inputs)) {
    const table = statusTable(inputs)
    if (table !== null) return expandStatuses(table.statuses, table.index)
  }
  return native.computeStatuses(inputs)
}

// One factory per distinct status: an object literal (one hidden class for all) with a
// fresh `fields` array literal, cheaper than copying an array.
function statusFactory({ state, rule, reason, fields }) {
  const [a, b, c, d] = fields
  switch (fields.length) {
    case 0:
      return () => ({ state, rule, reason, fields: [] })
    case 1:
      return () => ({ state, rule, reason, fields: [a] })
    case 2:
      return () => ({ state, rule, reason, fields: [a, b] })
    case 3:
      return () => ({ state, rule, reason, fields: [a, b, c] })
    case 4:
      return () => ({ state, rule, reason, fields: [a, b, c, d] })
    default:
      return () => ({ state, rule, reason, fields: fields.slice() })
  }
}

function expandStatuses(statuses, index) {
  const make = statuses.map(statusFactory)
  const n = index.length
  const out = new Array(n)
  for (let i = 0; i < n; i++) out[i] = make[index[i]]()
  return out
}

module.exports = { ...native, computeStatus, computeStatuses, ShopifySyncError }
