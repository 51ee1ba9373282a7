// The build context as a tar stream, written the way the docker CLI writes it (docker/cli `build` →
// archive.TarWithOptions with ChownOpts 0:0, pkg/archive addTarFile, Go archive/tar Writer):
//  - entries in filepath.Walk order (the ContextIndex walk), .dockerignore applied by the client, the Dockerfile and
//    .dockerignore always sent (TrimBuildFilesFromExcludes, classic; the daemon deletes them when listed);
//  - uid/gid 0 (ChownOpts), uname/gname empty, mtime truncated to the second, atime/ctime not written;
//  - mode: see tarMode() — permission bits (CLI ≥ 24), or with the file-type bits (CLI ≤ 23), or Windows' 0755|0111;
//  - directories named with a trailing '/', size 0; symlinks as TypeSymlink with their text, never followed;
//  - a non-directory with nlink > 1 whose inode was already written becomes TypeLink to the first path, size 0;
//  - USTAR headers (Go prefers USTAR when the fields fit: a long name is split into prefix/name); a PAX 'x' record
//    only when USTAR cannot hold a field (name > 255 or not splittable, non-ASCII, link text > 100, size ≥ 8 GiB);
//  - two zero blocks at the end, no padding to a 10 KiB record (Go's Writer.Close).
// The classic builder keys COPY/ADD on the tarsum of these headers (docker-build-cache.md §1), so each field here is
// part of a cache key. Not reproduced: the `security.capability` xattr Go copies (Node cannot read xattrs).
//
// Files are read while the stream is consumed (backpressure from the HTTP request): the context is never in memory.

import { promises as fsp } from 'fs';
import * as path from 'path';
import { Readable } from 'stream';
import { tarHeaderFor, TYPE_REG, type TarHeaderFields } from './tarsum';
import type { ContextEntry, TarModeVariant } from './types';

const BLOCK = 512;
const READ_CHUNK = 256 * 1024;
const USTAR_MAX_SIZE = 0o77777777777; // 11 octal digits

/** A file of the context changed size (or vanished) between the walk and the moment its bytes were sent. */
export class ContextChangedError extends Error {
  override readonly name = 'ContextChangedError';
}

export interface TarSource {
  readonly contextDir: string;
  /** Entries to send, in walk order (ContextIndex.sentEntries()). */
  readonly entries: readonly ContextEntry[];
  /** First path of the hardlink set for later paths (ContextIndex.hardlinkLeader). */
  readonly hardlinkLeader: (rel: string) => string | undefined;
  readonly variant: TarModeVariant;
  /** Extra regular files appended at the end (e.g. a Dockerfile from outside the context), name → content. */
  readonly extraFiles?: ReadonlyArray<{ readonly name: string; readonly content: Buffer; readonly mode: number }>;
  /**
   * Owner names for uname/gname. Go's tar.FileInfoHeader looks up the file's real owner (before the CLI forces
   * uid/gid 0), so the CLI's headers say e.g. "root"; no builder keys on them. Default: /etc/passwd and /etc/group.
   */
  readonly owners?: OwnerNames;
  /** Called with the bytes written so far, at most once per file (for "Sending context 12 MiB"). */
  readonly onBytes?: (bytes: number) => void;
}

/** The context tar as a stream; errors (unreadable file, file changed size) end the stream with that error. */
export function contextTarStream(src: TarSource): Readable {
  return Readable.from(contextTarChunks(src), { objectMode: false, highWaterMark: READ_CHUNK });
}

export interface OwnerNames {
  user(uid: number): string;
  group(gid: number): string;
}

/** Go's pure-Go os/user lookup: the first matching line of /etc/passwd (/etc/group); '' when there is none. */
export async function systemOwnerNames(): Promise<OwnerNames> {
  const table = async (file: string): Promise<Map<number, string>> => {
    const m = new Map<number, string>();
    const text = await fsp.readFile(file, 'utf8').catch(() => '');
    for (const line of text.split('\n')) {
      const f = line.split(':');
      const id = Number(f[2]);
      if (f.length >= 3 && f[0] && !line.startsWith('#') && Number.isInteger(id) && !m.has(id)) m.set(id, f[0]);
    }
    return m;
  };
  if (process.platform === 'win32') return { user: () => '', group: () => '' };
  const [users, groups] = await Promise.all([table('/etc/passwd'), table('/etc/group')]);
  return { user: (uid) => users.get(uid) ?? '', group: (gid) => groups.get(gid) ?? '' };
}

