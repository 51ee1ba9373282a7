// Wall-time breakdown of one `layerlens analyze` process, without touching server/src: preload this module
//   node -r ./out/bench/phaseProbe.js out/server/src/cli.js analyze ... --json
// It wraps the engine's main functions (module exports and prototype methods of the compiled out/ tree) and, at
// exit, prints to stderr per function: calls, summed time, wall time covered (union of intervals: what concurrency
// does not hide) and first start / last end relative to process start. A CPU profile shows where the CPU goes;
// this shows where the *waiting* goes (daemon requests, file reads on the libuv pool).

import * as path from 'path';

const OUT = path.resolve(__dirname, '..', 'server', 'src');
const t0 = performance.timeOrigin;

interface Acc {
  calls: number;
  sumMs: number;
  intervals: Array<[number, number]>;
}

const acc = new Map<string, Acc>();

function record(name: string, start: number, end: number): void {
  let a = acc.get(name);
  if (!a) acc.set(name, (a = { calls: 0, sumMs: 0, intervals: [] }));
  a.calls++;
  a.sumMs += end - start;
  a.intervals.push([start, end]);
}

type AnyFn = (...args: unknown[]) => unknown;

function wrap(name: string, fn: AnyFn): AnyFn {
  return function (this: unknown, ...args: unknown[]): unknown {
    const s = performance.now();
    let r: unknown;
    try {
      r = fn.apply(this, args);
    } catch (e) {
      record(name, s, performance.now());
      throw e;
    }
    if (r && typeof (r as Promise<unknown>).then === 'function') {
      return (r as Promise<unknown>).then(
        (v) => {
          record(name, s, performance.now());
          return v;
        },
        (e: unknown) => {
          record(name, s, performance.now());
          throw e;
        },
      );
    }
    record(name, s, performance.now());
    return r;
  };
}

function load(rel: string): Record<string, unknown> | null {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require(path.join(OUT, rel)) as Record<string, unknown>;
  } catch {
    return null;
  }
}

function wrapExports(rel: string, names: readonly string[]): void {
  const m = load(rel);
  if (!m) return;
  for (const n of names) if (typeof m[n] === 'function') m[n] = wrap(`${rel}:${n}`, m[n] as AnyFn);
}

function wrapMethods(rel: string, cls: string, names: readonly string[], statics: readonly string[] = []): void {
  const m = load(rel);
  const C = m?.[cls] as { prototype: Record<string, unknown> } & Record<string, unknown> | undefined;
  if (!C) return;
  for (const n of names) {
    const d = Object.getOwnPropertyDescriptor(C.prototype, n);
    if (d && typeof d.value === 'function') C.prototype[n] = wrap(`${cls}.${n}`, d.value as AnyFn);
  }
  for (const n of statics) if (typeof C[n] === 'function') C[n] = wrap(`${cls}.${n}`, C[n] as AnyFn);
}

const loadStart = performance.now();
wrapExports('docker/snapshot', ['loadDaemonSnapshot']);
wrapExports('context/walk', ['walkContext', 'walkSubtree']);
wrapExports('context/sources', ['resolveSources', 'contentFingerprint', 'classicSourceHash']);
wrapExports('engine/predict', ['predict']);
wrapExports('engine/landed', ['landedFiles', 'compareWithLayer']);
wrapExports('engine/dockerfileModel', ['parseDockerfile']);
wrapMethods('docker/daemonClient', 'DaemonClient', ['info', 'listImages', 'inspectImage', 'history', 'buildCache', 'layerFiles', 'exportLayers']);
wrapMethods('docker/layerCache', 'LayerDiskCache', ['get', 'put']);
wrapMethods('context/contextIndex', 'ContextIndex', ['refresh', 'contentHash', 'contentHashes', 'tarsums', 'persist'], ['open']);
wrapMethods('context/hashCache', 'HashCache', ['read', 'persist', 'readPersisted'], ['load']);
wrapMethods('analyze', 'Analyzer', ['analyze']);
record('(probe: loading engine modules)', loadStart, performance.now());

function union(iv: Array<[number, number]>): number {
  const s = [...iv].sort((a, b) => a[0] - b[0]);
  let total = 0;
  let cs = -1;
  let ce = -1;
  for (const [a, b] of s) {
    if (a > ce) {
      if (ce > cs) total += ce - cs;
      cs = a;
      ce = b;
    } else ce = Math.max(ce, b);
  }
  if (ce > cs) total += ce - cs;
  return total;
}

/** Lets a benchmark drop what its set-up recorded: `globalThis.__phaseProbeReset?.()`. */
(globalThis as { __phaseProbeReset?: () => void }).__phaseProbeReset = () => acc.clear();

process.once('exit', () => {
  const now = performance.now();
  const lines = [`phaseProbe: process wall ${now.toFixed(0)} ms (since ${new Date(t0).toISOString()})`];
  lines.push(`  ${'function'.padEnd(44)}${'calls'.padStart(7)}${'sum ms'.padStart(10)}${'wall ms'.padStart(10)}${'from'.padStart(8)}${'to'.padStart(8)}`);
  const rows = [...acc].map(([n, a]) => ({ n, a, wall: union(a.intervals), from: a.intervals.reduce((m, i) => Math.min(m, i[0]), Infinity), to: a.intervals.reduce((m, i) => Math.max(m, i[1]), 0) }));
  rows.sort((x, y) => x.from - y.from);
  for (const r of rows) {
    lines.push(`  ${r.n.padEnd(44)}${String(r.a.calls).padStart(7)}${r.a.sumMs.toFixed(0).padStart(10)}${r.wall.toFixed(0).padStart(10)}${r.from.toFixed(0).padStart(8)}${r.to.toFixed(0).padStart(8)}`);
  }
  process.stderr.write(lines.join('\n') + '\n');
});
