// `layerlens lsp --stdio` (and server.js --stdio) driven by a plain JSON-RPC client, as a non-VS Code editor would:
// initialize, open a Dockerfile, inlay hints, hover, code actions, shutdown and exit. The daemon is pointed at a
// socket that does not exist, so every answer is deterministic (sizes from the context, cache status unknown).

import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { pathToFileURL } from 'url';
import { applyEdits } from './textHelpers';
import { StdioClient, type Message } from './stdioClient';

const ROOT = path.resolve(__dirname, '..', '..', '..');

const ENTRIES: [string, string[]][] = [
  ['layerlens lsp --stdio', [path.join(ROOT, 'out', 'server', 'src', 'cli.js'), 'lsp', '--stdio']],
  ['server.js --stdio', [path.join(ROOT, 'out', 'server', 'src', 'server.js'), '--stdio']],
];

const DOCKERFILE = 'FROM busybox\nWORKDIR /app\nCOPY . .\nRUN npm ci\n';

describe('language server over stdio (plain JSON-RPC)', function () {
  this.timeout(60_000);
  for (const [name, args] of ENTRIES) {
    it(`${name}: initialize, open, hints, hover, code actions, shutdown, exit`, async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'layerlens-stdio-'));
      fs.writeFileSync(path.join(dir, 'Dockerfile'), DOCKERFILE);
      fs.writeFileSync(path.join(dir, 'package.json'), '{"name":"x"}\n');
      fs.writeFileSync(path.join(dir, 'index.js'), 'console.log(1)\n'.repeat(100));
      const uri = pathToFileURL(path.join(dir, 'Dockerfile')).toString();
      const c = new StdioClient(process.execPath, args, {
        ...process.env,
        DOCKER_HOST: `unix://${path.join(dir, 'no-daemon.sock')}`,
        DOCKER_BUILDKIT: '',
        LAYERLENS_CACHE_DIR: path.join(dir, '.cache'),
      });
      try {
        const init = await c.request<{ capabilities: Record<string, unknown>; serverInfo: { name: string } }>('initialize', {
          processId: process.pid,
          rootUri: pathToFileURL(dir).toString(),
          capabilities: {},
          // No workspace/configuration support: settings come from initializationOptions.
          initializationOptions: { layerLens: { builder: 'buildkit' } },
        });
        assert.strictEqual(init.serverInfo.name, 'layer-lens');
        assert.ok(init.capabilities['inlayHintProvider']);
        c.notify('initialized', {});
        const status = await c.waitFor((m) => m.method === 'layerLens/daemonStatus');
        assert.strictEqual((status.params as { state: string }).state, 'unreachable');

        c.notify('textDocument/didOpen', { textDocument: { uri, languageId: 'dockerfile', version: 1, text: DOCKERFILE } });
        await c.waitFor((m) => m.method === 'layerLens/analysisChanged' && (m.params as { uri: string }).uri === uri);
        const diags = await c.waitFor((m) => m.method === 'textDocument/publishDiagnostics');
        assert.deepStrictEqual((diags.params as { diagnostics: { code: string }[] }).diagnostics.map((d) => d.code), ['LL001', 'LL002', 'LL003']);

        const hints = await c.request<{ label: string; position: { line: number } }[]>('textDocument/inlayHint', {
          textDocument: { uri },
          range: { start: { line: 0, character: 0 }, end: { line: 10, character: 0 } },
        });
        const copy = hints.find((h) => h.position.line === 2);
        assert.ok(copy, JSON.stringify(hints));
        // Offline: the size is exact (the context is on disk), the cache status is unknown.
        assert.match(copy.label, /^[\d.]+ (B|KiB) · \?$/);

        const hover = await c.request<{ contents: { kind: string; value: string } }>('textDocument/hover', { textDocument: { uri }, position: { line: 2, character: 1 } });
        assert.strictEqual(hover.contents.kind, 'markdown');
        assert.match(hover.contents.value, /exact: the files it copies from the build context/);
        assert.match(hover.contents.value, /\*\*Cache:\*\* unknown/);

        const actions = await c.request<{ title: string; edit: { changes: Record<string, { range: never; newText: string }[]> } }[]>('textDocument/codeAction', {
          textDocument: { uri },
          range: { start: { line: 2, character: 0 }, end: { line: 2, character: 0 } },
          context: { diagnostics: [] },
        });
        const move = actions.find((a) => a.title.startsWith('Copy package.json'));
        assert.ok(move, JSON.stringify(actions.map((a) => a.title)));
        assert.strictEqual(applyEdits(DOCKERFILE, move.edit.changes[uri]!), 'FROM busybox\nWORKDIR /app\nCOPY package.json ./\nRUN npm ci\nCOPY . .\n');

        assert.strictEqual(await c.request('shutdown'), null);
        c.notify('exit');
        assert.strictEqual(await c.exited, 0);
        assert.strictEqual(c.garbage, '', 'stdout carries nothing but LSP messages');
        const logs = c.received.filter((m: Message) => m.method === 'window/logMessage');
        assert.ok(logs.length > 0, 'logs go through the connection');
      } finally {
        c.kill();
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});
