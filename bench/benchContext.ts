// The benchmark's build context: 20,000 files / ~500 MB in nested folders, generated once (deterministic content:
// AES-128-CTR keystream per file, so generation is fast and the same on every machine) and reused while its
// manifest says it is complete and a spot check agrees.

import { createCipheriv, createHash } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

/** Bump when the layout or content changes: an older cached context is then regenerated. */
const LAYOUT_VERSION = 1;

export const BASE_IMAGE = 'layerlens-test/busybox:1';
export const DOCKERFILE_TEXT = `FROM ${BASE_IMAGE}\nWORKDIR /app\nCOPY package.json .\nRUN echo deps\nCOPY . .\nRUN echo built\n`;
export const DOCKERIGNORE_TEXT = 'Dockerfile\n';
export const PACKAGE_JSON_TEXT = '{\n  "name": "layerlens-bench",\n  "version": "1.0.0"\n}\n';
/** The one file benchmark (c) edits (and restores). */
export const MUTABLE_REL = 'src/app/edit-me.js';
export const MUTABLE_TEXT = '// edited by the Layer Lens benchmark (c); restored afterwards\nmodule.exports = 1;\n';

export interface ContextSpec {
  readonly files: number;
  readonly targetBytes: number;
}

export interface Manifest {
  readonly version: number;
  readonly files: number;
  readonly dirs: number;
  readonly bytes: number;
  /** Data files by size class. */
  readonly small: number;
  readonly large: number;
  readonly largestBytes: number;
  readonly generatedAt: string;
  readonly generateMs: number;
  /** Spot check: the last data file and its size. */
  readonly lastRel: string;
  readonly lastSize: number;
}

export interface BenchContext {
  readonly dir: string;
  readonly dockerfile: string;
  readonly manifest: Manifest;
  readonly reused: boolean;
}

/** mulberry32: small, fast, deterministic. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface FilePlan {
  readonly rel: string;
  readonly size: number;
}

const TOP = ['app', 'lib', 'vendor', 'assets', 'docs', 'tests', 'tools', 'packages', 'config', 'scripts', 'data', 'web'];
const SMALL_EXT = ['.js', '.ts', '.json', '.md', '.css', '.txt', '.yml', '.html'];
const LARGE_EXT = ['.bin', '.png', '.tar', '.wasm'];

/**
 * The plan: 12 top folders × 8 × 6 nested folders (684 in all, depth 1–3) under src/; 1 % of the files are
 * "large" (0.5–5 MB), the rest log-uniform 64 B – 48 KB; the large ones are scaled so the total hits targetBytes.
 */
export function planContext(spec: ContextSpec): { files: FilePlan[]; dirs: string[] } {
  const rnd = prng(0x1a7e5);
  const dirs: string[] = [];
  for (const t of TOP) {
    dirs.push(`src/${t}`);
    for (let i = 0; i < 8; i++) {
      dirs.push(`src/${t}/m${i}`);
      for (let j = 0; j < 6; j++) dirs.push(`src/${t}/m${i}/s${j}`);
    }
  }
  const n = spec.files;
  const isLarge = (i: number): boolean => i % 100 === 50;
  const sizes = new Array<number>(n);
  const weights = new Array<number>(n).fill(0);
  let smallTotal = 0;
  let weightTotal = 0;
  for (let i = 0; i < n; i++) {
    if (isLarge(i)) {
      weights[i] = 0.5 + rnd() * 2; // 0.5–2.5 × the mean large size
      weightTotal += weights[i]!;
      sizes[i] = 0;
    } else {
      sizes[i] = Math.round(Math.exp(Math.log(64) + rnd() * (Math.log(48 * 1024) - Math.log(64))));
      smallTotal += sizes[i]!;
    }
  }
  const largeBudget = Math.max(0, spec.targetBytes - smallTotal - PACKAGE_JSON_TEXT.length - DOCKERIGNORE_TEXT.length - MUTABLE_TEXT.length);
  for (let i = 0; i < n; i++) if (isLarge(i)) sizes[i] = Math.round((largeBudget * weights[i]!) / weightTotal);
  const files: FilePlan[] = [];
  // File 0 is the one (c) edits; the others spread over the folders (leaves weighted by being more numerous).
  files.push({ rel: MUTABLE_REL, size: Buffer.byteLength(MUTABLE_TEXT) });
  for (let i = 1; i < n; i++) {
    const dir = dirs[Math.floor(rnd() * dirs.length)]!;
    const ext = isLarge(i) ? LARGE_EXT[i % LARGE_EXT.length]! : SMALL_EXT[Math.floor(rnd() * SMALL_EXT.length)]!;
    files.push({ rel: `${dir}/f${String(i).padStart(5, '0')}${ext}`, size: sizes[i]! });
  }
  return { files, dirs };
}

function keystream(index: number, size: number): Buffer {
  const key = createHash('sha256').update('layerlens-bench').digest().subarray(0, 16);
  const iv = Buffer.alloc(16);
  iv.writeUInt32BE(index, 0);
  const c = createCipheriv('aes-128-ctr', key, iv);
  return Buffer.concat([c.update(Buffer.alloc(size)), c.final()]);
}

export function defaultBenchRoot(): string {
  return path.join(os.tmpdir(), 'layerlens-bench');
}

function readManifest(file: string): Manifest | null {
  try {
    const m = JSON.parse(fs.readFileSync(file, 'utf8')) as Manifest;
    return m.version === LAYOUT_VERSION ? m : null;
  } catch {
    return null;
  }
}

