// Summarises a V8 .cpuprofile (from `node --cpu-prof`): self and inclusive time per function (file:line function),
// plus idle / GC / program. Standalone: node out/bench/cpuProfile.js FILE.cpuprofile [TOP]

import * as fs from 'fs';
import * as path from 'path';

interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  readonly lineNumber: number;
}

interface ProfileNode {
  readonly id: number;
  readonly callFrame: CallFrame;
  readonly children?: readonly number[];
}

interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly startTime: number;
  readonly endTime: number;
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

export interface FunctionTime {
  readonly fn: string;
  readonly selfMs: number;
  readonly totalMs: number;
}

export interface ProfileSummary {
  readonly wallMs: number;
  readonly idleMs: number;
  readonly gcMs: number;
  readonly programMs: number;
  readonly top: FunctionTime[];
  /** Self time per source file. */
  readonly byFile: Array<{ file: string; selfMs: number }>;
}

function shortUrl(url: string, root: string): string {
  let u = url.replace(/^file:\/\//, '');
  if (u.startsWith(root)) u = u.slice(root.length + 1);
  return u === '' ? '(native)' : u;
}

function keyOf(f: CallFrame, root: string): string {
  return `${shortUrl(f.url, root)}:${f.lineNumber + 1} ${f.functionName || '(anonymous)'}`;
}

/** A saved profile with its nodes by ID and each node's parent (both summaries walk the tree upwards). */
function loadProfile(file: string): { p: CpuProfile; byId: Map<number, ProfileNode>; parent: Map<number, number> } {
  const p = JSON.parse(fs.readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const n of p.nodes) {
    byId.set(n.id, n);
    for (const c of n.children ?? []) parent.set(c, n.id);
  }
  return { p, byId, parent };
}

export function summariseProfile(file: string, root = path.resolve(__dirname, '..', '..'), top = 25): ProfileSummary {
  const { p, byId, parent } = loadProfile(file);
  const self = new Map<string, number>();
  const total = new Map<string, number>();
  const fileSelf = new Map<string, number>();
  let idle = 0;
  let gc = 0;
  let program = 0;
  for (let i = 0; i < p.samples.length; i++) {
    // timeDeltas[i] is the time *before* sample i; attribute the following delta to the sample (V8's own view).
    const dt = (p.timeDeltas[i + 1] ?? 0) / 1000;
    const node = byId.get(p.samples[i]!);
    if (!node) continue;
    const name = node.callFrame.functionName;
    if (name === '(idle)') {
      idle += dt;
      continue;
    }
    if (name === '(garbage collector)') gc += dt;
    if (name === '(program)') program += dt;
    const k = keyOf(node.callFrame, root);
    self.set(k, (self.get(k) ?? 0) + dt);
    const f = shortUrl(node.callFrame.url, root);
    fileSelf.set(f, (fileSelf.get(f) ?? 0) + dt);
    const seen = new Set<string>();
    for (let id: number | undefined = node.id; id !== undefined; id = parent.get(id)) {
      const n = byId.get(id)!;
      if (n.callFrame.functionName === '(root)') break;
      const kk = keyOf(n.callFrame, root);
      if (seen.has(kk)) continue;
      seen.add(kk);
      total.set(kk, (total.get(kk) ?? 0) + dt);
    }
  }
  const fns = [...total.keys()].map((fn) => ({ fn, selfMs: self.get(fn) ?? 0, totalMs: total.get(fn) ?? 0 }));
  return {
    wallMs: (p.endTime - p.startTime) / 1000,
    idleMs: idle,
    gcMs: gc,
    programMs: program,
    top: fns.sort((a, b) => b.selfMs - a.selfMs).slice(0, top),
    byFile: [...fileSelf].map(([f, s]) => ({ file: f, selfMs: s })).sort((a, b) => b.selfMs - a.selfMs).slice(0, 12),
  };
}

/** Inclusive-time view limited to project code (out/server/...), to see which of our functions holds the time. */
export function projectInclusive(file: string, root = path.resolve(__dirname, '..', '..'), top = 25): FunctionTime[] {
  const s = summariseProfileAll(file, root);
  return s.filter((f) => f.fn.includes('out/server/') || f.fn.includes('dist/')).sort((a, b) => b.totalMs - a.totalMs).slice(0, top);
}

function summariseProfileAll(file: string, root: string): FunctionTime[] {
  const s = summariseProfile(file, root, Number.MAX_SAFE_INTEGER);
  return s.top;
}

export function formatSummary(title: string, file: string, topN = 20, root = path.resolve(__dirname, '..', '..')): string {
  const s = summariseProfile(file, root, topN);
  const lines = [
    `${title}: profile wall ${s.wallMs.toFixed(0)} ms — idle (waiting on I/O, daemon) ${s.idleMs.toFixed(0)} ms, GC ${s.gcMs.toFixed(0)} ms, program ${s.programMs.toFixed(0)} ms`,
    '  self time by function:',
    ...s.top.slice(0, topN).map((f) => `    ${f.selfMs.toFixed(1).padStart(8)} ms self ${f.totalMs.toFixed(1).padStart(8)} ms incl  ${f.fn}`),
    '  inclusive time, project functions:',
    ...projectInclusive(file, root, topN).map((f) => `    ${f.totalMs.toFixed(1).padStart(8)} ms incl ${f.selfMs.toFixed(1).padStart(8)} ms self  ${f.fn}`),
    '  self time by file:',
    ...s.byFile.map((f) => `    ${f.selfMs.toFixed(1).padStart(8)} ms  ${f.file}`),
  ];
  return lines.join('\n');
}

/** Where calls to `fnName` come from: total time under it per caller chain (depth frames up). */
export function callers(file: string, fnName: string, depth = 6, root = path.resolve(__dirname, '..', '..')): Array<{ ms: number; chain: string }> {
  const { p, byId, parent } = loadProfile(file);
  const self = new Map<number, number>();
  for (let i = 0; i < p.samples.length; i++) self.set(p.samples[i]!, (self.get(p.samples[i]!) ?? 0) + (p.timeDeltas[i + 1] ?? 0) / 1000);
  const subtree = (id: number): number => {
    let t = 0;
    const stack = [id];
    while (stack.length) {
      const x = stack.pop()!;
      t += self.get(x) ?? 0;
      stack.push(...(byId.get(x)!.children ?? []));
    }
    return t;
  };
  const agg = new Map<string, number>();
  for (const n of p.nodes) {
    if (n.callFrame.functionName !== fnName) continue;
    const chain: string[] = [];
    for (let id: number | undefined = n.id, k = 0; id !== undefined && k < depth; id = parent.get(id), k++) chain.push(keyOf(byId.get(id)!.callFrame, root));
    const key = chain.join(' < ');
    agg.set(key, (agg.get(key) ?? 0) + subtree(n.id));
  }
  return [...agg].map(([chain, ms]) => ({ ms, chain })).sort((a, b) => b.ms - a.ms);
}

if (require.main === module && process.argv[3] === '--callers') {
  for (const c of callers(process.argv[2]!, process.argv[4] ?? '', Number(process.argv[5] ?? 6)).slice(0, 12)) process.stdout.write(`${c.ms.toFixed(1).padStart(8)} ms  ${c.chain}\n`);
} else if (require.main === module) {
  const f = process.argv[2];
  if (!f) {
    process.stderr.write('usage: node out/bench/cpuProfile.js FILE.cpuprofile [TOP]\n');
    process.exitCode = 2;
  } else {
    process.stdout.write(formatSummary(path.basename(f), f, Number(process.argv[3] ?? 25)) + '\n');
  }
}
