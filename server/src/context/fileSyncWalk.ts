// The entries a BuildKit file-sync session sends for a directory, in the order and with the metadata the docker CLI
// sends them (tonistiigi/fsutil's Walk and mkstat, as vendored by Docker 20.10): filepath.Walk order (pre-order,
// names in byte order), lstat metadata with Go's FileMode bits, hardlinks after the first as links to it, sockets
// stripped of their type, and the receiver's include / exclude / follow-path filters applied on this side.
//
// Why this and not the context index: BuildKit keys `COPY` on a checksum of exactly these records (mode, uid, gid,
// size, link target, content; no mtime), so a build from the editor shares the terminal's cache only when this
// walk sends what the CLI's would. The daemon decides the filters (it read .dockerignore through the session), so
// the walk takes them from the request rather than from our own reading of .dockerignore.
//
// Not reproduced: extended attributes (Node cannot read them; files carrying xattrs such as security.capability
// would key differently from a terminal build).

import * as fs from 'fs';
import * as path from 'path';
import { compareGo, containsWildcards, goClean, goMatch } from './goPath';
import { IgnoreMatcher } from './dockerignore';

/** Go os.FileMode bits (fsutil sends `uint32(fi.Mode())`). */
export const GoMode = {
  dir: 0x80000000,
  symlink: 0x08000000,
  device: 0x04000000,
  namedPipe: 0x02000000,
  socket: 0x01000000,
  setuid: 0x00800000,
  setgid: 0x00400000,
  charDevice: 0x00200000,
  sticky: 0x00100000,
} as const;

/** One fsutil `types.Stat`, plus where the file is on disk (not sent). */
export interface SyncStat {
  /** Path relative to the synced directory, '/'-separated. */
  readonly path: string;
  /** Go os.FileMode, as uint32. */
  readonly mode: number;
  uid: number;
  gid: number;
  readonly size: number;
  /** Nanoseconds since the epoch. */
  readonly modTimeNs: bigint;
  readonly linkname: string;
  readonly devmajor: number;
  readonly devminor: number;
  /** Absolute path on disk. */
  readonly abs: string;
}

export interface FileSyncWalkOptions {
  /** `.dockerignore`-style patterns (the receiver's exclude-patterns); null: none. */
  readonly excludes?: readonly string[] | null;
  /** Include patterns (prefix-matched, as fsutil does); null: everything. */
  readonly includes?: readonly string[] | null;
  /** Paths whose symlinks are resolved into include patterns (fsutil FollowPaths). */
  readonly followPaths?: readonly string[] | null;
  /** Rewrites or drops a record before it is sent (the docker CLI resets uid/gid to 0 for the context). */
  readonly map?: (stat: SyncStat) => boolean;
}

export class FileSyncWalkError extends Error {
  override readonly name = 'FileSyncWalkError';
}

/** Go's os.FileMode from a Unix st_mode. */
export function goFileMode(stMode: number): number {
  let m = stMode & 0o777;
  switch (stMode & 0o170000) {
    case 0o060000: m |= GoMode.device; break;
    case 0o020000: m |= GoMode.device | GoMode.charDevice; break;
    case 0o040000: m |= GoMode.dir; break;
    case 0o010000: m |= GoMode.namedPipe; break;
    case 0o120000: m |= GoMode.symlink; break;
    case 0o140000: m |= GoMode.socket; break;
    default: break;
  }
  if (stMode & 0o2000) m |= GoMode.setgid;
  if (stMode & 0o4000) m |= GoMode.setuid;
  if (stMode & 0o1000) m |= GoMode.sticky;
  return m >>> 0;
}

/** filepath.Match with its error ignored, as fsutil does: a malformed pattern matches nothing. */
function matches(pattern: string, name: string): boolean {
  try {
    return goMatch(pattern, name);
  } catch {
    return false;
  }
}

/** fsutil prefix.Match: (matches, partial) where partial means the pattern is deeper than the name. */
function prefixMatch(pattern: string, name: string): { m: boolean; partial: boolean } {
  const depth = name.split('/').length - 1;
  let partial = false;
  if (pattern.split('/').length - 1 > depth) {
    pattern = pattern.split('/').slice(0, depth + 1).join('/');
    partial = true;
  }
  return { m: matches(pattern, name), partial };
}

/**
 * fsutil FollowLinks: each follow path, with every symlink on the way (inside the root) resolved, becomes an include
 * pattern; null when one of them is the root itself (no filter).
 */
export function followLinks(root: string, paths: readonly string[]): string[] | null {
  const resolved = new Set<string>();
  const readSymlink = (p: string, allowWildcard: boolean): string[] | null => {
    const real = path.join(root, p);
    const base = path.posix.basename(p);
    if (allowWildcard && containsWildcards(base)) {
      let names: string[];
      try {
        names = fs.readdirSync(path.dirname(real));
      } catch {
        return null;
      }
      const out: string[] = [];
      for (const n of names) {
        if (matches(base, n)) out.push(...(readSymlink(path.posix.join(path.posix.dirname(p), n), false) ?? []));
      }
      return out;
    }
    const st = fs.lstatSync(real, { throwIfNoEntry: false });
    if (!st || !st.isSymbolicLink()) return null;
    const link = goClean(fs.readlinkSync(real));
    return [link.startsWith('/') ? link : path.posix.join('/', path.posix.dirname(p), link)];
  };
  const append = (input: string): void => {
    let p = relClean(input);
    let current = '.';
    for (;;) {
      const slash = p.indexOf('/');
      const first = slash < 0 ? p : p.slice(0, slash);
      current = current === '.' ? first : `${current}/${first}`;
      const targets = readSymlink(current, true);
      p = slash < 0 ? '' : p.slice(slash + 1);
      if ((p === '' || targets !== null) && resolved.has(current)) return;
      if (targets !== null) {
        resolved.add(current);
        for (const t of targets) append(path.posix.join(t, p));
        return;
      }
      if (p === '') {
        resolved.add(current);
        return;
      }
    }
  };
  for (const p of paths) append(p);
  const sorted = [...resolved].sort(compareGo);
  const out: string[] = [];
  let last: string | null = null;
  for (const s of sorted) {
    if (s === '.') return null;
    if (last !== null && s.startsWith(last + '/')) continue;
    out.push(s);
    last = s;
  }
  return out;
}

