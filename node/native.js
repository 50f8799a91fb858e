'use strict'
// Loads the native addon built from `bindings/node` (see scripts/build.mjs).

const { existsSync } = require('node:fs')
const { join } = require('node:path')

function libc() {
  if (process.platform !== 'linux') return ''
  const report = typeof process.report?.getReport === 'function' ? process.report.getReport() : null
  return report?.header?.glibcVersionRuntime ? '-gnu' : '-musl'
}

/** The file name the build writes for this platform, e.g. `act-sdk.linux-x64-gnu.node`. */
function addonName() {
  return `act-sdk.${process.platform}-${process.arch}${libc()}.node`
}

function load() {
  const override = process.env.ACT_SDK_NATIVE
  const path = override || join(__dirname, addonName())
  if (!override && !existsSync(path)) {
    throw new Error(
      `act-sdk: the native addon ${addonName()} is missing; build it with \`npm run build\` in the package folder`,
    )
  }
  return require(path)
}

module.exports = { load, addonName }