/** Make sure the context exists and is complete; generate it (once) otherwise. */
export function ensureContext(spec: ContextSpec, root = defaultBenchRoot(), log: (s: string) => void = () => undefined): BenchContext {
  const dir = path.join(root, `ctx-${spec.files}`);
  const manifestFile = path.join(root, `ctx-${spec.files}.manifest.json`); // outside the context: not part of COPY . .
  const dockerfile = path.join(dir, 'Dockerfile');
  const m = readManifest(manifestFile);
  if (m && m.files === spec.files && spotCheck(dir, m)) {
    // The fixed files are rewritten only when they differ (a rewrite changes mtimes, i.e. hash-cache keys).
    restoreFixedFiles(dir);
    return { dir, dockerfile, manifest: m, reused: true };
  }
  log(`generating the benchmark context (${spec.files} files, ~${(spec.targetBytes / 1e6).toFixed(0)} MB) in ${dir} …`);
  const t0 = Date.now();
  fs.rmSync(manifestFile, { force: true });
  fs.rmSync(dir, { recursive: true, force: true });
  const plan = planContext(spec);
  fs.mkdirSync(dir, { recursive: true });
  for (const d of plan.dirs) fs.mkdirSync(path.join(dir, d), { recursive: true });
  fs.mkdirSync(path.join(dir, path.dirname(MUTABLE_REL)), { recursive: true });
  let bytes = 0;
  let small = 0;
  let large = 0;
  let largest = 0;
  plan.files.forEach((f, i) => {
    const body = f.rel === MUTABLE_REL ? Buffer.from(MUTABLE_TEXT) : keystream(i, f.size);
    fs.writeFileSync(path.join(dir, f.rel), body);
    bytes += body.length;
    if (body.length >= 512 * 1024) large++;
    else small++;
    largest = Math.max(largest, body.length);
  });
  fs.writeFileSync(path.join(dir, 'package.json'), PACKAGE_JSON_TEXT);
  fs.writeFileSync(path.join(dir, '.dockerignore'), DOCKERIGNORE_TEXT);
  fs.writeFileSync(dockerfile, DOCKERFILE_TEXT);
  bytes += PACKAGE_JSON_TEXT.length + DOCKERIGNORE_TEXT.length;
  const last = plan.files[plan.files.length - 1]!;
  const manifest: Manifest = {
    version: LAYOUT_VERSION,
    files: plan.files.length,
    dirs: plan.dirs.length + 1,
    bytes,
    small,
    large,
    largestBytes: largest,
    generatedAt: new Date().toISOString(),
    generateMs: Date.now() - t0,
    lastRel: last.rel,
    lastSize: last.size,
  };
  fs.writeFileSync(manifestFile, JSON.stringify(manifest, null, 2) + '\n');
  log(`generated in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  return { dir, dockerfile, manifest, reused: false };
}

function spotCheck(dir: string, m: Manifest): boolean {
  try {
    return fs.statSync(path.join(dir, m.lastRel)).size === m.lastSize && fs.statSync(path.join(dir, 'package.json')).isFile();
  } catch {
    return false;
  }
}

function writeIfDifferent(file: string, text: string): void {
  let cur: string | null = null;
  try {
    cur = fs.readFileSync(file, 'utf8');
  } catch {
    cur = null;
  }
  if (cur !== text) fs.writeFileSync(file, text);
}

/** Put back the files the bench may touch (an interrupted run can leave (c)'s edit behind). */
export function restoreFixedFiles(dir: string): void {
  writeIfDifferent(path.join(dir, MUTABLE_REL), MUTABLE_TEXT);
  writeIfDifferent(path.join(dir, 'Dockerfile'), DOCKERFILE_TEXT);
  writeIfDifferent(path.join(dir, '.dockerignore'), DOCKERIGNORE_TEXT);
  writeIfDifferent(path.join(dir, 'package.json'), PACKAGE_JSON_TEXT);
}

/**
 * Give every entry of the context a status change time (ctime) of now, changing nothing else: chmod to the mode it
 * already has. mtime, content and mode stay as they are, so BuildKit (which compares mtime/mode/size, and content
 * for its cache keys) sees the same context; but an engine shortcut that trusts "no ctime after the layer was made"
 * no longer applies, so (a) always measures the path that hashes the context — what the a/e target is about, and the
 * state any edit-and-revert, checkout or copy leaves. Without it, (a) would depend on whether an earlier run's (c)
 * edit already bumped a ctime. Returns the number of entries touched.
 */
export function refreshCtimes(dir: string): number {
  let n = 0;
  const walk = (d: string): void => {
    for (const ent of fs.readdirSync(d, { withFileTypes: true })) {
      const abs = path.join(d, ent.name);
      if (ent.isSymbolicLink()) continue;
      fs.chmodSync(abs, fs.statSync(abs).mode & 0o7777);
      n++;
      if (ent.isDirectory()) walk(abs);
    }
  };
  walk(dir);
  fs.chmodSync(dir, fs.statSync(dir).mode & 0o7777);
  return n + 1;
}

/** Every file the build sends (the context minus what .dockerignore excludes: the Dockerfile), sorted. */
export function listContextFiles(dir: string): { files: string[]; bytes: number } {
  const out: Array<{ abs: string; size: number }> = [];
  const walk = (d: string, rel: string): void => {
    for (const ent of fs.readdirSync(d, { withFileTypes: true })) {
      const r = rel === '' ? ent.name : `${rel}/${ent.name}`;
      const abs = path.join(d, ent.name);
      if (ent.isDirectory()) walk(abs, r);
      else if (ent.isFile() && r !== 'Dockerfile') out.push({ abs, size: fs.statSync(abs).size });
    }
  };
  walk(dir, '');
  // Largest first: the parallel pass then ends with small files and all workers finish together.
  out.sort((a, b) => b.size - a.size);
  return { files: out.map((f) => f.abs), bytes: out.reduce((s, f) => s + f.size, 0) };
}