/** filepath.Join(".", p): relative, cleaned, '.' for the root. */
function relClean(p: string): string {
  const c = goClean(p);
  const stripped = c.replace(/^\/+/, '');
  return stripped === '' ? '.' : stripped;
}

/**
 * Walks `root` as fsutil.Walk does, yielding one record per sent entry. Unreadable directories and entries fail the
 * walk (the CLI's build fails the same way); entries that vanish mid-walk are skipped. The walk yields to the event
 * loop every few hundred entries so a large context does not stall the language server.
 */
export async function* fileSyncWalk(root: string, opts: FileSyncWalkOptions = {}): AsyncGenerator<SyncStat> {
  let realRoot: string;
  try {
    realRoot = fs.realpathSync(root);
    if (!fs.statSync(realRoot).isDirectory()) throw new FileSyncWalkError(`${root} is not a directory`);
  } catch (e) {
    if (e instanceof FileSyncWalkError) throw e;
    throw new FileSyncWalkError(`cannot read ${root}: ${(e as Error).message}`);
  }
  const matcher = opts.excludes && opts.excludes.length > 0 ? new IgnoreMatcher(opts.excludes, { flavor: 'legacy' }) : null;
  let includes: string[] | null = opts.includes ? opts.includes.map((p) => goClean(p)) : null;
  if (opts.followPaths && opts.followPaths.length > 0) {
    const targets = followLinks(realRoot, opts.followPaths);
    if (targets !== null) includes = [...new Set([...(includes ?? []), ...targets])].sort(compareGo);
  }
  let lastIncludedDir = '';
  const seenInodes = new Map<string, string>();
  let sinceYield = 0;

  // An explicit stack of directory listings keeps the walk iterative (deep trees do not grow the JS stack).
  const readNames = (rel: string): string[] => {
    try {
      return fs.readdirSync(rel === '' ? realRoot : path.join(realRoot, rel)).sort(compareGo);
    } catch (e) {
      throw new FileSyncWalkError(`cannot read directory ${rel === '' ? '.' : rel} of ${root}: ${(e as Error).message}`);
    }
  };
  const stack: Array<{ rel: string; names: string[]; next: number }> = [{ rel: '', names: readNames(''), next: 0 }];
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!;
    if (top.next >= top.names.length) {
      stack.pop();
      continue;
    }
    const name = top.names[top.next++]!;
    const rel = top.rel === '' ? name : `${top.rel}/${name}`;
    const abs = path.join(realRoot, rel);
    const st = fs.lstatSync(abs, { bigint: true, throwIfNoEntry: false });
    if (!st) continue; // vanished since the listing: fsutil skips it
    const isDir = st.isDirectory();

    if (includes !== null) {
      const skip = lastIncludedDir !== '' && rel.startsWith(lastIncludedDir + '/');
      if (!skip) {
        let matched = false;
        let partial = true;
        for (const pattern of includes) {
          const r = prefixMatch(pattern, rel);
          if (r.m) {
            matched = true;
            if (!r.partial) {
              partial = false;
              break;
            }
          }
        }
        if (!matched) continue; // a directory is not descended into either
        if (!partial && isDir) lastIncludedDir = rel;
      }
    }
    if (matcher !== null && matcher.legacyMatches(rel)) {
      if (!isDir || !matcher.mayReincludeUnder(rel)) continue;
      // An excluded directory that an exception may reach into is sent and walked, as fsutil does.
    }

    const mode = Number(st.mode);
    let goMode = goFileMode(mode) & ~GoMode.socket;
    // mkstat sets the size after the hardlink check, so a hardlink keeps its size too.
    const size = isDir ? 0 : Number(st.size);
    let linkname = '';
    let devmajor = 0;
    let devminor = 0;
    if (!isDir) {
      const fmt = mode & 0o170000;
      if (fmt === 0o060000 || fmt === 0o020000) {
        const rdev = Number(st.rdev);
        devmajor = (rdev >> 8) & 0xfff;
        devminor = (rdev & 0xff) | ((rdev >> 12) & 0xfff00);
      }
      const ino = String(st.ino);
      const first = st.nlink > 1n ? seenInodes.get(ino) : undefined;
      if (first !== undefined) linkname = first;
      else seenInodes.set(ino, rel);
      if (st.isSymbolicLink()) {
        try {
          linkname = fs.readlinkSync(abs);
        } catch (e) {
          throw new FileSyncWalkError(`cannot read link ${rel}: ${(e as Error).message}`);
        }
      }
    }
    goMode >>>= 0;
    const stat: SyncStat = {
      path: rel, mode: goMode, uid: Number(st.uid), gid: Number(st.gid), size, modTimeNs: st.mtimeNs, linkname, devmajor, devminor, abs,
    };
    if (!opts.map || opts.map(stat)) yield stat;
    if (isDir) stack.push({ rel, names: readNames(rel), next: 0 });
    if (++sinceYield >= 256) {
      sinceYield = 0;
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }
}
