// The TypeScript declarations cannot drift from the native module:
//
// 1. every name native.d.ts declares exists in the built module, and every name the
//    module exports is declared (classes with their methods and getters, too);
// 2. in a git checkout, `npm run build` (which regenerates native.d.ts and native.js
//    from the Rust sources) must leave the committed files unchanged.
import { readFileSync } from 'node:fs'
import { execFileSync } from 'node:child_process'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'

const here = fileURLToPath(new URL('..', import.meta.url))
const require = createRequire(import.meta.url)
const native = require('../native.js')
const dts = readFileSync(new URL('../native.d.ts', import.meta.url), 'utf8')
const problems = []

// Top-level declarations.
const declared = new Set()
for (const m of dts.matchAll(/^export declare (?:function|const|class|enum|type) (\w+)/gm)) {
  declared.add(m[1])
}
const runtime = new Set(Object.keys(native))
// napi-rs declares `ExternalObject<T>` (the type of opaque native handles) as a class;
// it is a type only, never exported.
declared.delete('ExternalObject')
for (const name of declared) {
  if (!runtime.has(name)) problems.push(`declared in native.d.ts but not exported: ${name}`)
}
for (const name of runtime) {
  if (!declared.has(name)) problems.push(`exported by the native module but not declared: ${name}`)
}

// Class members: `export declare class X { ... }` blocks.
for (const m of dts.matchAll(/^export declare class (\w+)[^{]*\{([\s\S]*?)^\}/gm)) {
  const [, name, body] = m
  const cls = native[name]
  if (typeof cls !== 'function') continue
  const members = new Set()
  for (const mm of body.matchAll(/^ {2}(?:static )?(?:get |set )?(\w+)\s*[(<:]/gm)) {
    if (mm[1] !== 'constructor') members.add(mm[1])
  }
  const actual = new Set([
    ...Object.getOwnPropertyNames(cls.prototype),
    ...Object.getOwnPropertyNames(cls),
  ])
  for (const member of members) {
    if (!actual.has(member)) problems.push(`declared but missing at runtime: ${name}.${member}`)
  }
  const skip = new Set(['constructor', 'length', 'name', 'prototype', 'arguments', 'caller'])
  for (const member of actual) {
    if (!skip.has(member) && !members.has(member)) {
      problems.push(`present at runtime but not declared: ${name}.${member}`)
    }
  }
}

// The committed declarations are what the build generates.
let tracked = false
try {
  execFileSync('git', ['ls-files', '--error-unmatch', 'native.d.ts', 'native.js'], {
    cwd: here,
    stdio: 'ignore',
  })
  tracked = true
} catch {
  console.log('check-dts: native.d.ts is not tracked by git here; drift check skipped')
}
if (tracked) {
  try {
    execFileSync('git', ['diff', '--exit-code', '--stat', '--', 'native.d.ts', 'native.js'], {
      cwd: here,
      stdio: 'inherit',
    })
  } catch {
    problems.push(
      'native.d.ts / native.js differ from the committed files: run `npm run build` and commit them',
    )
  }
}

if (problems.length) {
  console.error(`check-dts: ${problems.length} problem(s)\n  ` + problems.join('\n  '))
  process.exit(1)
}
console.log(`check-dts: ${declared.size} declarations match the native module`)