export async function* contextTarChunks(src: TarSource): AsyncGenerator<Buffer> {
  let sent = 0;
  const owners = src.owners ?? (await systemOwnerNames());
  for (const e of src.entries) {
    const h = tarHeaderFor(e, src.variant, src.hardlinkLeader(e.rel));
    const mtime = Math.floor(e.mtimeMs / 1000);
    yield* headerBlocks(h, mtime, e.uid === undefined ? '' : owners.user(e.uid), e.gid === undefined ? '' : owners.group(e.gid));
    sent += BLOCK;
    if (h.typeflag === TYPE_REG && h.size > 0) {
      for await (const chunk of fileBody(path.join(src.contextDir, e.rel), e.rel, h.size)) {
        sent += chunk.length;
        yield chunk;
      }
      const pad = padding(h.size);
      if (pad > 0) yield Buffer.alloc(pad);
    }
    src.onBytes?.(sent);
  }
  for (const f of src.extraFiles ?? []) {
    const h: TarHeaderFields = { name: f.name, mode: f.mode, size: f.content.length, typeflag: TYPE_REG, linkname: '', devmajor: 0, devminor: 0 };
    yield* headerBlocks(h, Math.floor(Date.now() / 1000), '', '');
    yield f.content;
    const pad = padding(f.content.length);
    if (pad > 0) yield Buffer.alloc(pad);
  }
  yield Buffer.alloc(2 * BLOCK);
}

function padding(size: number): number {
  return (BLOCK - (size % BLOCK)) % BLOCK;
}

