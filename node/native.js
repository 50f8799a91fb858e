'use strict'
// Loads the native addon (crate act-node, bindings/node). In order:
//   1. ACT_SDK_NATIVE, a path to an addon file (tests, unusual setups);
//   2. act-sdk.<platform>.node next to this file: a build from source (`npm run build` in a
//      clone of the repository writes it there);
//   3. the platform package @act-sdk/<platform> (napi-rs layout): npm installs the one matching
//      this machine from act-sdk's optionalDependencies and skips the others (their package.json
//      `os`, `cpu` and `libc` fields say where they run).

const { existsSync } = require('node:fs')
const { join } = require('node:path')

/** Platforms with a published addon package (node/npm/<platform>/), `<os>-<cpu>[-<libc>]`. */
const SUPPORTED = ['linux-x64-gnu', 'linux-arm64-gnu', 'linux-x64-musl']

function libc() {
  if (process.platform !== 'linux') return ''
  const report = typeof process.report?.getReport === 'function' ? process.report.getReport() : null
  return report?.header?.glibcVersionRuntime ? '-gnu' : '-musl'
}

/** This machine's platform name, e.g. `linux-x64-gnu`. */
function platform() {
  return `${process.platform}-${process.arch}${libc()}`
}

/** The file name of the addon for this platform, e.g. `act-sdk.linux-x64-gnu.node`. */
function addonName() {
  return `act-sdk.${platform()}.node`
}

/** The npm package that carries this platform's addon, e.g. `@act-sdk/linux-x64-gnu`. */
function packageName(name = platform()) {
  return `@act-sdk/${name}`
}

function load() {
  const override = process.env.ACT_SDK_NATIVE
  if (override) return require(override)
  const local = join(__dirname, addonName())
  if (existsSync(local)) return require(local)
  const pkg = packageName()
  try {
    return require(pkg)
  } catch (err) {
    if (err?.code !== 'MODULE_NOT_FOUND' || !String(err.message).includes(pkg)) throw err
    const supported = SUPPORTED.map((p) => packageName(p)).join(', ')
    const advice = SUPPORTED.includes(platform())
      ? `reinstall act-sdk without --omit=optional / --no-optional (npm installs ${pkg} as an optional dependency), or add ${pkg} to your dependencies`
      : `there is no prebuilt addon for ${platform()}; build act-sdk from source (a clone of the repository: \`npm run build\` in node/, needs Rust) or set ACT_SDK_NATIVE to an addon file`
    throw new Error(
      `act-sdk: the native addon package ${pkg} is not installed; ${advice}. Prebuilt packages: ${supported}`,
      { cause: err },
    )
  }
}

module.exports = { load, addonName, packageName, platform, SUPPORTED }
