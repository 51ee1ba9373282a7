// The Layer Explorer's host-side pure parts: the page and its CSP, the webview message check, the code lens line.
import * as assert from 'assert';
import { contentSecurityPolicy, explorerHtml, makeNonce } from '../../client/src/explorer/html';
import { targetFromLine } from '../../client/src/explorer/targetStage';
import { parseWebviewMessage } from '../../webview/src/messages';

describe('explorer host: page and CSP', () => {
  const uris = { cspSource: 'https://x.vscode-cdn.net', script: 'https://x.vscode-cdn.net/ext/dist/webview/explorer.js', style: 'https://x.vscode-cdn.net/ext/dist/webview/explorer.css' };

  it("denies everything by default and allows the script only by nonce", () => {
    const csp = contentSecurityPolicy(uris.cspSource, 'N0nce', 'Sty1e');
    const parts = csp.split('; ');
    assert.strictEqual(parts[0], "default-src 'none'");
    assert.ok(parts.includes("script-src 'nonce-N0nce'"), csp);
    assert.ok(parts.includes(`style-src ${uris.cspSource} 'nonce-Sty1e'`), csp);
    assert.ok(!/unsafe-(inline|eval)/.test(csp), csp);
  });

  it('loads exactly one script, with the nonce, and no inline script or handler', () => {
    const nonce = makeNonce();
    const styleNonce = makeNonce();
    const html = explorerHtml(uris, nonce, styleNonce);
    const scripts = [...html.matchAll(/<script\b[^>]*>/g)].map((m) => m[0]);
    assert.deepStrictEqual(scripts, [`<script nonce="${nonce}" src="${uris.script}">`]);
    assert.ok(!/\son[a-z]+=/i.test(html), 'no inline event handler');
    assert.ok(!/\sstyle=/i.test(html), 'no inline style attribute (the CSP would block it)');
    assert.ok(html.includes(`content="default-src 'none'; script-src 'nonce-${nonce}'`), 'the CSP meta tag comes first in <head>');
    // The toolkit's <style> probe gets the style nonce from this meta tag; the script nonce appears only on the script.
    assert.ok(html.includes(`<meta property="csp-nonce" content="${styleNonce}">`), html);
    assert.strictEqual(html.split(nonce).length - 1, 2, 'the script nonce: in the CSP and on the script only');
  });

  it('makes a different nonce each time', () => {
    assert.notStrictEqual(makeNonce(), makeNonce());
    assert.match(makeNonce(), /^[A-Za-z0-9+/]{22}==$/);
  });
});

describe('explorer host: messages from the webview', () => {
  it('accepts the well-formed ones', () => {
    assert.deepStrictEqual(parseWebviewMessage({ type: 'ready', version: 1 }), { type: 'ready', version: 1 });
    assert.deepStrictEqual(parseWebviewMessage({ type: 'select', layer: 3, extra: 'dropped' }), { type: 'select', layer: 3 });
    assert.deepStrictEqual(parseWebviewMessage({ type: 'files', query: { layer: 2, view: 'filesystem', filter: 'usr', limit: 2000 } }), {
      type: 'files',
      query: { layer: 2, view: 'filesystem', filter: 'usr', limit: 2000 },
    });
    assert.deepStrictEqual(parseWebviewMessage({ type: 'reveal', line: 0, endLine: 2 }), { type: 'reveal', line: 0, endLine: 2 });
    assert.deepStrictEqual(parseWebviewMessage({ type: 'pickImage' }), { type: 'pickImage' });
  });

  it('refuses the rest', () => {
    for (const m of [null, 'ready', {}, { type: 'eval' }, { type: 'select', layer: -1 }, { type: 'select', layer: 1.5 }, { type: 'files', query: { layer: 1, view: 'all', filter: '', limit: 1 } }, { type: 'files', query: null }, { type: 'reveal', line: '1', endLine: 1 }]) {
      assert.strictEqual(parseWebviewMessage(m), null, JSON.stringify(m));
    }
  });
});

describe('explorer host: the FROM the code lens goes on', () => {
  const text = ['# syntax', 'ARG V=1', 'FROM busybox AS build', 'RUN make', '', 'FROM scratch AS Final', 'COPY --from=build /out /', 'FROM build AS test', 'RUN test'].join('\n');
  it('is the last stage by default, the named target otherwise (case-insensitive)', () => {
    assert.strictEqual(targetFromLine(text, ''), 7);
    assert.strictEqual(targetFromLine(text, 'final'), 5);
    assert.strictEqual(targetFromLine(text, ' BUILD '), 2);
  });
  it('is nowhere for an unknown target or a file without FROM', () => {
    assert.strictEqual(targetFromLine(text, 'nope'), null);
    assert.strictEqual(targetFromLine('RUN x\n', ''), null);
  });
});
