// A small synchronous, push-based streaming tar reader: ustar, v7, GNU long names (typeflag L/K) and PAX headers
// (x/g; path, linkpath, size, uid, gid, mtime, uname, gname). Bodies are handed to a sink chunk by chunk and never
// buffered (only L/K/x/g bodies, capped). Base-256 numeric fields are supported.

export type TarEntryType = 'file' | 'dir' | 'symlink' | 'hardlink' | 'char' | 'block' | 'fifo' | 'other';

export interface TarHeader {
  /** Name as stored (long name / PAX path applied, ustar prefix joined); not normalised. */
  readonly name: string;
  readonly linkname: string;
  /** The typeflag character ('0', '5', …; NUL reported as '0'). */
  readonly typeflag: string;
  readonly type: TarEntryType;
  /** Mode field as stored (may include file-type bits, depending on the writer). */
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  /** Size from the header (PAX size applied). For header-only types the body is empty whatever this says. */
  readonly size: number;
  readonly mtime: number;
  readonly uname: string;
  readonly gname: string;
  readonly devmajor: number;
  readonly devminor: number;
  /** Effective PAX records for this entry (global ones overridden by local ones). */
  readonly pax: Readonly<Record<string, string>>;
  /** Byte offset of this entry's header block in the archive. */
  readonly offset: number;
}

export interface TarBodySink {
  write(chunk: Buffer): void;
  end(): void;
}

export class TarFormatError extends Error {
  override readonly name = 'TarFormatError';
  constructor(message: string, readonly offset: number) {
    super(`${message} (at byte ${offset})`);
  }
}

const BLOCK = 512;
const HEADER_ONLY = new Set(['1', '2', '3', '4', '5', '6']);
const META = new Set(['L', 'K', 'x', 'g']);

export interface TarParserOptions {
  /** Largest accepted L/K/x/g body (default 1 MiB). */
  readonly maxMetaSize?: number;
}

type State =
  | { kind: 'header' }
  | { kind: 'body'; left: number; pad: number; sink: TarBodySink | null }
  | { kind: 'meta'; flag: string; left: number; pad: number; parts: Buffer[]; at: number }
  | { kind: 'done' };

export class TarParser {
  private state: State = { kind: 'header' };
  private readonly hdr = Buffer.alloc(BLOCK);
  private hdrFill = 0;
  private offset = 0; // bytes consumed so far
  private zeroBlocks = 0;
  private longName: string | null = null;
  private longLink: string | null = null;
  private paxLocal: Record<string, string> | null = null;
  private paxGlobal: Record<string, string> = {};
  private sawEndMarker = false;
  private readonly maxMeta: number;

  constructor(private readonly onEntry: (h: TarHeader) => TarBodySink | null | void, opts: TarParserOptions = {}) {
    this.maxMeta = opts.maxMetaSize ?? 1024 * 1024;
  }

  /** True once the end-of-archive marker (zero blocks) was read. */
  get complete(): boolean {
    return this.sawEndMarker;
  }

  /** Bytes consumed. */
  get position(): number {
    return this.offset;
  }

  write(chunk: Buffer): void {
    let i = 0;
    const n = chunk.length;
    while (i < n) {
      const st = this.state;
      switch (st.kind) {
        case 'done':
          this.offset += n - i;
          return;
        case 'header': {
          const take = Math.min(BLOCK - this.hdrFill, n - i);
          chunk.copy(this.hdr, this.hdrFill, i, i + take);
          this.hdrFill += take;
          i += take;
          this.offset += take;
          if (this.hdrFill === BLOCK) {
            this.hdrFill = 0;
            this.onHeaderBlock(this.offset - BLOCK);
          }
          break;
        }
        case 'body': {
          if (st.left > 0) {
            const take = Math.min(st.left, n - i);
            if (st.sink) st.sink.write(chunk.subarray(i, i + take));
            st.left -= take;
            i += take;
            this.offset += take;
            if (st.left === 0 && st.sink) st.sink.end();
          } else {
            const take = Math.min(st.pad, n - i);
            st.pad -= take;
            i += take;
            this.offset += take;
          }
          if (st.left === 0 && st.pad === 0) this.state = { kind: 'header' };
          break;
        }
        case 'meta': {
          if (st.left > 0) {
            const take = Math.min(st.left, n - i);
            st.parts.push(Buffer.from(chunk.subarray(i, i + take)));
            st.left -= take;
            i += take;
            this.offset += take;
          } else {
            const take = Math.min(st.pad, n - i);
            st.pad -= take;
            i += take;
            this.offset += take;
          }
          if (st.left === 0 && st.pad === 0) {
            this.state = { kind: 'header' };
            this.applyMeta(st.flag, Buffer.concat(st.parts), st.at);
          }
          break;
        }
      }
    }
  }

