// The pure size/cache rules: which Dockerfiles trigger which code, where, and which do not (table-driven, LF and CRLF).

import * as assert from 'assert';
import {
  computeDiagnostics,
  installOf,
  ruleHref,
  RULES,
  scanShell,
  volatilePaths,
  type ContextFacts,
  type DiagnosticCode,
  type LayerDiagnostic,
} from '../../server/src/engine/diagnostics';
import { facts } from '../server/textHelpers';

const lines = (...l: string[]): string => l.join('\n') + '\n';

interface Case {
  readonly name: string;
  readonly text: string;
  readonly context?: ContextFacts | null;
  /** Expected [code, 1-based line] pairs, in order. */
  readonly expect: readonly (readonly [DiagnosticCode, number])[];
  readonly message?: RegExp;
}

const node = facts({ Dockerfile: 10, 'package.json': 100, 'package-lock.json': 2000, 'index.js': 50 }, { dockerfileRel: null });

const CASES: Case[] = [
  // LL001
  { name: 'COPY . . before npm ci', text: lines('FROM node:20', 'WORKDIR /app', 'COPY . .', 'RUN npm ci'), context: node, expect: [['LL001', 3], ['LL003', 4]] },
  { name: 'manifest first: no LL001', text: lines('FROM node:20', 'COPY package.json package-lock.json ./', 'RUN npm ci && npm cache clean --force', 'COPY . .', 'RUN npm run build'), context: node, expect: [] },
  { name: 'ADD . /app before pip -r', text: lines('FROM python:3', 'ADD . /app', 'RUN pip install --no-cache-dir -r /app/requirements.txt'), expect: [['LL001', 2]] },
  { name: 'apt after COPY . .', text: lines('FROM debian', 'COPY . /src', 'RUN apt-get install -y make'), expect: [['LL001', 2]], message: /reinstalls these packages/ },
  { name: 'go mod download after COPY ./ ./', text: lines('FROM golang', 'COPY ./ ./', 'RUN go mod download'), expect: [['LL001', 2]] },
  { name: 'COPY --from is not the context', text: lines('FROM node AS b', 'FROM node', 'COPY --from=b . .', 'RUN npm ci && npm cache clean --force'), expect: [] },
  { name: 'npm run build is not an install', text: lines('FROM node', 'COPY . .', 'RUN npm run build'), expect: [] },
  { name: 'install in another stage', text: lines('FROM node AS a', 'COPY . .', 'FROM node', 'RUN yarn install && yarn cache clean'), expect: [] },
  { name: 'message names the install and its line', text: lines('FROM ruby', 'COPY . .', 'RUN bundle install'), expect: [['LL001', 2]], message: /`bundle install` \(line 3\)/ },
  // LL002
  {
    name: 'Dockerfile inside COPY . .',
    text: lines('FROM busybox', 'COPY . /app'),
    context: facts({ Dockerfile: 20, 'a.txt': 1 }),
    expect: [['LL002', 2]],
    message: /`Dockerfile`.*even a comment/,
  },
  {
    name: 'Dockerfile and .dockerignore inside COPY .',
    text: lines('FROM busybox', 'COPY . /app'),
    context: facts({ Dockerfile: 20, '.dockerignore': 5, 'a.txt': 1 }, { dockerignoreRel: '.dockerignore' }),
    expect: [['LL002', 2]],
    message: /`Dockerfile` and `\.dockerignore`/,
  },
  { name: 'Dockerfile excluded', text: lines('FROM busybox', 'COPY . /app'), context: facts({ 'a.txt': 1 }), expect: [] },
  { name: 'narrow COPY does not take the Dockerfile', text: lines('FROM busybox', 'COPY src /app'), context: facts({ Dockerfile: 1, 'src/a': 1 }), expect: [] },
  { name: 'Dockerfile in a subfolder copied by COPY docker/', text: lines('FROM busybox', 'COPY docker/ /d/'), context: facts({ 'docker/Dockerfile': 1 }, { dockerfileRel: 'docker/Dockerfile' }), expect: [['LL002', 2]] },
  // LL003
  { name: 'apt lists left', text: lines('FROM debian', 'RUN apt-get update && apt-get install -y curl'), expect: [['LL003', 2]], message: /apt\/lists/ },
  { name: 'apt lists removed', text: lines('FROM debian', 'RUN apt-get update && apt-get install -y curl && rm -rf /var/lib/apt/lists/*'), expect: [] },
  { name: 'apt with a cache mount', text: lines('FROM debian', 'RUN --mount=type=cache,target=/var/lib/apt apt-get update && apt-get install -y x'), expect: [] },
  { name: 'pip without --no-cache-dir', text: lines('FROM python', 'RUN pip install flask'), expect: [['LL003', 2]] },
  { name: 'pip with --no-cache-dir', text: lines('FROM python', 'RUN pip install --no-cache-dir flask'), expect: [] },
  { name: 'PIP_NO_CACHE_DIR set before', text: lines('FROM python', 'ENV PIP_NO_CACHE_DIR=1', 'RUN pip install flask'), expect: [] },
  { name: 'python -m pip', text: lines('FROM python', 'RUN python3 -m pip install flask'), expect: [['LL003', 2]] },
  { name: 'uv pip is not pip', text: lines('FROM python', 'RUN uv pip install flask'), expect: [] },
  { name: 'apk add without --no-cache', text: lines('FROM alpine', 'RUN apk add curl'), expect: [['LL003', 2]] },
  { name: 'apk add --no-cache', text: lines('FROM alpine', 'RUN apk add --no-cache curl'), expect: [] },
  { name: 'npm cache', text: lines('FROM node', 'RUN npm install -g pnpm'), expect: [['LL003', 2]], message: /npm cache clean --force/ },
  { name: 'quoted command is not a command', text: lines('FROM debian', "RUN echo 'apt-get update'"), expect: [] },
  // LL004
  { name: 'two RUNs', text: lines('FROM debian', 'RUN echo a', 'RUN echo b'), expect: [['LL004', 3]], message: /lines 2, 3/ },
  { name: 'three RUNs with a comment between', text: lines('FROM debian', 'RUN echo a', '# b next', 'RUN echo b', '', 'RUN echo c'), expect: [['LL004', 4]] },
  { name: 'separated by ENV', text: lines('FROM debian', 'RUN echo a', 'ENV X=1', 'RUN echo b'), expect: [] },
  { name: 'different flags', text: lines('FROM debian', 'RUN --network=none echo a', 'RUN echo b'), expect: [] },
  { name: 'exec form', text: lines('FROM debian', 'RUN ["echo", "a"]', 'RUN echo b'), expect: [] },
  { name: 'across stages', text: lines('FROM debian', 'RUN echo a', 'FROM debian', 'RUN echo b'), expect: [] },
  // LL005
  {
    name: 'node_modules copied by COPY . .',
    text: lines('FROM node', 'COPY package.json .', 'RUN npm ci && npm cache clean --force', 'COPY . .'),
    context: facts({ 'package.json': 1, 'node_modules/a/index.js': 3000, 'node_modules/b/index.js': 2000 }, { dockerfileRel: null }),
    expect: [['LL005', 4]],
    message: /`node_modules` \(4\.9 KiB in 2 files\)/,
  },
  {
    name: 'BuildKit does not send what no COPY takes',
    text: lines('FROM node', 'COPY index.js .'),
    context: facts({ 'index.js': 1, '.git/HEAD': 20 }, { dockerfileRel: null }),
    expect: [],
  },
  {
    name: 'classic sends the whole context',
    text: lines('FROM node', 'COPY index.js .'),
    context: facts({ 'index.js': 1, '.git/HEAD': 20 }, { dockerfileRel: null, builder: 'classic' }),
    expect: [['LL005', 1]],
    message: /sent to the daemon with every build/,
  },
  {
    name: 'COPY dist deploys a build output',
    text: lines('FROM nginx', 'COPY dist /usr/share/nginx/html', 'COPY . /src'),
    context: facts({ 'dist/index.html': 1 }, { dockerfileRel: null }),
    expect: [],
  },
  {
    name: 'a RUN that uses git keeps .git',
    text: lines('FROM alpine', 'COPY . .', 'RUN git rev-parse HEAD > /rev'),
    context: facts({ '.git/HEAD': 20, 'a.c': 1 }, { dockerfileRel: null }),
    expect: [],
  },
];

