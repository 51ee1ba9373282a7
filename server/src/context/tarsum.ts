// The per-entry checksum the classic builder keys COPY/ADD on (moby pkg/tarsum, Version1, as used by
// builder/remotecontext.FromArchive). For every tar header the CLI writes, the daemon hashes
//   "name"+Name "mode"+Mode "uid"+Uid "gid"+Gid "size"+Size "typeflag"+T "linkname"+L "uname" "gname"
//   "devmajor"+Maj "devminor"+Min, then sorted xattr key+value pairs, then the entry body,
// all decimal, mtime left out, uname/gname forced empty. Here we rebuild the header the CLI would write for a
// context entry (docker/cli → pkg/archive or moby/go-archive TarWithOptions with ChownOpts 0:0).

import { createHash } from 'crypto';
import { ContextEntry, TarModeVariant } from './types';

export const TYPE_REG = '0';
export const TYPE_LINK = '1';
export const TYPE_SYMLINK = '2';
export const TYPE_CHAR = '3';
export const TYPE_BLOCK = '4';
export const TYPE_DIR = '5';
export const TYPE_FIFO = '6';

const S_IFMT = 0o170000;
const S_IFCHR = 0o020000;
const S_IFBLK = 0o060000;
const S_IFIFO = 0o010000;

/**
 * The tar header's mode field as each client writes it.
 *  - 'perm': Go's tar.FileInfoHeader alone (docker CLI ≥ 24 / go-archive): permission, setuid/setgid/sticky bits.
 *  - 'full': CLI ≤ 23 also ORs in the file-type bits (fillGo18FileTypeBits); on Linux that equals st_mode.
 *  - 'windows': Windows CLIs force (perm & 0755) | 0111 (chmodTarEntry), type bits not added.
 */
export function tarMode(entryMode: number, variant: TarModeVariant): number {
  const perm = entryMode & 0o7777;
  switch (variant) {
    case 'perm':
      return perm;
    case 'full':
      return (entryMode & S_IFMT) | perm;
    case 'windows':
      return (perm & ~0o777) | ((perm & 0o755) | 0o111);
  }
}

/** Linux dev_t → (major, minor), like unix.Major/Minor. */
export function devMajorMinor(rdev: number): [number, number] {
  const hi = Math.floor(rdev / 0x100000000);
  const lo = rdev >>> 0;
  const major = ((lo >>> 8) & 0xfff) | ((hi & 0xfffff000) >>> 0);
  const minor = (lo & 0xff) | ((lo >>> 12) & 0xfff00);
  return [major >>> 0, minor >>> 0];
}

export interface TarHeaderFields {
  readonly name: string;
  readonly mode: number;
  readonly size: number;
  readonly typeflag: string;
  readonly linkname: string;
  readonly devmajor: number;
  readonly devminor: number;
}

/** The tar header the CLI writes for `entry`; `hardlinkTo` names the first path of its hardlink set, if later. */
export function tarHeaderFor(entry: ContextEntry, variant: TarModeVariant, hardlinkTo?: string): TarHeaderFields {
  const mode = tarMode(entry.mode, variant);
  let typeflag: string;
  let size = 0;
  let linkname = '';
  let devmajor = 0;
  let devminor = 0;
  let name = entry.rel;
  switch (entry.kind) {
    case 'dir':
      typeflag = TYPE_DIR;
      name += '/';
      break;
    case 'file':
      typeflag = TYPE_REG;
      size = entry.size;
      break;
    case 'symlink':
      typeflag = TYPE_SYMLINK;
      linkname = entry.linkTarget ?? '';
      break;
    default: {
      const fmt = entry.mode & S_IFMT;
      typeflag = fmt === S_IFCHR ? TYPE_CHAR : fmt === S_IFBLK ? TYPE_BLOCK : fmt === S_IFIFO ? TYPE_FIFO : TYPE_REG;
      if ((fmt === S_IFCHR || fmt === S_IFBLK) && entry.rdev !== undefined) [devmajor, devminor] = devMajorMinor(entry.rdev);
    }
  }
  // pkg/archive: a non-directory with nlink > 1 whose inode was already written becomes a hard link entry.
  if (hardlinkTo !== undefined && entry.kind !== 'dir') {
    typeflag = TYPE_LINK;
    linkname = hardlinkTo;
    size = 0;
  }
  return { name, mode, size, typeflag, linkname, devmajor, devminor };
}

/** The header part of the tarsum input (tarsum v1 header selection, no xattrs). */
export function tarsumHeaderString(h: TarHeaderFields): string {
  return (
    'name' + h.name +
    'mode' + h.mode +
    'uid0gid0' +
    'size' + h.size +
    'typeflag' + h.typeflag +
    'linkname' + h.linkname +
    'uname' + 'gname' +
    'devmajor' + h.devmajor +
    'devminor' + h.devminor
  );
}

/** Whether the entry's tarsum includes file content (regular file body written to the tar). */
export function tarHasBody(h: TarHeaderFields): boolean {
  return h.typeflag === TYPE_REG && h.size > 0;
}

/** Tarsum of an entry without a body (directories, symlinks, hard links, empty files, devices). */
export function tarsumWithoutBody(h: TarHeaderFields): string {
  return createHash('sha256').update(tarsumHeaderString(h), 'utf8').digest('hex');
}
