// Shared fixtures for the context tests (no tests here; the *.test.ts name keeps it inside the files this part of
// the project owns). The scenarios are also built by test/docker/classicHash.test.ts, which checks the hashes
// below against a real daemon; the unit tests pin those daemon-verified values.

import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

export interface Scenario {
  name: string;
  /** Create the context's files in `dir`. */
  make(dir: string): void;
  /** Context-relative Dockerfile path (default 'Dockerfile'). */
  dockerfile?: string;
  /** Source lists, one COPY each. */
  copies: string[][];
}

export function write(dir: string, rel: string, content: string | Buffer, mode = 0o644): void {
  const p = path.join(dir, rel);
  fs.mkdirSync(path.dirname(p), { recursive: true });
  fs.writeFileSync(p, content);
  fs.chmodSync(p, mode);
}

export function mkdir(dir: string, rel: string, mode = 0o755): void {
  const p = path.join(dir, rel);
  fs.mkdirSync(p, { recursive: true });
  fs.chmodSync(p, mode);
}

export const SCENARIOS: Scenario[] = [
  {
    name: 'files, dirs, symlinks, hardlinks, wildcards, multi-source',
    make(d) {
      write(d, 'a.txt', 'hello\n');
      write(d, 'b.txt', 'second file\n');
      write(d, 'bin/run.sh', '#!/bin/sh\necho hi\n', 0o755);
      write(d, 'nested/deep/er/x.txt', 'x');
      write(d, 'nested/deep/y.md', 'yy');
      write(d, 'nested/z', '');
      mkdir(d, 'empty');
      mkdir(d, 'nested/emptysub', 0o700);
      write(d, 'src/two.py', 'print(2)\n');
      fs.linkSync(path.join(d, 'src/two.py'), path.join(d, 'hard.py'));
      fs.symlinkSync('a.txt', path.join(d, 'link'));
      fs.symlinkSync('nested', path.join(d, 'dirlink'));
      fs.symlinkSync('nested/deep/er/../y.md', path.join(d, 'nested/rel-link'));
      fs.symlinkSync('does-not-exist', path.join(d, 'nested/dangling'));
      fs.symlinkSync('/a.txt', path.join(d, 'nested/abs-link'));
      fs.symlinkSync('../../../../a.txt', path.join(d, 'nested/deep/escape'));
      fs.symlinkSync('..', path.join(d, 'nested/to-root'));
    },
    copies: [
      ['a.txt'],
      ['bin/run.sh'],
      ['nested'],
      ['.'],
      ['a.txt', 'nested'],
      ['link'],
      ['dirlink'],
      ['*.txt'],
      ['empty'],
      ['nested/*/er'],
      ['/a.txt'],
      ['./nested/'],
      ['src'],
      ['*.py', 'b.txt'],
      ['nested/deep/escape'],
      ['src/two.py'],
      ['nested/deep/er/../y.md'],
      ['dirlink/deep'],
      ['nested/to-root'],
      ['b*', 'a.txt'],
      ['bin'],
    ],
  },
  {
    name: '.dockerignore with exceptions, implicit directories, Dockerfile in an excluded directory',
    dockerfile: 'sub/Dockerfile',
    make(d) {
      write(
        d,
        '.dockerignore',
        [
          '# a comment',
          '*.log',
          '!keep.log',
          'docs',
          '!docs/README.md',
          '**/node_modules',
          'build/**',
          '/abs.txt',
          '  # not a comment',
          'sub',
          'deep/a',
          '!deep/a/b/c.txt',
          '',
        ].join('\n'),
      );
      write(d, 'app.log', 'log');
      write(d, 'keep.log', 'keep');
      write(d, 'docs/README.md', '# readme');
      write(d, 'docs/other.md', 'other');
      write(d, 'docs/img/p.png', 'png');
      write(d, 'pkg/node_modules/m/index.js', 'm');
      write(d, 'pkg/index.js', 'i');
      write(d, 'build/out.bin', 'out');
      write(d, 'build.txt', 'b');
      write(d, 'abs.txt', 'abs');
      write(d, '# not a comment', 'hash');
      write(d, 'sub/other.txt', 'o');
      write(d, 'deep/a/b/c.txt', 'c');
      write(d, 'deep/a/b/d.txt', 'd');
      write(d, 'deep/a/e.txt', 'e');
      fs.symlinkSync('../app.log', path.join(d, 'pkg/to-ignored'));
    },
    copies: [['.'], ['docs'], ['deep'], ['pkg'], ['sub']],
  },
  {
    name: 'patterns where the legacy and patternmatcher matchers disagree',
    make(d) {
      write(d, '.dockerignore', 'x/y\n!x\na+b\n**foo\n');
      write(d, 'x/y/f', 'f');
      write(d, 'x/z', 'z');
      write(d, 'aab', 'aab');
      write(d, 'a+b', 'plus');
      write(d, 'barfoo', 'bf');
      write(d, 'foo', 'foo');
      write(d, 'q/foo', 'qfoo');
    },
    copies: [['.'], ['x']],
  },
  {
    name: 'Dockerfile and .dockerignore listed in .dockerignore (CRLF)',
    make(d) {
      write(d, '.dockerignore', 'Dockerfile\r\n.dockerignore\r\n*.tmp\r\n!important.tmp\r\n');
      write(d, 'a.tmp', 'a');
      write(d, 'important.tmp', 'i');
      write(d, 'main.c', 'int main(){}');
      fs.symlinkSync('Dockerfile', path.join(d, 'df-link'));
    },
    copies: [['.'], ['main.c', '*.tmp']],
  },
];

