// COPY/ADD sources resolved against a context exactly as Docker does, and the three things we derive from them:
// the layer size, a content fingerprint (what BuildKit keys on: content and mode, never mtime) and the classic
// builder's source hash (the `COPY <hash> in <dest>` string its cache lookup compares).
//
// Resolution follows the classic builder (builder/dockerfile/copy.go): one leading '/' and one './' are trimmed;
// a source with unescaped '*', '?' or '[' is matched with filepath.Match against every context path in walk order
// and each match is resolved on its own; other sources are cleaned, must not climb out of the context, and have
// their symlinks followed inside the context (moby/sys/symlink.FollowSymlinkInScope: absolute link targets restart
// at the context root, '..' stops at it).

import { createHash } from 'crypto';
import { ContextView } from './contextIndex';
import { baseName, BadPatternError, compareGo, containsWildcards, goClean, goMatch, sortGo } from './goPath';
import { ContextEntry, EntryKind, FileFingerprint, SelectedEntry, SourceMatch, TarModeVariant } from './types';

type Root = SourceMatch['roots'][number];

export const NOT_FOUND = 'file not found in build context or excluded by .dockerignore';

function sha256(s: string): string {
  return createHash('sha256').update(s, 'utf8').digest('hex');
}

/** Result of following symlinks inside the context. */
export type ScopedResolution = { readonly rel: string } | { readonly error: string };

/**
 * FollowSymlinkInScope over the context as the daemon unpacked it: `p` is cleaned first (lexically), then each
 * element is looked up; symlinks are expanded, '..' pops the resolved prefix (never above the root), names that do
 * not exist are accepted as they are. Returns the context-relative result ('' = root) or the error Go would return
 * (too many links, or a non-directory used as a directory).
 */
export function resolveInScope(view: Pick<ContextView, 'get'>, p: string): ScopedResolution {
  let todo = goClean('/' + p).split('/');
  const resolved: string[] = [];
  const kinds: Array<EntryKind | 'missing'> = [];
  for (let n = 0; todo.length > 0; n++) {
    if (n > 255) return { error: `too many links in ${p}` };
    const c = todo.shift()!;
    if (c === '' || c === '.') continue;
    if (c === '..') {
      resolved.pop();
      kinds.pop();
      continue;
    }
    const parentKind = kinds.length > 0 ? kinds[kinds.length - 1] : 'dir';
    if (parentKind === 'missing') {
      // lstat under a missing directory is ENOENT, which Go accepts as a plain name.
      resolved.push(c);
      kinds.push('missing');
      continue;
    }
    const cand = resolved.length > 0 ? resolved.join('/') + '/' + c : c;
    // lstat below a file is ENOTDIR, which Go does not accept.
    if (parentKind !== 'dir') return { error: `not a directory: ${cand}` };
    const e = view.get(cand);
    if (e === undefined) {
      resolved.push(c);
      kinds.push('missing');
      continue;
    }
    if (e.kind === 'symlink') {
      const dest = e.linkTarget ?? '';
      if (dest.startsWith('/')) {
        resolved.length = 0;
        kinds.length = 0;
      }
      todo = [...dest.split('/'), ...todo];
      continue;
    }
    resolved.push(c);
    kinds.push(e.kind);
  }
  return { rel: goClean(resolved.join('/')).replace(/^\.$/, '') };
}

function underOf(target: string, rel: string): string {
  return target === '' ? rel : rel.slice(target.length + 1);
}

/** Resolve one non-wildcard path (already trimmed of '/' and './'), like calcCopyInfo(path, false). */
function resolveOne(view: ContextView, matchedRel: string): Root | { error: string } {
  const clean = goClean(matchedRel);
  if (clean === '..' || clean.startsWith('../')) return { error: `forbidden path outside the build context: ${matchedRel}` };
  const rel = clean === '.' ? '' : clean;
  const r = resolveInScope(view, rel);
  if ('error' in r) return { error: r.error };
  const target = r.rel;
  if (target === '') {
    return { rel, target, kind: 'dir', entries: view.subtree('').map((e) => ({ entry: e, under: e.rel })) };
  }
  const e = view.get(target);
  if (!e) return { error: NOT_FOUND };
  if (e.kind === 'dir') {
    return { rel, target, kind: 'dir', entries: view.subtree(target).map((s) => ({ entry: s, under: underOf(target, s.rel) })) };
  }
  return { rel, target, kind: e.kind, entries: [{ entry: e, under: '' }] };
}

/** Trim what calcCopyInfo trims: one leading '/', then one leading './'. */
function trimSource(src: string): string {
  let s = src;
  if (s.startsWith('/')) s = s.slice(1);
  if (s.startsWith('./')) s = s.slice(2);
  return s;
}

/**
 * Resolve COPY/ADD source arguments (after variable expansion, without the destination). One SourceMatch per
 * argument, in written order; a wildcard lists its matches in walk order. Remote URLs are not handled here.
 */
