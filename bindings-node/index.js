'use strict'
// The CommonJS entry of shopify-sync: the native module (loaded by the napi-rs loader in
// native.js, which picks the prebuilt binary of this platform) plus the few things that
// live in JS: the ShopifySyncError class and `Symbol.asyncIterator` on the stream
// classes (a native `next()` / `close()` pair underneath).

const native = require('./native.js')
const { ShopifySyncError } = require('./errors.js')

native._setErrorClass(ShopifySyncError)

for (const Stream of [native.ProductStream, native.CollectionStream, native.IdStream, native.ApplyRun, native.BulkQueryRun, native.ExecutorEvents]) {
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

// Arguments of the wrong JS type (a number where a string is expected, a missing
// argument, a non-AbortSignal `signal`) are refused by napi-rs' generated glue before
// Rust runs, as a plain Error whose `code` is the napi status. They are rethrown here as
// the ShopifySyncError every other unusable input is: SHOPIFY_INVALID_INPUT, with the
// napi error as `cause`. Only the synchronous throw of the call is caught (that is when
// arguments are converted); promises already reject with ShopifySyncErrors.
const ARGUMENT_STATUSES = new Set([
  'InvalidArg',
  'ObjectExpected',
  'StringExpected',
  'NameExpected',
  'FunctionExpected',
  'NumberExpected',
  'BooleanExpected',
  'ArrayExpected',
  'BigintExpected',
  'DateExpected',
  'ArrayBufferExpected',
  'DetachableArraybufferExpected',
])

function argumentError(e) {
  if (e instanceof ShopifySyncError || !(e instanceof Error) || !ARGUMENT_STATUSES.has(e.code)) return e
  return new ShopifySyncError(`invalid argument: ${e.message}`, {
    code: 'SHOPIFY_INVALID_INPUT',
    kind: 'invalid_input',
    retryable: false,
    cause: e,
  })
}

function guarded(fn) {
  const wrapped = {
    [fn.name](...args) {
      try {
        return fn.apply(this, args)
      } catch (e) {
        throw argumentError(e)
      }
    },
  }[fn.name]
  return wrapped
}

const exported = { ...native, computeStatus, computeStatuses, ShopifySyncError }
for (const [name, value] of Object.entries(native)) {
  // Internal functions, and those index.js defines itself (computeStatus(es)), as they are.
  if (typeof value !== 'function' || name.startsWith('_') || exported[name] !== value) continue
  if (!/^[A-Z]/.test(name)) {
    exported[name] = guarded(value)
    continue
  }
  // A class: its methods in place (getters and the static factories, which napi-rs
  // makes read-only, stay as they are), and its constructor through a Proxy (the same
  // class for `instanceof` and the statics).
  for (const [key, d] of Object.entries(Object.getOwnPropertyDescriptors(value.prototype))) {
    if (key !== 'constructor' && typeof d.value === 'function' && d.writable) {
      Object.defineProperty(value.prototype, key, { ...d, value: guarded(d.value) })
    }
  }
  exported[name] = new Proxy(value, {
    construct(target, args, newTarget) {
      try {
        return Reflect.construct(target, args, newTarget)
      } catch (e) {
        throw argumentError(e)
      }
    },
  })
}

module.exports = exported
