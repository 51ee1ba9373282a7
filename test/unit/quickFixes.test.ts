// Every quick fix, applied to the text: the exact result over LF and CRLF, and the diagnostic gone afterwards
// (so the fix cannot be applied twice). Table-driven.

import * as assert from 'assert';
import { computeDiagnostics, type ContextFacts, type DiagnosticCode } from '../../server/src/engine/diagnostics';
import { quickFixesFor, type QuickFix } from '../../server/src/engine/quickFixes';
import { applyEdits, facts } from '../server/textHelpers';

interface FixCase {
  readonly name: string;
  readonly code: DiagnosticCode;
  readonly text: string;
  readonly context?: ContextFacts;
  /** Expected Dockerfile after the fix (LF; CRLF variants are derived). */
  readonly after?: string;
  /** For ignore-file fixes: the file before (null = missing) and after. */
  readonly ignore?: { readonly before: string | null; readonly after: string };
  readonly title?: RegExp;
}

const L = (...l: string[]): string => l.join('\n') + '\n';
const node = facts({ 'package.json': 1, 'package-lock.json': 1, 'index.js': 1 }, { dockerfileRel: null });

const CASES: FixCase[] = [
  {
    name: 'LL001 npm: manifests and install move before COPY . ., comment goes with the RUN',
    code: 'LL001',
    context: node,
    text: L('FROM node:20', 'WORKDIR /app', 'COPY . .', '# install dependencies', 'RUN npm ci && npm cache clean --force', 'CMD ["node", "index.js"]'),
    after: L('FROM node:20', 'WORKDIR /app', 'COPY package.json package-lock.json ./', '# install dependencies', 'RUN npm ci && npm cache clean --force', 'COPY . .', 'CMD ["node", "index.js"]'),
    title: /^Copy package\.json, package-lock\.json and run `npm ci` before `COPY \. \.`$/,
  },
  {
    name: 'LL001 yarn without lock file: only what exists, --chown kept, indentation kept',
    code: 'LL001',
    context: facts({ 'package.json': 1, '.yarnrc': 1, 'src/a.js': 1 }, { dockerfileRel: null }),
    text: L('FROM node:20', '  COPY --chown=node:node . /home/node/app', '  RUN yarn install --frozen-lockfile \\', '      && yarn cache clean'),
    after: L('FROM node:20', '  COPY --chown=node:node package.json .yarnrc /home/node/app/', '  RUN yarn install --frozen-lockfile \\', '      && yarn cache clean', '  COPY --chown=node:node . /home/node/app'),
  },
  {
    name: 'LL001 pip -r at the end of a file without a final newline',
    code: 'LL001',
    context: facts({ 'requirements.txt': 1, 'app.py': 1 }, { dockerfileRel: null }),
    text: 'FROM python:3.12\nCOPY . /app\nRUN pip install --no-cache-dir -r requirements.txt',
    after: 'FROM python:3.12\nCOPY requirements.txt /app/\nRUN pip install --no-cache-dir -r requirements.txt\nCOPY . /app',
  },
  {
    name: 'LL001 apt install moves alone (no manifests), ADD stays ADD',
    code: 'LL001',
    text: L('FROM debian', 'ADD . /src', 'LABEL a=b', 'RUN apt-get install -y make'),
    after: L('FROM debian', 'RUN apt-get install -y make', 'ADD . /src', 'LABEL a=b'),
    title: /^Run `apt-get install` before `ADD \. \/src`$/,
  },
  {
    name: 'LL001 go: nested manifest directory keeps its path',
    code: 'LL001',
    context: facts({ 'go.mod': 1, 'go.sum': 1, 'main.go': 1 }, { dockerfileRel: null }),
    text: L('FROM golang:1.22', 'WORKDIR /src', 'COPY . .', 'RUN go mod download'),
    after: L('FROM golang:1.22', 'WORKDIR /src', 'COPY go.mod go.sum ./', 'RUN go mod download', 'COPY . .'),
  },
  { name: 'LL001 no fix when the RUN also builds', code: 'LL001', context: node, text: L('FROM node', 'COPY . .', 'RUN npm ci && npm run build') },
  { name: 'LL001 no fix when a WORKDIR sits between', code: 'LL001', context: node, text: L('FROM node', 'COPY . .', 'WORKDIR /app', 'RUN npm ci') },
  { name: 'LL001 no fix when the manifest is missing', code: 'LL001', context: facts({ 'index.js': 1 }, { dockerfileRel: null }), text: L('FROM node', 'COPY . .', 'RUN npm ci') },
  { name: 'LL001 no fix for cargo (needs the sources)', code: 'LL001', text: L('FROM rust', 'COPY . .', 'RUN cargo build --release') },
  {
    name: 'LL001 no fix in a workspace (member manifests)',
    code: 'LL001',
    context: facts({ 'package.json': 1, 'packages/a/package.json': 1 }, { dockerfileRel: null }),
    text: L('FROM node', 'COPY . .', 'RUN npm ci'),
  },
  {
    name: 'LL002 adds the Dockerfile and .dockerignore to an existing ignore file without a final newline',
    code: 'LL002',
    context: facts({ Dockerfile: 1, '.dockerignore': 1, 'a.txt': 1 }, { dockerignoreRel: '.dockerignore' }),
    text: L('FROM busybox', 'COPY . /app'),
    ignore: { before: '*.log\n# keep\n*.tmp', after: '*.log\n# keep\n*.tmp\nDockerfile\n.dockerignore\n' },
  },
  {
    name: 'LL002 creates .dockerignore',
    code: 'LL002',
    context: facts({ Dockerfile: 1, 'a.txt': 1 }),
    text: L('FROM busybox', 'COPY . /app'),
    ignore: { before: null, after: 'Dockerfile\n' },
    title: /Create \.dockerignore/,
  },
  {
    name: 'LL005 adds node_modules',
    code: 'LL005',
    context: facts({ 'node_modules/x/i.js': 1, 'package.json': 1 }, { dockerfileRel: null }),
    text: L('FROM node', 'COPY . .'),
    ignore: { before: '.git\n', after: '.git\nnode_modules\n' },
  },
  {
    name: 'LL003 apt: remove lists in the same RUN, after the last continuation line',
    code: 'LL003',
    text: L('FROM debian', 'RUN apt-get update \\', '    && apt-get install -y curl   ', 'CMD ["sh"]'),
    after: L('FROM debian', 'RUN apt-get update \\', '    && apt-get install -y curl && rm -rf /var/lib/apt/lists/*', 'CMD ["sh"]'),
  },
  {
    name: 'LL003 apt: a trailing comment line inside the instruction is kept',
    code: 'LL003',
    text: L('FROM debian', 'RUN apt-get update && \\', '    # curl for health checks', '    apt-get install -y curl'),
    after: L('FROM debian', 'RUN apt-get update && \\', '    # curl for health checks', '    apt-get install -y curl && rm -rf /var/lib/apt/lists/*'),
  },
  {
    name: 'LL003 pip: --no-cache-dir after every pip install that lacks it',
    code: 'LL003',
    text: L('FROM python', 'RUN pip install -U pip && \\', '    python3 -m pip install --no-cache-dir x && pip3 install flask'),
    after: L('FROM python', 'RUN pip install --no-cache-dir -U pip && \\', '    python3 -m pip install --no-cache-dir x && pip3 install --no-cache-dir flask'),
  },
  {
    name: 'LL003 apk: --no-cache',
    code: 'LL003',
    text: L('FROM alpine', 'RUN apk update && apk add curl'),
    after: L('FROM alpine', 'RUN apk update && apk add --no-cache curl'),
  },
  {
    name: 'LL003 npm: cache clean',
    code: 'LL003',
    text: L('FROM node', 'RUN npm install -g pnpm'),
    after: L('FROM node', 'RUN npm install -g pnpm && npm cache clean --force'),
  },
  { name: 'LL003 no fix after a shell comment (the cleanup would be commented out)', code: 'LL003', text: L('FROM debian', 'RUN apt-get update && apt-get install -y x # tools') },
  { name: 'LL003 no fix after a trailing operator', code: 'LL003', text: L('FROM debian', 'RUN apt-get update && apt-get install -y x;') },
  {
    name: 'LL004 merge two RUNs',
    code: 'LL004',
    text: L('FROM debian', 'RUN apt-get update', 'RUN apt-get install -y curl'),
    after: L('FROM debian', 'RUN apt-get update && \\', '    apt-get install -y curl'),
  },
  {
    name: 'LL004 merge three RUNs: comments kept, blank lines dropped, continuation indent reused',
    code: 'LL004',
    text: L('FROM debian', 'RUN a \\', '  --flag', '# then b', 'RUN b', '', 'run c \\', '    d', 'CMD x'),
    after: L('FROM debian', 'RUN a \\', '  --flag && \\', '# then b', '  b && \\', '  c \\', '    d', 'CMD x'),
  },
  {
    name: 'LL004 backtick escape: backtick continuations',
    code: 'LL004',
    text: L('# escape=`', 'FROM mcr.microsoft.com/windows/servercore:ltsc2022', 'RUN echo a', 'RUN echo b'),
    after: L('# escape=`', 'FROM mcr.microsoft.com/windows/servercore:ltsc2022', 'RUN echo a && `', '    echo b'),
  },
  {
    name: 'LL004 same flags: the second RUN loses its copy of them',
    code: 'LL004',
    text: L('FROM debian', 'RUN --network=none echo a', 'RUN --network=none echo b'),
    after: L('FROM debian', 'RUN --network=none echo a && \\', '    echo b'),
  },
  { name: 'LL004 no fix when the first RUN changes directory', code: 'LL004', text: L('FROM debian', 'RUN cd /tmp', 'RUN ls') },
  { name: 'LL004 no fix under a PowerShell SHELL', code: 'LL004', text: L('FROM w', 'SHELL ["powershell", "-Command"]', 'RUN echo a', 'RUN echo b') },
];

