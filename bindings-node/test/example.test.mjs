// examples/node/dashboard.ts, compiled with the package's declarations and run against
// the simulator: the gradual adoption works, not only type-checks.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const pkg = fileURLToPath(new URL('..', import.meta.url))

test('the dashboard example runs: status column, pull progress, apply events, executor', () => {
  // Inside the package, so that `import ... from 'shopify-sync'` resolves to it by name.
  const out = join(pkg, '.example-out')
  rmSync(out, { recursive: true, force: true })
  mkdirSync(out)
  const tsc = join(pkg, 'node_modules', 'typescript', 'bin', 'tsc')
  execFileSync(process.execPath, [tsc, '-p', join(pkg, '..', 'examples', 'node', 'tsconfig.json'), '--noEmit', 'false', '--outDir', out])
  const env = { ...process.env }
  for (const k of ['SHOPIFY_SHOP', 'SHOPIFY_ACCESS_TOKEN', 'SHOPIFY_ENDPOINT']) delete env[k]
  const stdout = execFileSync(process.execPath, [join(out, 'dashboard.js')], { cwd: pkg, env, encoding: 'utf8' })
  rmSync(out, { recursive: true, force: true })
  assert.match(stdout, /row 1: not_synced/)
  assert.match(stdout, /pulled 50\/50 products/)
  assert.match(stdout, /pulled 50 products/)
  assert.match(stdout, /applied 1, stale 0, failed 0/)
  assert.match(stdout, /finished: 5 succeeded, 0 failed/)
})