export function dockerfileText(copies: string[][]): string {
  // JSON form so names with spaces or '#' need no quoting rules.
  return ['FROM scratch', ...copies.map((srcs, i) => `COPY ${JSON.stringify([...srcs, `/c${i}/`])}`)].join('\n') + '\n';
}

/** A fresh temp directory (callers remove it). */
export function tmpDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** Build a scenario's context (files + Dockerfile) under a new temp dir; returns the context path. */
export function makeScenario(sc: Scenario, root: string): string {
  const ctx = path.join(root, 'ctx');
  fs.mkdirSync(ctx);
  sc.make(ctx);
  write(ctx, sc.dockerfile ?? 'Dockerfile', dockerfileText(sc.copies));
  return ctx;
}

/**
 * Classic COPY hashes and layer sizes for SCENARIOS, as recorded by a real daemon (docker 20.10.24, overlay2) for
 * builds sent by docker CLI 20.10 ('full' modes, legacy .dockerignore matcher) and CLI 28 ('perm', patternmatcher).
 * test/docker/classicHash.test.ts re-checks every value against the daemon.
 */
export const DAEMON_VERIFIED: Record<string, Record<'full' | 'perm', Array<[string, number]>>> = {
  'files, dirs, symlinks, hardlinks, wildcards, multi-source': {
    full: [
      ['file:679c43c79a56cffbb3b002bda3050542c152a2f09757a0f1a9578871f7cda00d', 6],
      ['file:15ec6d1ebee623697445808f9178c926eb69d2cbe57585072bbaf8b2e1a0010d', 18],
      ['dir:8781f226211359c51a9abe718c0f0a099f5fad51b1a01680611fbb8620ff9e84', 64],
      ['dir:6e1f0532826776900ea831ae7dda1116d061e4ea9579e76a1e63a1b7c8fe4523', 688],
      ['multi:4f6104b31cddbb88d8b3ad83e4062cf8b94d5d7bc5616c7de54dd23675dc52dc', 70],
      ['file:679c43c79a56cffbb3b002bda3050542c152a2f09757a0f1a9578871f7cda00d', 6],
      ['dir:8781f226211359c51a9abe718c0f0a099f5fad51b1a01680611fbb8620ff9e84', 64],
      ['multi:55cb90313406b169b102e02cfc9ec29a0d61fe489c73e7991de017f21b2a70f8', 18],
      ['dir:c119f8279604970b6b54f7f3b02026538a53d3b076e0204eadd6d29a1fe0c1af', 0],
      ['dir:619960998038c7599f04dfe7b20e715bad8fadc403b76275e3887b39756f2809', 1],
      ['file:679c43c79a56cffbb3b002bda3050542c152a2f09757a0f1a9578871f7cda00d', 6],
      ['dir:8781f226211359c51a9abe718c0f0a099f5fad51b1a01680611fbb8620ff9e84', 64],
      ['dir:da7e9fb456e1ba92f68dd8c7d476f7fddb5fc4dc798c9fcb10420df32da3d697', 9],
      ['multi:0055a8c728ac151ce2fad0a083e07c255b54792d9c41a1acb7ce75d2b35e29f1', 21],
      ['file:679c43c79a56cffbb3b002bda3050542c152a2f09757a0f1a9578871f7cda00d', 6],
      ['file:ab3f13449e3a381690da1aaa7c9459396ebbf26afa69c076c3352af164c2dd86', 9],
      ['file:1da3cb187b18a4710b7d9d149d74382b29c922859ea65a517585a5f99f746888', 2],
      ['dir:7cdff82e8ab618019c8e6151514500132439d8cd1927a7eaba189f1d8c0b6c52', 20],
      ['dir:6e1f0532826776900ea831ae7dda1116d061e4ea9579e76a1e63a1b7c8fe4523', 688],
      ['multi:187c86540ed1d832cadc6e6d99926aeff52577c40895a31bf9b44b44358baa87', 36],
      ['dir:a2a3fa73f77c4cd91d553ad81e9ac48b4a80050e9d78f3e0e11be1608d3a455e', 18],
    ],
    perm: [
      ['file:00ec16333078d287782d462baefc8bb9eb0231dc3aefba3ca3e2f7e5cf0cadda', 6],
      ['file:ca430ff0d10225fa9e3f9d9781406389cbb95646999411a8db237a7b5b1539fb', 18],
      ['dir:5fdd08c45d911eaae0ab4663b10aca1bae167f5057d791707c5ba19dd1318c1c', 64],
      ['dir:1201bbdd6eb455e86c94bed2a115a92413d1b206a34461d5acc8f423894cacee', 688],
      ['multi:9f89d6095d78c8da05fb60be82b235f9852a24b65cc5128cb5a98bbe8af97339', 70],
      ['file:00ec16333078d287782d462baefc8bb9eb0231dc3aefba3ca3e2f7e5cf0cadda', 6],
      ['dir:5fdd08c45d911eaae0ab4663b10aca1bae167f5057d791707c5ba19dd1318c1c', 64],
      ['multi:9f64cc01d4056de96579e4e196c7511c2bfdf2da17eb6b14922fc697bde6af66', 18],
      ['dir:15a6c147bbd6ab912dbf1e5d10ba2c281b84d271a89eca59998579b447331c75', 0],
      ['dir:0daef8f465e5be026c8ea89bcbf3367da6f15e68a62e248167eafaa6ed014e61', 1],
      ['file:00ec16333078d287782d462baefc8bb9eb0231dc3aefba3ca3e2f7e5cf0cadda', 6],
      ['dir:5fdd08c45d911eaae0ab4663b10aca1bae167f5057d791707c5ba19dd1318c1c', 64],
      ['dir:eace33a37a18fd38b3fd8dbc03cdedd01acca18f407ec94e9065e80a0c1b8ca6', 9],
      ['multi:e832f63100aaebd65b7b5a159202d7d58de8495857343473b655830c0d2fc212', 21],
      ['file:00ec16333078d287782d462baefc8bb9eb0231dc3aefba3ca3e2f7e5cf0cadda', 6],
      ['file:9ff292ba75b6433901a790ebed3952a1b4f1efc01c4770414d14a49041cc3cd9', 9],
      ['file:18769248847257b5c5fce778e9e0a1b2be6491ec4823fe06725342ac14bcdf98', 2],
      ['dir:90151f38963a684bcb972a242604025b42807674cea62c2c6369633335516761', 20],
      ['dir:1201bbdd6eb455e86c94bed2a115a92413d1b206a34461d5acc8f423894cacee', 688],
      ['multi:722771728a9a208b0eddc56ab1a8dc54a7e68e4db2c944b09cf644e8054a53db', 36],
      ['dir:8eafdcfe1429e76ffa1920e39a8cd81d62e6a487eb9479bdb270454a982ed900', 18],
    ],
  },
  '.dockerignore with exceptions, implicit directories, Dockerfile in an excluded directory': {
    full: [
      ['dir:e13996fc395ba9952bd3bb4185b903244dccb8b87554b1c478c0a10376baece9', 153],
      ['dir:a4b7ddae11993296fdd0a4f7a0289f2567aa5c74d67176c1959382e920ab3e85', 8],
      ['dir:ec39468b57305fb924e12ef6bb2cae6bb4afc85d6571702443f1c8cc45168ab1', 1],
      ['dir:9de96a6753ecbb49378c0b9b9cf9d784b4ac0c7b31775ed0b6131228a4d30c0a', 11],
      ['dir:ddc6e2b224d0fd821669202258386936fc9ce2899e215eec6322b95f8dd96d6a', 0],
    ],
    perm: [
      ['dir:9525dff0dcbe71b0d1c411cda3c0ac6770e40c0adbde0642d4d211a8d6f566df', 153],
      ['dir:104b614f1786dff02f3505e48fae48a5c1c36742b5f980da7fa36abe58752966', 8],
      ['dir:a9576f6e2a96bae69483989d92f178d67227d397327e21c8a33f92fcc0f7e260', 1],
      ['dir:2a41b199819d52807951453c9c11e3c0892e1d9485c32ecb9fd73baea5011c6d', 11],
      ['dir:ddc6e2b224d0fd821669202258386936fc9ce2899e215eec6322b95f8dd96d6a', 0],
    ],
  },
  'patterns where the legacy and patternmatcher matchers disagree': {
    full: [
      ['dir:c52b41f636b4ce481223e552e906980c628ad224ad51193c3d0a4337e972c392', 74],
      ['dir:3720af27e2c5777c843748c30e6ed5c1b3e5a75ec5e72ab93a9084b8b1a06956', 2],
    ],
    perm: [
      ['dir:c12f418625a7397d94513da8f6697f2ba918eb0447cc53c441bfb9f222090274', 70],
      ['dir:3e934de6e5ede6037433f7d59d095567df037537f5225b3091c79bc0eb2dfe6d', 1],
    ],
  },
  'Dockerfile and .dockerignore listed in .dockerignore (CRLF)': {
    full: [
      ['dir:42a229b61deaa4ef45873ee2a234e2fbf4b15fc269f0edd73c5033dfb65f6b62', 23],
      ['multi:0d44c2368098c7c755a8458d9e20e96d5c06db0b16105e34e157e40671fe04c0', 13],
    ],
    perm: [
      ['dir:70cd986a9bd6865129d0810470143789fd2b43c2e6d50365e65887873faa2cf1', 23],
      ['multi:0c731314ac738f41d3b009d232352d17f10f27ff9f4cdb551b2b56e0ac1933e9', 13],
    ],
  },
};
