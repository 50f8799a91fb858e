// ESM entry point: the same objects as the CommonJS one (one copy of every class).
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const sdk = require('./index.js')

export const {
  ACT,
  SigningKey,
  ManualClock,
  guard,
  verifyAuditLog,
  REASONS,
  GENESIS_HASH,
  ActError,
  PolicyError,
  TokenError,
  KeyError,
  ConfigError,
  SnapshotError,
  IoError,
  InternalError,
  AuditChainError,
  CounterStoreError,
  EndpointError,
  ApprovalDeniedError,
  ApprovalTimeoutError,
  STATUS_FIELDS,
  DeniedError,
  ApprovalRequiredError,
} = sdk
export default sdk
