#!/usr/bin/env node
// Checks TOON documents produced by sysgate against the reference decoder, @toon-format/toon.
//
//   node tests/toon/check.mjs PAIRS.jsonl        one {"json": <value>, "toon": "<document>"} per line
//   node tests/toon/check.mjs - < PAIRS.jsonl    the same, from stdin
//   node tests/toon/check.mjs VALUE.json DOC.toon
//   node tests/toon/check.mjs --any-key-order ...  the same, object keys compared as sets
//
// Each document is decoded in the reference's default strict mode and deep-compared with its JSON
// value (same types, numbers by ===, same array lengths, same object keys in the same order).
// With --any-key-order the keys may come in another order (sysgate's text blocks put fields in
// a display order while `structuredContent`, as a client's JSON parser sees it, is alphabetical).
// Exit status: 0 all equal, 1 a mismatch or decode error (each one reported), 2 bad usage or input.
//
// The decoder is imported from $TOON_MODULE when set (a file path or a package specifier),
// otherwise as '@toon-format/toon' resolved from this file, i.e. installed at the repository root:
//   npm install --no-save @toon-format/toon@4.4.0
// `cargo test --test toon_reference -- --ignored` generates the pairs and runs this script.

import { readFileSync } from 'node:fs'
import { isAbsolute, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'

const usage = 'usage: check.mjs [--any-key-order] PAIRS.jsonl | - | VALUE.json DOC.toon'

function fail(code, message) {
  process.stderr.write(message + '\n')
  process.exit(code)
}

async function loadToon() {
  const spec = process.env.TOON_MODULE
  const looksLikePath = spec && (spec.startsWith('.') || isAbsolute(spec))
  try {
    if (!spec) return await import('@toon-format/toon')
    return await import(looksLikePath ? pathToFileURL(resolve(spec)).href : spec)
  } catch (e) {
    fail(
      2,
      `check.mjs: cannot load the TOON reference (${spec ?? '@toon-format/toon'}): ${e.message}\n` +
        'install it at the repository root (npm install --no-save @toon-format/toon@4.4.0) or set TOON_MODULE',
    )
  }
}

const kind = (v) => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v)

// The first difference between `want` and `got`, as a message, or null when they are equal.
function difference(want, got, path = '$') {
  if (kind(want) !== kind(got)) return `${path}: expected ${kind(want)} ${show(want)}, got ${kind(got)} ${show(got)}`
  if (kind(want) === 'array') {
    if (want.length !== got.length) return `${path}: expected ${want.length} items, got ${got.length}`
    for (let i = 0; i < want.length; i++) {
      const d = difference(want[i], got[i], `${path}[${i}]`)
      if (d) return d
    }
    return null
  }
  if (kind(want) === 'object') {
    const wk = Object.keys(want)
    const gk = Object.keys(got)
    if (anyKeyOrder) {
      wk.sort()
      gk.sort()
    }
    if (wk.length !== gk.length || wk.some((k, i) => k !== gk[i])) {
      return `${path}: expected keys ${show(wk)}, got ${show(gk)}`
    }
    for (const k of wk) {
      const d = difference(want[k], got[k], `${path}[${JSON.stringify(k)}]`)
      if (d) return d
    }
    return null
  }
  return want === got ? null : `${path}: expected ${show(want)}, got ${show(got)}`
}

function show(v) {
  const s = JSON.stringify(v) ?? String(v)
  return s.length > 120 ? s.slice(0, 117) + '...' : s
}

function readInput(file) {
  try {
    return readFileSync(file === '-' ? 0 : file, 'utf8')
  } catch (e) {
    fail(2, `check.mjs: cannot read ${file}: ${e.message}`)
  }
}

function parseJson(text, where) {
  try {
    return JSON.parse(text)
  } catch (e) {
    fail(2, `check.mjs: ${where}: not JSON: ${e.message}`)
  }
}

const args = process.argv.slice(2)
const anyKeyOrder = args[0] === '--any-key-order'
if (anyKeyOrder) args.shift()
let cases
if (args.length === 1) {
  cases = readInput(args[0])
    .split('\n')
    .map((line, i) => [line, i + 1])
    .filter(([line]) => line.trim() !== '')
    .map(([line, n]) => {
      const pair = parseJson(line, `${args[0]} line ${n}`)
      if (typeof pair !== 'object' || pair === null || !('json' in pair) || typeof pair.toon !== 'string') {
        fail(2, `check.mjs: ${args[0]} line ${n}: expected {"json": ..., "toon": "..."}`)
      }
      return { where: `line ${n}`, json: pair.json, toon: pair.toon }
    })
} else if (args.length === 2) {
  cases = [{ where: args[1], json: parseJson(readInput(args[0]), args[0]), toon: readInput(args[1]) }]
} else {
  fail(2, usage)
}

const { decode, encode } = await loadToon()
let failures = 0
let sameAsReference = 0
for (const c of cases) {
  let problem
  try {
    problem = difference(c.json, decode(c.toon))
  } catch (e) {
    problem = `decode error: ${e.message}`
  }
  if (problem) {
    failures++
    if (failures <= 20) {
      process.stderr.write(`MISMATCH ${c.where}: ${problem}\n  json: ${show(c.json)}\n  toon: ${show(c.toon)}\n`)
    }
  }
  try {
    if (encode(c.json) === c.toon) sameAsReference++
  } catch {
    // The reference encoder's opinion is informational only.
  }
}
process.stdout.write(
  `check.mjs: ${cases.length} documents, ${cases.length - failures} decode to their JSON, ` +
    `${sameAsReference} byte-identical to the reference encoder\n`,
)
process.exit(failures === 0 ? 0 : 1)
