// The shared vectors (tests/vectors/*.json) through the binding: the same answers as the
// Rust and Python suites give on the same inputs.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import * as sync from 'shopify-sync'
import { loadVectors, assertCode } from './helpers.mjs'

const status = loadVectors('status.json')
const fingerprints = loadVectors('fingerprint.json')
const errors = loadVectors('errors.json')
const events = loadVectors('events.json')
const diffs = loadVectors('diff.json')

test('status.json: computeStatus gives every expected status', () => {
  assert.ok(status.cases.length >= 60)
  for (const c of status.cases) {
    assert.deepEqual(sync.computeStatus(c.input), c.expected, c.name)
  }
})

test('status.json: computeStatuses gives the same answers in order', () => {
  const out = sync.computeStatuses(status.cases.map((c) => c.input))
  assert.deepEqual(out, status.cases.map((c) => c.expected))
  assert.deepEqual(sync.computeStatuses([]), [])
})

test('status.json: the fast path (JSON text in, a status table out) equals the element-by-element one', async () => {
  const { createRequire } = await import('node:module')
  const native = createRequire(import.meta.url)('../native.js')
  const inputs = status.cases.map((c) => c.input)
  const fast = sync.computeStatuses(inputs)
  const slow = native.computeStatuses(inputs)
  // The very same JSON text: keys in the vector's order, values alike.
  assert.equal(JSON.stringify(fast), JSON.stringify(slow))
  assert.equal(JSON.stringify(fast), JSON.stringify(status.cases.map((c) => c.expected)))
  for (const c of status.cases) assert.equal(JSON.stringify(sync.computeStatus(c.input)), JSON.stringify(c.expected), c.name)
  // One plain object per input, never shared: editing one leaves the others alone.
  const same = sync.computeStatuses([{}, {}])
  assert.deepEqual(same[0], same[1])
  assert.notEqual(same[0], same[1])
  assert.notEqual(same[0].fields, same[1].fields)
  same[0].fields.push('x')
  assert.deepEqual(same[1], sync.computeStatus({}))
  const table = native._computeStatusesJson(JSON.stringify([{}, {}, { shopify_id: '1' }]))
  assert.equal(table.statuses.length, 2)
  assert.deepEqual([...table.index], [0, 0, 1])
  assert.equal(native._computeStatusesJson('[{"nope": 1}]'), null)
  assert.equal(native._computeStatusJson('{"nope": 1}'), null)
})

test('status.json: a large batch (computed in slices on threads) gives the same answers in order', async () => {
  const n = 140_000 // three slices
  const inputs = Array.from({ length: n }, (_, i) => status.cases[i % status.cases.length].input)
  const out = sync.computeStatuses(inputs)
  assert.equal(out.length, n)
  for (let i = 0; i < n; i += 997) assert.deepEqual(out[i], status.cases[i % status.cases.length].expected, String(i))
  assert.deepEqual(out.at(-1), status.cases[(n - 1) % status.cases.length].expected)
  // A refused input in a later slice: the error names its index.
  inputs[131_073] = { shopify_id: 'gid://shopify/Collection/1' }
  await assertCode(() => sync.computeStatuses(inputs), 'SHOPIFY_INVALID_INPUT', /\[131073\]/)
  // Not JSON data: the element-by-element path says what.
  await assertCode(() => sync.computeStatuses([{ shopify_id: 1n << 70n }]), 'SHOPIFY_INVALID_INPUT', /BigInt/)
})

test('status input: unknown keys and bad values are SHOPIFY_INVALID_INPUT', async () => {
  await assertCode(() => sync.computeStatus({ no_such_key: 1 }), 'SHOPIFY_INVALID_INPUT', /status input/)
  await assertCode(() => sync.computeStatus({ local_fingerprint: 'v2:abc' }), 'SHOPIFY_INVALID_INPUT')
  await assertCode(() => sync.computeStatuses([{}, { changes: { staged: -1 } }]), 'SHOPIFY_INVALID_INPUT', /\[1\]/)
  await assertCode(() => sync.computeStatuses({}), 'SHOPIFY_INVALID_INPUT', /array/)
  await assertCode(() => sync.computeStatus('synced'), 'SHOPIFY_INVALID_INPUT')
})

