#!/usr/bin/env node
'use strict';
// Runs the compiled sources in a checkout (`npm run build` keeps them current), else the bundle a package ships.
// A checkout may also hold an older bundle in dist/: the sources win so that it never shadows them.
const path = require('path');
const fs = require('fs');
const bundled = path.join(__dirname, '..', 'dist', 'cli.js');
const compiled = path.join(__dirname, '..', 'out', 'server', 'src', 'cli.js');
const useCompiled = fs.existsSync(compiled);
const entry = useCompiled ? compiled : bundled;
if (!fs.existsSync(entry)) {
  process.stderr.write('layerlens: not built yet: run `npm run build` first\n');
  process.exit(2);
}
const loaded = useCompiled ? loadPlain(entry) : loadWithCodeCache(bundled);
loaded.exports.main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    loaded.saveCodeCache();
  },
  (e) => { process.stderr.write(`layerlens: internal error: ${(e && e.stack) || e}\n`); process.exitCode = 1; },
);

/** A plain `require`, with nothing to save afterwards. */
function loadPlain(file) {
  return { exports: require(file), saveCodeCache: () => undefined };
}

/**
 * Loads the 1.7 MB bundle through V8's code cache. Compiling it is most of the CLI's start-up: ~150 ms of a run
 * whose whole analysis, with the hash cache warm, takes a few hundred more; with the cache ~50 ms (what Node 22's
 * module.enableCompileCache does; this also runs on Node 20). The cache sits beside the hash caches (same folder
 * rule as the engine's defaultCacheDir), is keyed by the bundle's identity and the Node version, and is written
 * after a run that had none, so it also holds the functions that run compiled. V8 rejects data that does not
 * belong to the source; any problem here just means the plain, uncached load.
 */
function loadWithCodeCache(file) {
  const vm = require('vm');
  const Module = require('module');
  const crypto = require('crypto');
  let script;
  let cacheFile = null;
  let hadCache = false;
  try {
    const source = fs.readFileSync(file, 'utf8');
    const st = fs.statSync(file);
    const key = crypto.createHash('sha256')
      .update([file, st.size, st.mtimeMs, process.version, process.arch].join('\0'))
      .digest('hex')
      .slice(0, 32);
    cacheFile = path.join(cacheRoot(), `cli-code-${key}.v8`);
    let cachedData;
    try {
      cachedData = fs.readFileSync(cacheFile);
    } catch {
      cachedData = undefined;
    }
    script = new vm.Script(Module.wrap(source), { filename: file, cachedData });
    hadCache = cachedData !== undefined && !script.cachedDataRejected;
  } catch {
    return loadPlain(file);
  }
  const mod = { exports: {} };
  script.runInThisContext().call(mod.exports, mod.exports, Module.createRequire(file), mod, file, path.dirname(file));
  return {
    exports: mod.exports,
    saveCodeCache: () => {
      if (hadCache) return;
      const tmp = `${cacheFile}.${process.pid}.tmp`;
      try {
        fs.mkdirSync(path.dirname(cacheFile), { recursive: true });
        fs.writeFileSync(tmp, script.createCachedData(), { mode: 0o600 });
        fs.renameSync(tmp, cacheFile);
      } catch {
        try { fs.rmSync(tmp, { force: true }); } catch { /* ignore */ }
      }
    },
  };
}

/** `$LAYERLENS_CACHE_DIR`, else `$XDG_CACHE_HOME/layerlens`, else `~/.cache/layerlens` (as the engine's cache). */
function cacheRoot() {
  const env = process.env.LAYERLENS_CACHE_DIR;
  if (env) return path.resolve(env);
  const xdg = process.env.XDG_CACHE_HOME;
  if (xdg && path.isAbsolute(xdg)) return path.join(xdg, 'layerlens');
  return path.join(require('os').homedir(), '.cache', 'layerlens');
}