export function resolveSources(view: ContextView, sources: readonly string[]): SourceMatch[] {
  return sources.map((pattern) => {
    const orig = trimSource(pattern);
    if (containsWildcards(orig)) {
      const roots: Root[] = [];
      for (const rel of view.entries.keys()) {
        let hit = false;
        try {
          hit = goMatch(orig, rel);
        } catch (e) {
          if (!(e instanceof BadPatternError)) throw e;
          // The builder ignores Match errors: a malformed pattern simply matches nothing.
          break;
        }
        if (!hit) continue;
        const r = resolveOne(view, rel);
        if ('error' in r) {
          // A match that cannot be resolved (a dangling symlink) fails the whole instruction in Docker.
          return { pattern, roots: [], error: `${rel}: ${r.error}` };
        }
        roots.push(r);
      }
      return roots.length > 0 ? { pattern, roots } : { pattern, roots, error: `no source files were specified (${pattern} matched nothing)` };
    }
    const r = resolveOne(view, orig);
    if ('error' in r) return { pattern, roots: [], error: r.error };
    return { pattern, roots: [r] };
  });
}

/** Sources that matched nothing (Docker fails the instruction when a plain path is missing). */
export function missingSources(matches: readonly SourceMatch[]): SourceMatch[] {
  return matches.filter((m) => m.roots.length === 0);
}

interface Landed {
  /** Path under the destination. */
  readonly path: string;
  readonly sel: SelectedEntry;
  /** Index of the match root it came from (across all sources, in order). */
  readonly root: number;
  readonly fromDir: boolean;
}

/** Where each selected entry lands relative to the destination, later sources overwriting earlier ones. */
function landing(matches: readonly SourceMatch[]): Landed[] {
  const out: Landed[] = [];
  let root = 0;
  for (const m of matches) {
    for (const r of m.roots) {
      if (r.kind === 'dir') {
        for (const s of r.entries) out.push({ path: s.under, sel: s, root, fromDir: true });
      } else {
        // A file source lands under its own name (for a symlink named as source: the link's name).
        const name = baseName(r.rel) || baseName(r.target ?? '');
        for (const s of r.entries) out.push({ path: name, sel: s, root, fromDir: false });
      }
      root++;
    }
  }
  if (root <= 1) return out; // one root: paths are unique already (the common `COPY . .` case stays cheap)
  const byPath = new Map<string, Landed>();
  for (const l of out) {
    byPath.delete(l.path); // re-insert so the surviving order follows the last writer
    byPath.set(l.path, l);
  }
  return [...byPath.values()];
}

function bytesOf(e: ContextEntry): number {
  if (e.kind === 'file' || e.kind === 'symlink') return e.size;
  return 0;
}

/**
 * The layer size Docker reports for this COPY/ADD (docs §4): st_size of every non-directory that lands; symlinks
 * inside directories count their link-text length, symlinks named as sources their target's size; files landing
 * on the same path count once. Hardlinks: both builders copy a directory source as one tree and keep hardlinks
 * inside it (verified: a linked pair under one directory source adds its size once), while separate sources or
 * separate wildcard matches are separate copies (each path counts).
 */
export function layerBytes(matches: readonly SourceMatch[]): number {
  let total = 0;
  const seenInodes = new Set<string>();
  for (const { sel, root, fromDir } of landing(matches)) {
    const e = sel.entry;
    if (fromDir && e.nlink > 1 && e.kind !== 'dir') {
      const key = `${root}:${e.dev}:${e.ino}`;
      if (seenInodes.has(key)) continue;
      seenInodes.add(key);
    }
    total += bytesOf(e);
  }
  return total;
}

export interface ContentFingerprint {
  readonly entries: FileFingerprint[];
  /** sha256 over all entries (path, kind, permissions, size, content hash, link target); mtime excluded. */
  readonly digest: string;
}

