// The package: ESM and CommonJS entries export the same objects; the version matches;
// the per-platform packages of the prebuilt binaries; what `npm pack` ships.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { readFileSync, readdirSync } from 'node:fs'
import { execFileSync } from 'node:child_process'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
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

// Prebuilt binaries: one npm package per napi target (npm/<platform>/, made by
// `napi create-npm-dirs`), which `napi prepublish -t npm` (the `prepublishOnly` script)
// adds to optionalDependencies at publish time and the loader in native.js requires.
test('per-platform packages: an npm/ dir per napi target, named and constrained as napi-rs resolves them', async () => {
  const { parseTriple } = await import('@napi-rs/cli')
  const root = new URL('../', import.meta.url)
  const pkg = JSON.parse(readFileSync(new URL('package.json', root), 'utf8'))
  const loader = readFileSync(new URL('native.js', root), 'utf8')
  const { binaryName, packageName, targets } = pkg.napi
  assert.ok(targets.length >= 1)
  const expected = new Map()
  for (const triple of targets) {
    const t = parseTriple(triple)
    const dir = new URL(`npm/${t.platformArchABI}/`, root)
    const sub = JSON.parse(readFileSync(new URL('package.json', dir), 'utf8'))
    const file = `${binaryName}.${t.platformArchABI}.node`
    assert.equal(sub.name, `${packageName}-${t.platformArchABI}`, triple)
    assert.equal(sub.version, pkg.version, `${triple}: the root package's version`)
    assert.deepEqual(sub.os, [t.platform], triple)
    assert.deepEqual(sub.cpu, [t.arch], triple)
    // glibc and musl builds of one platform must not both install.
    if (t.platform === 'linux') assert.deepEqual(sub.libc, [t.abi === 'musl' ? 'musl' : 'glibc'], triple)
    else assert.equal(sub.libc, undefined, triple)
    assert.equal(sub.main, file)
    assert.deepEqual(sub.files, [file])
    assert.equal(sub.license, pkg.license)
    // The loader requires this package when the local binary is absent.
    assert.ok(loader.includes(`require('${sub.name}')`), `native.js loads ${sub.name}`)
    expected.set(sub.name, pkg.version)
  }
  // No npm/ dir without its target.
  const dirs = readdirSync(new URL('npm/', root)).sort()
  assert.deepEqual(dirs, targets.map((t) => parseTriple(t).platformArchABI).sort())
  // optionalDependencies are written by `napi prepublish` when publishing, never
  // committed: the platform packages of an unpublished version do not exist on the
  // registry, and `npm ci` would fail on them. If present, they match the targets.
  assert.equal(pkg.scripts.prepublishOnly, 'napi prepublish -t npm')
  const optional = pkg.optionalDependencies ?? {}
  for (const [name, version] of Object.entries(optional)) {
    if (name.startsWith(`${packageName}-`)) assert.equal(expected.get(name), version, name)
  }
  const lock = JSON.parse(readFileSync(new URL('package-lock.json', root), 'utf8'))
  for (const name of expected.keys()) {
    assert.equal(lock.packages[`node_modules/${name}`], undefined, `package-lock.json does not pin ${name}`)
  }
})

test('npm pack: the package holds the entries, declarations and loader, not the binaries or npm/', () => {
  const root = fileURLToPath(new URL('../', import.meta.url))
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))
  const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: root, encoding: 'utf8' })
  const [packed] = JSON.parse(out)
  assert.equal(packed.name, pkg.name)
  assert.equal(packed.version, pkg.version)
  const files = packed.files.map((f) => f.path).sort()
  for (const f of [...pkg.files, 'package.json', 'README.md']) assert.ok(files.includes(f), `packs ${f}`)
  assert.deepEqual(files.filter((f) => f.endsWith('.node') || f.startsWith('npm/') || f.startsWith('src/') || f.startsWith('test/')), [])
  // Every file the exports map points to is packed.
  for (const target of Object.values(pkg.exports['.'])) assert.ok(files.includes(target.replace(/^\.\//, '')), target)
})