describe('engine/diagnostics', () => {
  for (const eol of ['\n', '\r\n'] as const) {
    describe(eol === '\n' ? 'LF' : 'CRLF', () => {
      for (const c of CASES) {
        it(c.name, () => {
          const text = c.text.replace(/\n/g, eol);
          const got = computeDiagnostics({ text, context: c.context ?? null });
          assert.deepStrictEqual(
            got.map((d) => [d.code, d.range.start.line + 1]),
            c.expect.map(([code, line]) => [code, line]),
            got.map((d) => `${d.code}@${d.range.start.line + 1}: ${d.message}`).join('\n'),
          );
          if (c.message) assert.match(got[0]!.message, c.message);
          for (const d of got) assert.ok(!d.message.includes('\r'));
        });
      }
    });
  }

  it('ranges cover the instruction keyword line, without indentation', () => {
    const [d] = computeDiagnostics({ text: 'FROM node\n  COPY . .\nRUN npm i -g x && npm cache clean --force\n', context: null });
    assert.deepStrictEqual((d as LayerDiagnostic).range, { start: { line: 1, character: 2 }, end: { line: 1, character: 10 } });
  });

  it('reports package-cache bytes when the analysis measured them', () => {
    const [d] = computeDiagnostics({
      text: 'FROM debian\nRUN apt-get update && apt-get install -y x\n',
      context: null,
      cacheBytes: new Map([[2, { 'apt-lists': 19 * 1024 * 1024 }]]),
    });
    assert.match(d!.message, /19\.0 MiB in the last build/);
  });

  it('every code has a title, a default severity and a README anchor', () => {
    for (const code of Object.keys(RULES) as DiagnosticCode[]) {
      assert.ok(RULES[code].title.length > 0);
      assert.strictEqual(ruleHref(code), `https://github.com/layerlens/layerlens#${code.toLowerCase()}`);
    }
  });

  it('names a volatile folder found in several places with **/', () => {
    const v = volatilePaths(facts({ 'a/node_modules/x': 1, 'b/node_modules/y': 2, 'src/build/main.go': 5, 'build/out': 7 }).entries);
    assert.deepStrictEqual(v.map((x) => [x.entry, x.files, x.bytes]), [['build', 1, 7], ['**/node_modules', 2, 3]]);
  });

  describe('shell reading', () => {
    const table: [string, string[][], boolean][] = [
      ['a && b || c; d | e & f', [['a'], ['b'], ['c'], ['d'], ['e'], ['f']], false],
      ["echo 'x && y' \"q;r\"", [['echo', 'x && y', 'q;r']], false],
      ['DEBIAN_FRONTEND=noninteractive sudo -E apt-get install -y x', [['apt-get', 'install', '-y', 'x']], false],
      ['make # build it && more', [['make']], true],
      ['echo a#b', [['echo', 'a#b']], false],
      ['x=$(cat f && g) run', [['run']], false],
    ];
    for (const [src, want, comment] of table) {
      it(src, () => {
        const s = scanShell(src);
        assert.deepStrictEqual(s.commands.map((c) => c.words), want);
        assert.strictEqual(s.hasComment, comment);
      });
    }
  });

  describe('install detection', () => {
    const table: [string, string | null, boolean | null][] = [
      ['npm ci', 'npm', true],
      ['yarn', 'yarn', true],
      ['yarn --version', null, null],
      ['pnpm i --frozen-lockfile', 'pnpm', true],
      ['pip install -r requirements.txt', 'pip', true],
      ['pip install -e .', 'pip', false],
      ['poetry install', 'poetry', false],
      ['poetry install --no-root', 'poetry', true],
      ['cargo build --release', 'cargo', false],
      ['mvn -B dependency:go-offline', 'maven', true],
      ['mvn package', 'maven', false],
      ['apt-get -y install curl', 'apt', true],
      ['composer install --no-scripts', 'composer', true],
      ['npm run build', null, null],
    ];
    for (const [cmd, manager, movable] of table) {
      it(cmd, () => {
        const i = installOf(cmd.split(' '));
        assert.strictEqual(i?.manager ?? null, manager);
        assert.strictEqual(i ? i.movable : null, movable);
      });
    }
  });
});
