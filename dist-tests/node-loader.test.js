'use strict'
// The installed act-sdk package (ACT_SDK_PACKAGE) without its platform package: requiring it must
// fail with an error that names the missing package and every prebuilt one (node/native.js).
// Run by node/run_tests.sh after `npm install --omit=optional` of the main tarball alone.

const test = require('node:test')
const assert = require('node:assert/strict')
const path = require('node:path')

const dir = process.env.ACT_SDK_PACKAGE
const { platform, packageName, SUPPORTED } = require(path.join(dir, 'native.js'))

test('without its platform package, requiring act-sdk names the missing package and the supported list', () => {
  assert.throws(
    () => require(dir),
    (err) => {
      assert.match(err.message, new RegExp(`${packageName(platform())} is not installed`))
      for (const p of SUPPORTED) assert.ok(err.message.includes(packageName(p)), `${p} in: ${err.message}`)
      return true
    },
  )
})
