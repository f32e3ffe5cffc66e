// The package: ESM and CommonJS entries export the same objects; the version matches.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { readFileSync } from 'node:fs'
import * as esm from 'shopify-sync'
import esmDefault from 'shopify-sync'

const require = createRequire(import.meta.url)
const cjs = require('shopify-sync')

test('ESM and CommonJS consumers see the same exports, the very same objects', () => {
  const named = Object.keys(esm).filter((k) => k !== 'default').sort()
  assert.deepEqual(named, Object.keys(cjs).sort())
  for (const k of named) assert.equal(esm[k], cjs[k], k)
  assert.equal(esmDefault, cjs)
})

test('the native module version is the package version', () => {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'))
  assert.equal(cjs.VERSION, pkg.version)
  assert.match(cjs.DEFAULT_API_VERSION, /^\d{4}-\d{2}$/)
})
