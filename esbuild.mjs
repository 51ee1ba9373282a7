// Bundles the three Node entry points of Layer Lens with esbuild (tsc only type-checks; see tsconfig.json):
//   client/src/extension.ts → dist/client.js   (VS Code extension host; `vscode` is provided at run time)
//   server/src/server.ts    → dist/server.js   (language server, started by the client over IPC, or `--stdio`)
//   server/src/cli.ts       → dist/cli.js      (`layerlens` from a terminal; bin/layerlens.js prefers it)
//   webview/src/main.ts     → dist/webview/explorer.js  (Layer Explorer webview: browser, IIFE, toolkit bundled in)
//   webview/src/explorer.css → dist/webview/explorer.css
//
// Usage: node esbuild.mjs [--production] [--watch] [--only=client,server,cli]
//   --production  minified, no source maps (what `npm run package` puts in the .vsix)
//   default       readable output with linked source maps, for debugging
//
// Native optional parts: dockerode → docker-modem → ssh2 tries `require('cpu-features')` and
// `require('./crypto/build/Release/sshcrypto.node')` inside try/catch and falls back to pure JavaScript when they
// are absent. Both are kept external so that (a) esbuild never has to load a .node file (which exists only where
// npm ran ssh2's install script) and (b) at run time the require fails inside ssh2's try/catch and the pure-JS path
// is used. `ssh://` hosts therefore work from the bundle without any native module.
//
// Data files: dockerode loads two protobuf schemas at run time from `path.resolve(__dirname, 'proto', …)` — the
// BuildKit session's auth.proto (buildImage with `version: '2'`) and buildkit_status.proto (BuildKit progress).
// In a bundle `__dirname` is dist/, so they are copied to dist/proto/ (and .vscodeignore ships them).
import * as esbuild from 'esbuild';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const production = args.includes('--production');
const watch = args.includes('--watch');
const onlyArg = args.find((a) => a.startsWith('--only='));
const only = onlyArg ? new Set(onlyArg.slice('--only='.length).split(',')) : null;

/** Files bundled code reads from its own folder at run time: source (in node_modules) → destination under dist/. */
const dataFiles = [
  { from: 'node_modules/dockerode/lib/proto/auth.proto', to: 'dist/proto/auth.proto' },
  { from: 'node_modules/dockerode/lib/proto/buildkit_status.proto', to: 'dist/proto/buildkit_status.proto' },
];

/** Modules that must stay `require()` calls in the output. */
const nativeOptional = ['cpu-features', '*.node'];

const entries = [
  {
    name: 'client',
    entry: 'client/src/extension.ts',
    outfile: 'dist/client.js',
    // engines.vscode ^1.91 (what vscode-languageclient 11 requires): its extension host (Electron 29) runs Node 20.
    target: 'node20',
    external: ['vscode'],
  },
  // The server runs in VS Code's Node (20 from 1.91 on), or under any editor's `node` (package.json engines.node >=20).
  { name: 'server', entry: 'server/src/server.ts', outfile: 'dist/server.js', target: 'node20', external: nativeOptional },
  { name: 'cli', entry: 'server/src/cli.ts', outfile: 'dist/cli.js', target: 'node20', external: nativeOptional },
  // The webview runs in VS Code's Chromium: no Node, no `vscode`. The only thing the panel's CSP lets it load.
  { name: 'webview', entry: 'webview/src/main.ts', outfile: 'dist/webview/explorer.js', target: 'chrome108', platform: 'browser', format: 'iife' },
  { name: 'webview', entry: 'webview/src/explorer.css', outfile: 'dist/webview/explorer.css', target: 'chrome108', platform: 'browser' },
].filter((e) => only === null || only.has(e.name));

function options(e) {
  return {
    absWorkingDir: root,
    entryPoints: [e.entry],
    outfile: e.outfile,
    bundle: true,
    platform: e.platform ?? 'node',
    format: e.platform === 'browser' ? e.format : 'cjs',
    target: e.target,
    external: e.external,
    minify: production,
    sourcemap: production ? false : 'linked',
    // Keeps class/function names in stack traces and logs even when minified.
    keepNames: true,
    legalComments: production ? 'none' : 'inline',
    metafile: true,
    logLevel: 'warning',
    define: { 'process.env.NODE_ENV': production ? '"production"' : '"development"' },
  };
}

function kib(bytes) {
  return `${(bytes / 1024).toFixed(1)} KiB`;
}

async function main() {
  const missing = entries.filter((e) => !fs.existsSync(path.join(root, e.entry)));
  if (missing.length > 0) {
    console.error(`esbuild.mjs: missing entry point(s): ${missing.map((e) => e.entry).join(', ')}`);
    process.exit(1);
  }
  // A production bundle must not ship stale source maps from an earlier debug bundle.
  if (production) {
    for (const e of entries) fs.rmSync(path.join(root, `${e.outfile}.map`), { force: true });
  }
  if (watch) {
    const contexts = await Promise.all(entries.map((e) => esbuild.context(options(e))));
    await Promise.all(contexts.map((c) => c.watch()));
    console.log(`esbuild.mjs: watching ${entries.map((e) => e.entry).join(', ')}`);
    return;
  }
  const started = Date.now();
  for (const f of dataFiles) {
    fs.mkdirSync(path.dirname(path.join(root, f.to)), { recursive: true });
    fs.copyFileSync(path.join(root, f.from), path.join(root, f.to));
  }
  const results = await Promise.all(entries.map((e) => esbuild.build(options(e))));
  for (const [i, r] of results.entries()) {
    const out = r.metafile.outputs[entries[i].outfile];
    console.log(`  ${entries[i].outfile.padEnd(16)} ${kib(out.bytes).padStart(11)}  (${entries[i].entry})`);
  }
  console.log(`esbuild.mjs: ${production ? 'production' : 'development'} bundle in ${Date.now() - started} ms`);
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
