// Errors across the boundary: one class, a machine-readable code, structured fields; a
// Rust panic is a thrown error, never an abort.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import * as sync from 'shopify-sync'
import { ChangeStore, ShopifyClient, ShopifySyncError, SyncEngine, readPlanFile } from 'shopify-sync'
import { assertCode } from './helpers.mjs'

test('a Rust panic becomes a ShopifySyncError with code SHOPIFY_INTERNAL', async () => {
  const e = await assertCode(() => sync._panic('on purpose'), 'SHOPIFY_INTERNAL', /on purpose/)
  assert.equal(e.kind, null)
  assert.equal(e.retryable, false)
  assert.ok(e instanceof sync.ShopifySyncError)
  // The process is still alive and the module still works.
  assert.equal(sync.computeStatus({}).state, 'not_synced')
})

test('ShopifySyncError is the same class for ESM and CommonJS consumers', () => {
  const require = createRequire(import.meta.url)
  const cjs = require('shopify-sync')
  assert.equal(cjs.ShopifySyncError, sync.ShopifySyncError)
  try {
    cjs.computeStatus({ bad: 1 })
    assert.fail('no error')
  } catch (e) {
    assert.ok(e instanceof sync.ShopifySyncError)
    assert.equal(e.code, 'SHOPIFY_INVALID_INPUT')
    assert.equal(e.kind, 'invalid_input')
    assert.equal(e.retryable, false)
    assert.ok(e.stack.includes('ShopifySyncError'))
  }
})

test('an unknown kind for _makeError is itself SHOPIFY_INVALID_INPUT', async () => {
  await assertCode(() => sync._makeError('nope', 'x'), 'SHOPIFY_INVALID_INPUT', /unknown error kind/)
})

test('users can construct and branch on ShopifySyncError', () => {
  const e = new sync.ShopifySyncError('custom', { code: 'SHOPIFY_AUTH', kind: 'auth' })
  assert.equal(e.code, 'SHOPIFY_AUTH')
  assert.equal(e.retryable, false)
  assert.deepEqual(e.userErrors, [])
})

test('arguments of the wrong JS type are SHOPIFY_INVALID_INPUT too, with the napi error as cause', async () => {
  const store = ChangeStore.memory()
  const client = new ShopifyClient({ endpoint: 'http://127.0.0.1:9', accessToken: 'token' })
  const cases = [
    [() => store.plan(5), 'StringExpected'],
    [() => store.setCheckpoint('only-a-name'), 'StringExpected'],
    [() => readPlanFile(3), 'StringExpected'],
    [() => client.graphql(42), 'StringExpected'],
    [() => client.graphql('{ shop { name } }', null, { signal: 'soon' }), 'InvalidArg'],
    [() => new SyncEngine(store, store), 'InvalidArg'],
    [() => ChangeStore.open(7), undefined],
  ]
  for (const [call, status] of cases) {
    const e = await assertCode(call, 'SHOPIFY_INVALID_INPUT')
    assert.ok(e instanceof ShopifySyncError)
    assert.equal(e.kind, 'invalid_input')
    assert.equal(e.retryable, false)
    if (status) assert.equal(e.cause.code, status, String(e))
  }
  // The classes stay the classes: instanceof, statics and the instances' methods.
  assert.ok(store instanceof ChangeStore)
  assert.ok(client instanceof ShopifyClient)
  assert.equal(typeof ChangeStore.memory, 'function')
  assert.deepEqual(await store.changes(), [])
})
