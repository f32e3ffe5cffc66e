// Shared helpers of the test suite: the shared vectors of tests/vectors/.
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import assert from 'node:assert/strict'

export const VECTORS = fileURLToPath(new URL('../../tests/vectors/', import.meta.url))

/** A vectors file, with its outline checked (version, about, unique case names). */
export function loadVectors(file) {
  const data = JSON.parse(readFileSync(VECTORS + file, 'utf8'))
  assert.equal(data.version, 1, `${file}: version`)
  assert.ok(Array.isArray(data.about), `${file}: about`)
  const names = new Set()
  for (const c of data.cases) {
    assert.equal(typeof c.name, 'string')
    assert.ok(!names.has(c.name), `${file}: duplicate case name ${c.name}`)
    names.add(c.name)
  }
  return data
}

/** Assert that `fn` throws (or rejects with) a ShopifySyncError with `code`. */
export async function assertCode(fn, code, message) {
  let caught
  try {
    await fn()
  } catch (e) {
    caught = e
  }
  assert.ok(caught, `expected an error with code ${code}`)
  assert.equal(caught.name, 'ShopifySyncError', String(caught))
  assert.equal(caught.code, code, String(caught))
  if (message) assert.match(caught.message, message)
  return caught
}
