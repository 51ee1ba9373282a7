// The .vsix under test: built once per test process exactly as `npm run package` builds it (esbuild production
// bundles + vsce), or taken from LAYERLENS_E2E_VSIX.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as zlib from 'zlib';
import { runToEnd } from './codeServer';
import { REPO_ROOT } from './e2eEnv';

let packaged: Promise<string> | null = null;

/** Path of the packaged .vsix (its folder is removed when the process exits). */
export function packagedVsix(): Promise<string> {
  const given = process.env['LAYERLENS_E2E_VSIX'];
  if (given) return Promise.resolve(path.resolve(given));
  packaged ??= (async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'layerlens-vsix-'));
    process.once('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
    const out = path.join(dir, 'layer-lens.vsix');
    await runToEnd('npm', ['run', '--silent', 'package', '--', '--out', out], process.env, 180_000, REPO_ROOT);
    return out;
  })();
  return packaged;
}

export interface ZipEntry {
  readonly name: string;
  /** The uncompressed content. */
  read(): Buffer;
}

/** The entries of a zip file (a .vsix), from its central directory; stored and deflated entries can be read. */
export function zipEntries(file: string): ZipEntry[] {
  const buf = fs.readFileSync(file);
  // End of central directory: 22 bytes plus a comment of at most 65535 bytes, at the end of the file.
  let eocd = -1;
  for (let i = buf.length - 22; i >= Math.max(0, buf.length - 22 - 0xffff); i--) {
    if (buf.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new Error(`${file}: not a zip file`);
  const count = buf.readUInt16LE(eocd + 10);
  let p = buf.readUInt32LE(eocd + 16);
  const entries: ZipEntry[] = [];
  for (let n = 0; n < count; n++) {
    if (buf.readUInt32LE(p) !== 0x02014b50) throw new Error(`${file}: bad central directory entry ${n}`);
    const method = buf.readUInt16LE(p + 10);
    const compressedSize = buf.readUInt32LE(p + 20);
    const nameLen = buf.readUInt16LE(p + 28);
    const extraLen = buf.readUInt16LE(p + 30);
    const commentLen = buf.readUInt16LE(p + 32);
    const localHeader = buf.readUInt32LE(p + 42);
    const name = buf.toString('utf8', p + 46, p + 46 + nameLen);
    entries.push({
      name,
      read: () => {
        if (buf.readUInt32LE(localHeader) !== 0x04034b50) throw new Error(`${file}: bad local header for ${name}`);
        const start = localHeader + 30 + buf.readUInt16LE(localHeader + 26) + buf.readUInt16LE(localHeader + 28);
        const data = buf.subarray(start, start + compressedSize);
        if (method === 0) return Buffer.from(data);
        if (method === 8) return zlib.inflateRawSync(data);
        throw new Error(`${file}: ${name} uses compression method ${method}`);
      },
    });
    p += 46 + nameLen + extraLen + commentLen;
  }
  return entries;
}
