// The docs cannot rot: every code block of docs/node/*.md and of the Node
// guard pages that is marked `<!-- file: node/... -->` must equal that file,
// byte for byte, and those files are what the guard tests import and what
// this test runs. Also: the integration modules load without any framework
// package (they take the framework's objects from the caller).

import test from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { verifyAuditLog } from 'act-sdk'

const NODE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..')
const REPO = path.dirname(NODE)
const EXAMPLES = path.join(NODE, 'integrations', 'examples')
const PAGES = [
  'docs/node/getting-started.md',
  'docs/guards/node-mcp.md',
  'docs/guards/vercel-ai-sdk.md',
  'docs/guards/openai-agents-js.md',
]

/** `[file, code]` of every fenced block right after a `<!-- file: ... -->` marker. */
function markedBlocks(markdown) {
  const re = /<!-- file: (\S+) -->\n```[a-z]*\n([\s\S]*?)```\n/g
  return [...markdown.matchAll(re)].map((m) => [m[1], m[2]])
}

for (const page of PAGES) {
  test(`${page}: its marked code blocks are the files the tests run`, () => {
    const md = fs.readFileSync(path.join(REPO, page), 'utf8')
    const blocks = markedBlocks(md)
    assert.ok(blocks.length > 0, `${page} has no <!-- file: ... --> code block`)
    assert.equal(
      blocks.length,
      (md.match(/<!-- file:/g) ?? []).length,
      `${page}: a marker is not followed by a fenced block`,
    )
    for (const [file, code] of blocks) {
      assert.equal(
        code,
        fs.readFileSync(path.join(REPO, file), 'utf8'),
        `${page}: the block for ${file} differs from the file`,
      )
    }
  })
}

test('getting started runs as the page says: allowed, denied with the reason, approved by a human; the audit log verifies', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'act-getting-started-'))
  fs.copyFileSync(path.join(EXAMPLES, 'policies.yaml'), path.join(dir, 'policies.yaml'))
  const out = execFileSync(process.execPath, [path.join(EXAMPLES, 'getting-started.mjs')], {
    cwd: dir,
    encoding: 'utf8',
  })
  assert.deepEqual(out.trim().split('\n'), [
    'refunded 40 on order 1001',
    'denied: constraint_failed: constraint `maxAmount` failed: amount <= 500',
    'approval_required: amount > 100',
    'refunded 120 on order 1003',
  ])
  const log = fs.readFileSync(path.join(dir, 'audit.jsonl'), 'utf8')
  assert.equal(verifyAuditLog(log), 4)
  assert.deepEqual(
    log
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l).reason),
    ['allowed', 'constraint_failed', 'approval_required', 'approved'],
  )
  // The page shows the output; keep it in step with what ran.
  const md = fs.readFileSync(path.join(REPO, 'docs/node/getting-started.md'), 'utf8')
  assert.ok(md.includes(out.trim()), 'docs/node/getting-started.md shows other output than the example prints')
  fs.rmSync(dir, { recursive: true, force: true })
})

test('act-sdk and its integration modules load without any framework package', () => {
  // A child process in which requiring a framework package throws.
  const script = `
    const Module = require('module')
    const load = Module._load
    Module._load = function (request, ...rest) {
      if (/^(@modelcontextprotocol\\/|ai$|ai\\/|@openai\\/|zod)/.test(request)) throw new Error('framework loaded: ' + request)
      return load.call(this, request, ...rest)
    }
    for (const m of ['act-sdk', 'act-sdk/mcp', 'act-sdk/ai-sdk', 'act-sdk/openai-agents']) {
      const exp = require(m)
      process.stdout.write(m + ':' + Object.keys(exp).sort().slice(0, 3).join(',') + '\\n')
    }
  `
  const out = execFileSync(process.execPath, ['-e', script], { cwd: NODE, encoding: 'utf8' })
  assert.deepEqual(out.trim().split('\n'), [
    'act-sdk:ACT,ActError,ApprovalDeniedError',
    'act-sdk/mcp:registerTool',
    'act-sdk/ai-sdk:guardTools',
    'act-sdk/openai-agents:createGuard',
  ])
})