function fixFor(text: string, c: FixCase, ignoreText: string | null): { fixes: QuickFix[] } {
  const diags = computeDiagnostics({ text, context: c.context ?? null }).filter((d) => d.code === c.code);
  assert.strictEqual(diags.length, 1, `expected one ${c.code}, got ${diags.length}`);
  const d = diags[0]!;
  const ignoreFile = c.ignore ? { rel: '.dockerignore', text: ignoreText } : null;
  return { fixes: quickFixesFor({ text, context: c.context ?? null, ignoreFile }, d) };
}

describe('engine/quickFixes', () => {
  for (const eol of ['\n', '\r\n'] as const) {
    describe(eol === '\n' ? 'LF' : 'CRLF', () => {
      const crlf = (s: string): string => s.replace(/\r?\n/g, eol);
      for (const c of CASES) {
        it(c.name, () => {
          const text = crlf(c.text);
          const ignoreBefore = c.ignore?.before === null || c.ignore === undefined ? null : crlf(c.ignore.before);
          const { fixes } = fixFor(text, c, ignoreBefore);
          if (c.after === undefined && c.ignore === undefined) {
            assert.deepStrictEqual(fixes, [], 'no safe rewrite exists, so no fix may be offered');
            return;
          }
          assert.strictEqual(fixes.length, 1);
          const fix = fixes[0]!;
          assert.strictEqual(fix.code, c.code);
          if (c.title) assert.match(fix.title, c.title);
          for (const ch of fix.changes) {
            if (ch.kind === 'dockerfile') {
              const out = applyEdits(text, ch.edits);
              assert.strictEqual(out, crlf(c.after!));
              if (eol === '\r\n') assert.ok(!/[^\r]\n/.test(out), 'a bare LF slipped into a CRLF file');
              // Applied once, the problem is gone: nothing is left to apply a second time.
              const left = computeDiagnostics({ text: out, context: c.context ?? null }).filter((d) => d.code === c.code);
              assert.deepStrictEqual(left.map((d) => d.message), []);
            } else {
              assert.ok(c.ignore, 'unexpected ignore-file change');
              assert.strictEqual(ch.create, c.ignore.before === null);
              const out = applyEdits(ignoreBefore ?? '', ch.edits);
              // A new file follows the platform default (LF); an existing one keeps its line endings.
              assert.strictEqual(out, c.ignore.before === null ? c.ignore.after : crlf(c.ignore.after));
              const again = quickFixesFor({ text, context: c.context ?? null, ignoreFile: { rel: '.dockerignore', text: out } }, computeDiagnostics({ text, context: c.context ?? null }).find((d) => d.code === c.code)!);
              assert.deepStrictEqual(again, [], 'adding the same entries twice');
            }
          }
        });
      }
    });
  }

  it('edits from one fix never overlap and refer to the original text', () => {
    const text = L('FROM node', 'COPY . .', '', '# deps', 'RUN npm ci && npm cache clean --force', '', 'RUN echo done');
    const d = computeDiagnostics({ text, context: node }).find((x) => x.code === 'LL001')!;
    const [fix] = quickFixesFor({ text, context: node, ignoreFile: null }, d);
    assert.strictEqual(
      applyEdits(text, fix!.changes[0]!.edits),
      L('FROM node', 'COPY package.json package-lock.json ./', '# deps', 'RUN npm ci && npm cache clean --force', 'COPY . .', '', '', 'RUN echo done'),
    );
  });
});
