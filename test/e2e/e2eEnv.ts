// Where the tools of the real-VS-Code end-to-end tests live, and whether their absence fails or skips a test.
// scripts/ensure-code-server.sh installs them; it resolves the same folder (keep the two in step).
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

export const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');
export const CODE_SERVER_VERSION = process.env['LAYERLENS_CODE_SERVER_VERSION'] || '4.139.1';
export const CHROMIUM = process.env['LAYERLENS_CHROMIUM'] || '/usr/bin/chromium';
/** Screenshots (gitignored), looked at by people and linked from the README. */
export const ARTIFACTS_DIR = path.join(REPO_ROOT, 'test-artifacts', 'e2e');

export function e2eHome(): string {
  const explicit = process.env['LAYERLENS_E2E_HOME'];
  if (explicit) return explicit;
  return process.getuid?.() === 0 ? '/opt/layerlens-e2e' : path.join(os.homedir(), '.cache', 'layerlens-e2e');
}

export interface E2ETools {
  /** Node 24, which code-server 4.139 needs. */
  readonly node: string;
  /** code-server's entry script, run with `node`. */
  readonly codeServerEntry: string;
  readonly chromium: string;
}

function envFlag(name: string): boolean {
  const v = process.env[name];
  return v !== undefined && v !== '' && v !== '0' && v.toLowerCase() !== 'false';
}

/** CI and LAYERLENS_REQUIRE_DAEMON turn a missing tool into a failure instead of a skip (same rule as the daemon). */
export function e2eRequired(): boolean {
  return envFlag('CI') || envFlag('LAYERLENS_REQUIRE_DAEMON');
}

/** The tools, or a sentence naming what is missing and how to get it. */
export function findTools(): E2ETools | string {
  const home = e2eHome();
  const node = path.join(home, 'node24', 'bin', 'node');
  const codeServerEntry = path.join(home, `code-server-${CODE_SERVER_VERSION}`, 'node_modules', 'code-server', 'out', 'node', 'entry.js');
  const missing: string[] = [];
  if (!isExecutable(node)) missing.push(`Node 24 (${node})`);
  if (!fs.existsSync(codeServerEntry)) missing.push(`code-server ${CODE_SERVER_VERSION} (${codeServerEntry})`);
  if (!isExecutable(CHROMIUM)) missing.push(`Chromium (${CHROMIUM})`);
  try {
    require.resolve('playwright-core', { paths: [REPO_ROOT] });
  } catch {
    missing.push('playwright-core (npm ci)');
  }
  if (missing.length > 0) return `missing ${missing.join(', ')}: run \`bash scripts/ensure-code-server.sh\``;
  return { node, codeServerEntry, chromium: CHROMIUM };
}

/**
 * In a `before` hook: returns the tools, or skips the suite (locally) / throws (CI, LAYERLENS_REQUIRE_DAEMON).
 */
export function requireTools(ctx: Mocha.Context): E2ETools {
  const found = findTools();
  if (typeof found !== 'string') return found;
  if (e2eRequired()) throw new Error(`${found} [failing, not skipping: CI/LAYERLENS_REQUIRE_DAEMON is set]`);
  console.log(`      (skipped: ${found})`);
  return ctx.skip();
}

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