/** Exactly `size` bytes of the file, in chunks; a file that shrank, grew or vanished is an error (like Go's tar). */
async function* fileBody(abs: string, rel: string, size: number): AsyncGenerator<Buffer> {
  let fh: fsp.FileHandle;
  try {
    fh = await fsp.open(abs, 'r');
  } catch (e) {
    throw new ContextChangedError(`cannot read ${rel} from the build context: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  try {
    let done = 0;
    while (done < size) {
      const want = Math.min(READ_CHUNK, size - done);
      const buf = Buffer.allocUnsafe(want);
      const { bytesRead } = await fh.read(buf, 0, want, done);
      if (bytesRead === 0) throw new ContextChangedError(`${rel} shrank while the build context was being sent (${done} of ${size} bytes); build again`);
      done += bytesRead;
      yield bytesRead === want ? buf : buf.subarray(0, bytesRead);
    }
    const probe = Buffer.alloc(1);
    if ((await fh.read(probe, 0, 1, size)).bytesRead !== 0) {
      throw new ContextChangedError(`${rel} grew while the build context was being sent (expected ${size} bytes); build again`);
    }
  } finally {
    await fh.close();
  }
}

// ---- header encoding (Go archive/tar writer semantics) ----

function isAscii(s: string): boolean {
  return /^[\x00-\x7f]*$/.test(s);
}

/** Go splitUSTARPath, line for line: prefix (≤155 bytes) + '/' + name (≤100 bytes, non-empty), one try only. */
function splitUstarPath(name: string): [string, string] | null {
  let length = name.length;
  if (length <= 100 || !isAscii(name)) return null;
  if (length > 155 + 1) length = 155 + 1;
  else if (name[length - 1] === '/') length--;
  const i = name.slice(0, length).lastIndexOf('/');
  const nlen = name.length - i - 1;
  if (i <= 0 || nlen > 100 || nlen === 0 || i > 155) return null;
  return [name.slice(0, i), name.slice(i + 1)];
}

function headerBlocks(h: TarHeaderFields, mtime: number, uname: string, gname: string): Buffer[] {
  const pax: Record<string, string> = {};
  let name = h.name;
  let prefix = '';
  if (Buffer.byteLength(name) > 100 || !isAscii(name)) {
    const split = splitUstarPath(name);
    if (split) [prefix, name] = split;
    else pax.path = h.name;
  }
  if (Buffer.byteLength(h.linkname) > 100 || !isAscii(h.linkname)) pax.linkpath = h.linkname;
  if (h.size > USTAR_MAX_SIZE) pax.size = String(h.size);
  if (uname.length > 32 || !isAscii(uname)) pax.uname = uname;
  if (gname.length > 32 || !isAscii(gname)) pax.gname = gname;
  const out: Buffer[] = [];
  const inPax = Object.keys(pax).length > 0;
  if (inPax) {
    // Go writePAXHeader: the record file is named path.Join(dir, "PaxHeaders.0", file) of path.Split(name) — for a
    // directory ("a/b/") that is "a/b/PaxHeaders.0" — then writeRawFile: ASCII only, ≤100 bytes, trailing '/' cut,
    // mode/uid/gid/mtime 0, no uname/gname/devmajor/devminor.
    const record = paxRecords(pax);
    const cut = h.name.lastIndexOf('/') + 1;
    const joined = path.posix.join(h.name.slice(0, cut), 'PaxHeaders.0', h.name.slice(cut));
    const rawName = toAscii(joined).slice(0, 100).replace(/\/+$/, '');
    out.push(rawBlock(rawName, record.length));
    out.push(record);
    const pad = padding(record.length);
    if (pad > 0) out.push(Buffer.alloc(pad));
  }
  // Go formats every string field of a PAX-format main header through toASCII and truncates it to the field.
  const fit = (s: string, n: number): string => (inPax ? toAscii(s).slice(0, n) : s);
  out.push(ustarBlock({
    name: fit(name, 100),
    prefix,
    mode: h.mode,
    size: pax.size !== undefined ? 0 : h.size,
    mtime,
    typeflag: h.typeflag,
    linkname: fit(h.linkname, 100),
    uname: fit(uname, 32),
    gname: fit(gname, 32),
    devmajor: h.devmajor,
    devminor: h.devminor,
  }));
  return out;
}

/** Go toASCII: drops every non-ASCII character and NUL. */
function toAscii(s: string): string {
  return s.replace(/[^\x01-\x7f]/g, '');
}

/** Go writeRawFile for the PAX record file: typeflag 'x', name, size; numeric fields 0; USTAR magic. */
function rawBlock(name: string, size: number): Buffer {
  const b = Buffer.alloc(BLOCK);
  b.write(name, 0, 'latin1');
  const octal = (off: number, len: number, v: number): void => {
    b.write(v.toString(8).padStart(len - 1, '0'), off, 'latin1');
  };
  octal(100, 8, 0);
  octal(108, 8, 0);
  octal(116, 8, 0);
  octal(124, 12, size);
  octal(136, 12, 0);
  b.write('x', 156, 'latin1');
  b.write('ustar\0', 257, 'latin1');
  b.write('00', 263, 'latin1');
  checksum(b);
  return b;
}

function checksum(b: Buffer): void {
  b.fill(0x20, 148, 156);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += b[i]!;
  b.write(sum.toString(8).padStart(6, '0') + '\0', 148, 'latin1');
  b[155] = 0x20;
}

/** PAX records "%d %s=%s\n", where the length counts itself. */
function paxRecords(pax: Record<string, string>): Buffer {
  const parts: Buffer[] = [];
  for (const k of Object.keys(pax).sort()) {
    const body = ` ${k}=${pax[k]}\n`;
    const bodyLen = Buffer.byteLength(body);
    let n = bodyLen + String(bodyLen).length;
    if (String(n).length !== String(bodyLen).length) n = bodyLen + String(n).length;
    parts.push(Buffer.from(`${n}${body}`, 'utf8'));
  }
  return Buffer.concat(parts);
}

interface UstarFields {
  readonly name: string;
  readonly prefix: string;
  readonly mode: number;
  readonly size: number;
  readonly mtime: number;
  readonly typeflag: string;
  readonly linkname: string;
  readonly uname: string;
  readonly gname: string;
  readonly devmajor: number;
  readonly devminor: number;
}

/** One 512-byte USTAR header block, fields formatted like Go's formatOctal (zero-padded, NUL-terminated). */
function ustarBlock(f: UstarFields): Buffer {
  const b = Buffer.alloc(BLOCK);
  const str = (off: number, len: number, s: string): void => {
    b.write(s, off, Math.min(len, Buffer.byteLength(s)), 'utf8');
  };
  const octal = (off: number, len: number, v: number): void => {
    str(off, len, v.toString(8).padStart(len - 1, '0'));
  };
  str(0, 100, f.name);
  octal(100, 8, f.mode);
  octal(108, 8, 0); // uid
  octal(116, 8, 0); // gid
  octal(124, 12, f.size);
  octal(136, 12, f.mtime);
  str(156, 1, f.typeflag);
  str(157, 100, f.linkname);
  str(257, 6, 'ustar\0');
  str(263, 2, '00');
  str(265, 32, f.uname);
  str(297, 32, f.gname);
  octal(329, 8, f.devmajor);
  octal(337, 8, f.devminor);
  str(345, 155, f.prefix);
  checksum(b);
  return b;
}
