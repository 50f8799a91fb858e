'use strict'
// Argument checks shared by index.js and the framework guards (types only; values
// are the core's to judge). Internal: not part of the package's public API.

const { ConfigError } = require('./errors.js')

function describe(v) {
  if (v === null) return 'null'
  if (Array.isArray(v)) return 'an array'
  return typeof v === 'object' ? 'an object' : `${typeof v} ${String(v).slice(0, 40)}`
}

function bad(name, expected, got) {
  return new ConfigError(`\`${name}\` must be ${expected}, got ${describe(got)}`, 'invalid_argument')
}

function isPlainObject(v) {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return false
  const p = Object.getPrototypeOf(v)
  return p === Object.prototype || p === null
}

/** An options object whose keys are all in `allowed`; anything else (undefined too) is a ConfigError. */
function knownOptions(name, v, allowed) {
  if (!isPlainObject(v)) throw bad(name, 'an object', v)
  for (const k of Object.keys(v)) {
    if (!allowed.includes(k)) {
      throw new ConfigError(`unknown option \`${k}\` in ${name} (known: ${allowed.join(', ')})`, 'invalid_argument')
    }
  }
  return v
}

module.exports = { describe, bad, isPlainObject, knownOptions }