  /** Call at end of input. Throws when the archive stopped inside a header or body. */
  end(): void {
    const st = this.state;
    if (st.kind === 'done') return;
    if (st.kind === 'header' && this.hdrFill === 0) {
      // Ended on a block boundary without (or with one) zero block: accepted, like GNU tar.
      this.state = { kind: 'done' };
      return;
    }
    throw new TarFormatError('archive is truncated', this.offset);
  }

  private onHeaderBlock(at: number): void {
    const b = this.hdr;
    if (isZero(b)) {
      this.zeroBlocks++;
      if (this.zeroBlocks >= 2) {
        this.sawEndMarker = true;
        this.state = { kind: 'done' };
      }
      return;
    }
    if (this.zeroBlocks > 0) this.zeroBlocks = 0; // a lone zero block inside the archive: skip it

    verifyChecksum(b, at);
    const magic = b.toString('latin1', 257, 263);
    const isUstar = magic === 'ustar\0';
    const isGnu = magic === 'ustar ';
    let name = cstr(b, 0, 100);
    if (isUstar) {
      const prefix = cstr(b, 345, 155);
      if (prefix.length > 0) name = `${prefix}/${name}`;
    }
    const rawFlag = b[156]!;
    const typeflag = rawFlag === 0 ? '0' : String.fromCharCode(rawFlag);
    let size = num(b, 124, 12, 'size', at);

    if (META.has(typeflag)) {
      // PAX size does not apply to the meta entry itself.
      if (size > this.maxMeta) throw new TarFormatError(`'${typeflag}' header of ${size} bytes exceeds the ${this.maxMeta}-byte limit`, at);
      const pad = padOf(size);
      if (size === 0) {
        this.applyMeta(typeflag, Buffer.alloc(0), at);
      } else {
        this.state = { kind: 'meta', flag: typeflag, left: size, pad, parts: [], at };
      }
      return;
    }

    const pax: Record<string, string> = { ...this.paxGlobal, ...(this.paxLocal ?? {}) };
    let linkname = cstr(b, 157, 100);
    let uid = num(b, 108, 8, 'uid', at);
    let gid = num(b, 116, 8, 'gid', at);
    let mtime = num(b, 136, 12, 'mtime', at);
    let uname = isUstar || isGnu ? cstr(b, 265, 32) : '';
    let gname = isUstar || isGnu ? cstr(b, 297, 32) : '';
    if (this.longName !== null) name = this.longName;
    if (this.longLink !== null) linkname = this.longLink;
    if (pax.path !== undefined) name = pax.path;
    if (pax.linkpath !== undefined) linkname = pax.linkpath;
    if (pax.size !== undefined) size = paxInt(pax.size, 'size', at);
    if (pax.uid !== undefined) uid = paxInt(pax.uid, 'uid', at);
    if (pax.gid !== undefined) gid = paxInt(pax.gid, 'gid', at);
    if (pax.mtime !== undefined) {
      const t = Number(pax.mtime);
      if (Number.isFinite(t)) mtime = t;
    }
    if (pax.uname !== undefined) uname = pax.uname;
    if (pax.gname !== undefined) gname = pax.gname;
    this.longName = null;
    this.longLink = null;
    this.paxLocal = null;

    let type = typeOf(typeflag);
    if (type === 'file' && rawFlag === 0 && name.endsWith('/')) type = 'dir'; // v7 directory
    const header: TarHeader = {
      name, linkname, typeflag, type,
      mode: num(b, 100, 8, 'mode', at),
      uid, gid, size, mtime, uname, gname,
      devmajor: isUstar || isGnu ? num(b, 329, 8, 'devmajor', at) : 0,
      devminor: isUstar || isGnu ? num(b, 337, 8, 'devminor', at) : 0,
      pax,
      offset: at,
    };
    const bodySize = HEADER_ONLY.has(typeflag) ? 0 : size;
    const sink = this.onEntry(header) ?? null;
    if (bodySize === 0) {
      if (sink) sink.end();
      return;
    }
    this.state = { kind: 'body', left: bodySize, pad: padOf(bodySize), sink };
  }