/** What BuildKit keys a COPY on, independent of the destination: sorted per-path fingerprints plus one digest. */
export async function contentFingerprint(view: ContextView, matches: readonly SourceMatch[]): Promise<ContentFingerprint> {
  const land = landing(matches);
  const files = land.filter((l) => l.sel.entry.kind === 'file').map((l) => l.sel.entry.rel);
  const hashes = await view.contentHashes(files);
  const entries: FileFingerprint[] = [];
  for (const { path: p, sel } of land) {
    if (p === '') continue;
    const e = sel.entry;
    const fp: { path: string; kind: EntryKind; perm: number; size: number; sha256: string; linkTarget?: string } = {
      path: p,
      kind: e.kind,
      perm: e.mode & 0o7777,
      size: e.kind === 'dir' ? 0 : e.size,
      sha256: e.kind === 'file' ? hashes.get(e.rel) ?? '' : e.kind === 'symlink' ? sha256(e.linkTarget ?? '') : '',
    };
    if (e.kind === 'symlink') fp.linkTarget = e.linkTarget ?? '';
    entries.push(fp);
  }
  const surrogates = entries.some((f) => /[\ud800-\udfff]/.test(f.path));
  entries.sort(surrogates ? (a, b) => compareGo(a.path, b.path) : (a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const h = createHash('sha256');
  for (const f of entries) h.update(`${f.path}\0${f.kind}\0${f.perm}\0${f.size}\0${f.sha256}\0${f.linkTarget ?? ''}\n`, 'utf8');
  return { entries, digest: h.digest('hex') };
}

export interface FingerprintDiff {
  readonly added: string[];
  readonly changed: string[];
  readonly removed: string[];
  /** Only the permission bits differ. */
  readonly chmodded: string[];
}

/** What changed between two fingerprints, by landing path (for reasons like "src/app.py changed"). */
export function diffFingerprints(before: readonly FileFingerprint[], after: readonly FileFingerprint[]): FingerprintDiff {
  const old = new Map(before.map((f) => [f.path, f]));
  const added: string[] = [];
  const changed: string[] = [];
  const chmodded: string[] = [];
  const seen = new Set<string>();
  for (const f of after) {
    seen.add(f.path);
    const o = old.get(f.path);
    if (!o) {
      added.push(f.path);
      continue;
    }
    const sameContent = o.kind === f.kind && o.size === f.size && o.sha256 === f.sha256 && (o.linkTarget ?? '') === (f.linkTarget ?? '');
    if (!sameContent) changed.push(f.path);
    else if (o.perm !== f.perm) chmodded.push(f.path);
  }
  const removed = before.filter((f) => !seen.has(f.path)).map((f) => f.path);
  return { added, changed, removed, chmodded };
}

export class ClassicHashError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ClassicHashError';
  }
}

/**
 * The classic builder's source hash for a COPY/ADD (docs §1): `file:<tarsum>` for one file, `dir:<sha256 of sorted
 * entry sums joined by ','>` for a directory (its own entry included unless it is the context root), and
 * `multi:<sha256 of those strings joined by ','>` when the sources yield several. Each entry's sum is the daemon's
 * Hash(path): the tarsum of the path after following symlinks, or the path itself when nothing was sent there
 * (implicit directories, dangling links); entries whose resolution errors are skipped, as walkSource does.
 */
export async function classicSourceHash(view: ContextView, matches: readonly SourceMatch[], variant: TarModeVariant): Promise<string> {
  // Each info is a list of paths whose Hash() values form it.
  const infos: Array<{ kind: 'file' | 'dir'; paths: string[] }> = [];
  for (const m of matches) {
    if (m.roots.length === 0) {
      // A wildcard that matches nothing contributes nothing; a missing plain path fails the build.
      if (m.error && !m.error.startsWith('no source files were specified')) throw new ClassicHashError(`${m.pattern}: ${m.error}`);
      continue;
    }
    for (const root of m.roots) {
      const target = root.target ?? root.rel;
      if (root.kind === 'dir') {
        const paths = target === '' ? [] : [target];
        for (const s of root.entries) paths.push(s.entry.rel);
        infos.push({ kind: 'dir', paths });
      } else {
        infos.push({ kind: 'file', paths: [root.rel] });
      }
    }
  }
  if (infos.length === 0) throw new ClassicHashError('no source files were specified');

  // Map every path to the sent entry whose tarsum Hash() returns, then fetch all tarsums in one parallel batch.
  // Walked entries are never below a symlink, so only symlinks themselves (and names that are not entries, like a
  // file source's spelling) need FollowSymlinkInScope.
  const resolvedOf = new Map<string, string | null>();
  const need: string[] = [];
  for (const info of infos) {
    for (const p of info.paths) {
      const e = view.get(p);
      if (e !== undefined && e.kind !== 'symlink') {
        need.push(p);
        continue;
      }
      if (resolvedOf.has(p)) continue;
      const res = resolveInScope(view, p);
      const r = 'error' in res ? null : res.rel;
      resolvedOf.set(p, r);
      if (r !== null && r !== '') need.push(r);
    }
  }
  const sums = await view.tarsums([...new Set(need)], variant);
  const hashOf = (p: string): string | null => {
    const r = resolvedOf.has(p) ? resolvedOf.get(p)! : p;
    if (r === null) return null;
    return (r === '' ? undefined : sums.get(r)) ?? p;
  };

  const parts: string[] = [];
  for (const info of infos) {
    if (info.kind === 'file') {
      const h = hashOf(info.paths[0]);
      if (h === null) throw new ClassicHashError(`${info.paths[0]}: cannot resolve`);
      parts.push('file:' + h);
    } else {
      const list: string[] = [];
      for (const p of info.paths) {
        const h = hashOf(p);
        if (h !== null) list.push(h);
      }
      parts.push('dir:' + sha256(sortGo(list).join(',')));
    }
  }
  return parts.length === 1 ? parts[0] : 'multi:' + sha256(parts.join(','));
}