test('fingerprint.json: canonical documents and fingerprints', () => {
  for (const c of fingerprints.cases) {
    const { snapshot, mask } = c.input
    const { canonical, fingerprint } = c.expected
    assert.equal(sync.canonicalDocument(snapshot, mask), canonical, c.name)
    assert.equal(sync.fingerprint(snapshot, mask), fingerprint, c.name)
    const { kind, ...untagged } = snapshot
    const byKind = kind === 'product' ? sync.fingerprintProduct : sync.fingerprintCollection
    assert.equal(byKind(untagged, mask), fingerprint, c.name)
    const normalized = sync.normalizeSnapshot(snapshot)
    assert.equal(normalized.kind, kind)
    assert.equal(sync.fingerprint(normalized, mask), fingerprint, `${c.name}: normalized`)
  }
})

test('fingerprint: the mask defaults to every field; bad input is SHOPIFY_INVALID_INPUT', async () => {
  const snap = { kind: 'product', title: 'Tee' }
  assert.equal(sync.fingerprint(snap), sync.fingerprint(snap, null))
  assert.notEqual(sync.fingerprint(snap, ['vendor']), sync.fingerprint(snap))
  await assertCode(() => sync.fingerprint({ kind: 'product' }, ['no_such_field']), 'SHOPIFY_INVALID_INPUT', /mask/)
  await assertCode(() => sync.fingerprint({ kind: 'product' }, 'title'), 'SHOPIFY_INVALID_INPUT', /mask/)
  await assertCode(() => sync.fingerprint({ title: 'no kind' }), 'SHOPIFY_INVALID_INPUT', /snapshot/)
  await assertCode(() => sync.fingerprintProduct({ kind: 'product' }), 'SHOPIFY_INVALID_INPUT')
})

test('errors.json: every kind has its code, class and default retry verdict', () => {
  assert.equal(errors.js_error_class, 'ShopifySyncError')
  assert.ok(errors.cases.length >= 14)
  for (const c of errors.cases) {
    const e = sync._makeError(c.input.kind, 'boom')
    assert.ok(e instanceof sync.ShopifySyncError, c.name)
    assert.ok(e instanceof Error, c.name)
    assert.equal(e.name, errors.js_error_class)
    assert.equal(e.code, c.expected.js_code, c.name)
    assert.equal(e.kind, c.input.kind)
    assert.equal(e.retryable, c.expected.retryable, c.name)
    assert.equal(e.message, 'boom')
    assert.equal(e.requestId, null)
    assert.deepEqual(e.graphqlErrors, [])
    assert.deepEqual(e.userErrors, [])
    assert.equal(e.jsonPath, null)
  }
})

test('events.json: events the binding hands out have exactly the vector shape', () => {
  assert.ok(events.cases.length >= 14)
  const types = new Set()
  for (const c of events.cases) {
    const out = sync._roundTripEvent(c.event)
    assert.deepEqual(out, c.event, c.name)
    // Keys in the documented order, too.
    assert.deepEqual(Object.keys(out), Object.keys(c.event), c.name)
    types.add(out.type)
  }
  assert.equal(types.size, 14)
})

test('diff.json: the three-way diff gives the expected rows', () => {
  for (const c of diffs.cases) {
    const { base, local, remote, mask, smart_collections } = c.input
    const rows = sync.diff(base, local, remote, { mask, smartCollections: smart_collections })
    assert.deepEqual(rows, c.expected.rows, c.name)
  }
})

test('diff: sides of different kinds are SHOPIFY_INVALID_INPUT', async () => {
  await assertCode(
    () => sync.diff({ kind: 'product' }, { kind: 'collection' }, null),
    'SHOPIFY_INVALID_INPUT',
    /same kind/,
  )
})
