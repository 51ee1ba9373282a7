// Bundles the three Node entry points of Layer Lens with esbuild (tsc only type-checks; see tsconfig.json):
//   client/src/extension.ts → dist/client.js   (VS Code extension host; `vscode` is provided at run time)
//   server/src/server.ts    → dist/server.js   (language server, started by the client over IPC, or `--stdio`)
//   server/src/cli.ts       → dist/cli.js      (`layerlens` from a terminal; bin/layerlens.js prefers it)
//   server/src/context/hashWorker.ts → dist/hashWorker.js  (hashing threads of the server and the CLI)
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

/**
 * Start-up time: dependencies dockerode and docker-modem `require` at load time but only need for features
 * Layer Lens rarely or never uses. Bundled as they are, every `layerlens analyze` and every language-server start
 * would initialise ssh2 (271 KiB, only for `ssh://` hosts), @grpc/grpc-js + @grpc/proto-loader (~280 KiB, only for
 * dockerode's BuildKit session in its own buildImage) and tar-fs + @balena/dockerignore (only for dockerode's
 * context packing in its own buildImage): ~0.2 s of CPU before the first request. Each such import is replaced by a
 * shim that `require`s the real module on first use — esbuild initialises a bundled CommonJS module only when its
 * `require` runs, so the module's code stays in the bundle (nothing is left out) but runs only when needed.
 * `call`: the module exports a function (forwarded, `this` and arguments kept); `methods`: the importer only uses
 * these properties of the exported object. Keyed by importer (a path under node_modules) and specifier.
 */
const lazyImports = [
  { importer: 'docker-modem/lib/modem.js', spec: './ssh', shape: { call: true } },
  { importer: 'dockerode/lib/docker.js', spec: './session', shape: { call: true } },
  { importer: 'dockerode/lib/util.js', spec: 'tar-fs', shape: { methods: ['pack'] } },
  { importer: 'dockerode/lib/util.js', spec: '@balena/dockerignore', shape: { call: true } },
];

/** The esbuild plugin that applies lazyImports (see there). */
const lazyImportPlugin = {
  name: 'lazy-imports',
  setup(build) {
    const bySpec = new Map(lazyImports.map((l) => [l.spec, l]));
    // An entry that stopped matching (a dependency moved its files) would silently cost the start-up time again.
    const applied = new Set();
    build.onEnd((result) => {
      if (result.errors.length > 0 || build.initialOptions.entryPoints.some((e) => !e.startsWith('server/'))) return;
      const unused = lazyImports.filter((l) => !applied.has(l));
      if (unused.length > 0) throw new Error(`lazy-imports: no longer found: ${unused.map((l) => `${l.spec} in ${l.importer}`).join(', ')}`);
    });
    const filter = new RegExp(`^(${lazyImports.map((l) => l.spec.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')).join('|')})$`);
    build.onResolve({ filter }, async (args) => {
      const l = bySpec.get(args.path);
      if (args.pluginData === 'lazy-real' || !l || args.namespace !== 'file' || !args.importer.split(path.sep).join('/').endsWith(`node_modules/${l.importer}`)) return undefined;
      // The real module, resolved as the importer would (the shim's own require must not come back here).
      const real = await build.resolve(args.path, { kind: args.kind, resolveDir: args.resolveDir, pluginData: 'lazy-real' });
      if (real.errors.length > 0) return { errors: real.errors };
      applied.add(l);
      return { path: real.path, namespace: 'lazy-import', pluginData: l.shape };
    });
    build.onLoad({ filter: /.*/, namespace: 'lazy-import' }, (args) => {
      const shape = args.pluginData;
      const load = `let m; const load = () => (m ??= require(${JSON.stringify(args.path)}));`;
      const body = shape.call
        ? 'module.exports = function () { return load().apply(this, arguments); };'
        : `module.exports = {${shape.methods.map((k) => ` ${k}: (...a) => load().${k}(...a)`).join(',')} };`;
      return { contents: `${load}\n${body}\n`, loader: 'js', resolveDir: path.dirname(args.path) };
    });
  },
};

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
  // The hashing threads the server and the CLI start (context/hashPool.ts looks for it beside itself, i.e. in dist/).
  { name: 'hashWorker', entry: 'server/src/context/hashWorker.ts', outfile: 'dist/hashWorker.js', target: 'node20', lazyImports: false },
  // The webview runs in VS Code's Chromium: no Node, no `vscode`. The only thing the panel's CSP lets it load.
  { name: 'webview', entry: 'webview/src/main.ts', outfile: 'dist/webview/explorer.js', target: 'chrome108', platform: 'browser', format: 'iife' },
  { name: 'webview', entry: 'webview/src/explorer.css', outfile: 'dist/webview/explorer.css', target: 'chrome108', platform: 'browser' },
].filter((e) => only === null || only.has(e.name) || (e.name === 'hashWorker' && (only.has('server') || only.has('cli'))));

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
    plugins: e.platform === 'browser' || e.lazyImports === false ? [] : [lazyImportPlugin],
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