  private applyMeta(flag: string, body: Buffer, at: number): void {
    switch (flag) {
      case 'L':
        this.longName = cstr(body, 0, body.length);
        break;
      case 'K':
        this.longLink = cstr(body, 0, body.length);
        break;
      case 'x':
        this.paxLocal = { ...(this.paxLocal ?? {}), ...parsePax(body, at) };
        break;
      case 'g':
        for (const [k, v] of Object.entries(parsePax(body, at))) {
          if (v === '') delete this.paxGlobal[k];
          else this.paxGlobal[k] = v;
        }
        break;
    }
  }
}

function typeOf(flag: string): TarEntryType {
  switch (flag) {
    case '0': case '7': return 'file';
    case '1': return 'hardlink';
    case '2': return 'symlink';
    case '3': return 'char';
    case '4': return 'block';
    case '5': return 'dir';
    case '6': return 'fifo';
    default: return 'other';
  }
}

function padOf(size: number): number {
  const r = size % BLOCK;
  return r === 0 ? 0 : BLOCK - r;
}

function isZero(b: Buffer): boolean {
  for (let i = 0; i < BLOCK; i++) if (b[i] !== 0) return false;
  return true;
}

function cstr(b: Buffer, off: number, len: number): string {
  let end = off;
  const max = Math.min(off + len, b.length);
  while (end < max && b[end] !== 0) end++;
  return b.toString('utf8', off, end);
}

function num(b: Buffer, off: number, len: number, field: string, at: number): number {
  const first = b[off]!;
  if (first & 0x80) {
    // GNU base-256: big-endian two's complement, high bit of the first byte set.
    if (first === 0xff) throw new TarFormatError(`negative ${field} in header`, at);
    let v = first & 0x7f;
    for (let i = 1; i < len; i++) {
      v = v * 256 + b[off + i]!;
      if (v > Number.MAX_SAFE_INTEGER) throw new TarFormatError(`${field} too large`, at);
    }
    return v;
  }
  let s = b.toString('latin1', off, off + len);
  const nul = s.indexOf('\0');
  if (nul >= 0) s = s.slice(0, nul);
  s = s.trim();
  if (s === '') return 0;
  if (!/^[0-7]+$/.test(s)) throw new TarFormatError(`invalid octal ${field} ${JSON.stringify(s)}`, at);
  return parseInt(s, 8);
}

/** True when `b` starts with a 512-byte block that is a valid tar header or an all-zero block. */
export function isTarHeaderBlock(b: Buffer): boolean {
  if (b.length < BLOCK) return false;
  const block = b.subarray(0, BLOCK);
  if (isZero(block)) return true;
  try {
    verifyChecksum(block, 0);
    return true;
  } catch {
    return false;
  }
}

function verifyChecksum(b: Buffer, at: number): void {
  let stored: number;
  try {
    stored = num(b, 148, 8, 'checksum', at);
  } catch {
    throw new TarFormatError('invalid tar header checksum', at);
  }
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const c = i >= 148 && i < 156 ? 0x20 : b[i]!;
    unsigned += c;
    signed += c > 127 ? c - 256 : c;
  }
  if (stored !== unsigned && stored !== signed) throw new TarFormatError('invalid tar header checksum', at);
}

function paxInt(v: string, field: string, at: number): number {
  if (!/^\d+$/.test(v)) throw new TarFormatError(`invalid PAX ${field} ${JSON.stringify(v)}`, at);
  const n = Number(v);
  if (!Number.isSafeInteger(n)) throw new TarFormatError(`PAX ${field} too large`, at);
  return n;
}

/** PAX records: "<len> <key>=<value>\n", where <len> counts the whole record in bytes. */
export function parsePax(body: Buffer, at = 0): Record<string, string> {
  const out: Record<string, string> = {};
  let i = 0;
  while (i < body.length) {
    if (body[i] === 0) break; // padding some writers leave
    const sp = body.indexOf(0x20, i);
    if (sp < 0) throw new TarFormatError('malformed PAX record (no length)', at);
    const lenText = body.toString('latin1', i, sp);
    if (!/^\d+$/.test(lenText)) throw new TarFormatError(`malformed PAX record length ${JSON.stringify(lenText)}`, at);
    const len = Number(lenText);
    const end = i + len;
    if (len <= sp - i + 1 || end > body.length || body[end - 1] !== 0x0a) throw new TarFormatError('malformed PAX record', at);
    const rec = body.toString('utf8', sp + 1, end - 1);
    const eq = rec.indexOf('=');
    if (eq <= 0) throw new TarFormatError('malformed PAX record (no key)', at);
    out[rec.slice(0, eq)] = rec.slice(eq + 1);
    i = end;
  }
  return out;
}
