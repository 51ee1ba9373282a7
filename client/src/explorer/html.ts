// The Layer Explorer page: a static skeleton (no data: the webview fills it from messages) under a CSP that allows
// exactly the bundled script (by nonce) and stylesheet. Pure (no `vscode` import): unit-tested.
import { randomBytes } from 'crypto';

export interface ExplorerPageUris {
  /** webview.cspSource: the origin webview resources are served from. */
  readonly cspSource: string;
  /** webview.asWebviewUri(dist/webview/explorer.js), as a string. */
  readonly script: string;
  /** webview.asWebviewUri(dist/webview/explorer.css), as a string. */
  readonly style: string;
}

/** A fresh nonce for one page load (base64 of 16 random bytes). */
export function makeNonce(): string {
  return randomBytes(16).toString('base64');
}

/**
 * The CSP of the page: nothing by default; the script only by nonce; styles and fonts only from the bundle, plus
 * <style> elements carrying `styleNonce`. That second nonce is for the toolkit (FAST): it probes for :focus-visible
 * support with a <style> element, nonced from <meta property="csp-nonce"> — refused, it logs a CSP violation on
 * every load and falls back to :focus. It differs from the script nonce, which so never appears in the DOM.
 */
export function contentSecurityPolicy(cspSource: string, nonce: string, styleNonce: string): string {
  return [
    "default-src 'none'",
    `script-src 'nonce-${nonce}'`,
    // The toolkit styles its elements with constructable stylesheets, which style-src does not govern.
    `style-src ${cspSource} 'nonce-${styleNonce}'`,
    `font-src ${cspSource}`,
    `img-src ${cspSource}`,
  ].join('; ');
}

function attr(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** `nonce` for the script, `styleNonce` for the toolkit's <style> elements (see contentSecurityPolicy). */
export function explorerHtml(uris: ExplorerPageUris, nonce: string, styleNonce: string): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${attr(contentSecurityPolicy(uris.cspSource, nonce, styleNonce))}">
<meta property="csp-nonce" content="${attr(styleNonce)}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${attr(uris.style)}">
<title>Layer Explorer</title>
</head>
<body>
<main>
  <header class="header">
    <div class="title-row">
      <h1 id="title">Layer Explorer</h1>
      <span class="toolbar">
        <vscode-button id="pick" appearance="secondary">Pick an image…</vscode-button>
        <vscode-button id="refresh" appearance="secondary">Refresh</vscode-button>
      </span>
    </div>
    <p id="facts" class="facts"></p>
    <div id="labels" class="labels" hidden></div>
  </header>
  <div id="banner" class="banner" role="alert" hidden></div>
  <div id="loading" class="loading" role="status"><vscode-progress-ring aria-hidden="true"></vscode-progress-ring><span id="loading-text">Finding the image…</span></div>
  <div id="content" hidden>
    <div id="progress" class="progress" role="status" aria-live="polite" hidden><vscode-progress-ring aria-hidden="true"></vscode-progress-ring><span id="progress-text"></span></div>
    <section aria-labelledby="layers-heading">
      <div class="section-head">
        <h2 id="layers-heading">Layers</h2>
        <vscode-checkbox id="show-empty">Show empty (metadata) entries</vscode-checkbox>
        <span id="sort-note" class="note" hidden>Sorted by size: base-image entries are listed one by one.</span>
      </div>
      <table id="layers" class="layers" role="grid" aria-labelledby="layers-heading">
        <thead>
          <tr>
            <th scope="col" class="num">#</th>
            <th scope="col">Created</th>
            <th scope="col">Created by</th>
            <th scope="col" class="num" id="size-header" aria-sort="none"><button id="sort-size" class="sort" type="button" title="Sort by size">Size<span id="sort-indicator" aria-hidden="true"></span></button></th>
            <th scope="col" class="num">Cumulative</th>
            <th scope="col">Share</th>
          </tr>
        </thead>
        <tbody id="layers-body"></tbody>
        <tfoot><tr><td colspan="6" id="layers-total"></td></tr></tfoot>
      </table>
    </section>
    <section aria-labelledby="files-heading" class="files">
      <h2 id="files-heading">Files</h2>
      <div class="files-controls">
        <vscode-text-field id="filter" placeholder="Filter paths" aria-label="Filter paths">Filter</vscode-text-field>
        <vscode-radio-group id="view" orientation="horizontal" aria-label="Files shown">
          <vscode-radio value="changes">Only changes</vscode-radio>
          <vscode-radio value="filesystem">Whole filesystem</vscode-radio>
        </vscode-radio-group>
      </div>
      <p id="files-status" class="note" role="status" aria-live="polite"></p>
      <div id="tree" class="tree" role="tree" tabindex="0" aria-label="Files"><div id="tree-spacer" class="tree-spacer"></div></div>
      <p id="tree-empty" class="note" hidden>Nothing to show.</p>
      <vscode-button id="files-more" appearance="secondary" hidden>Show more</vscode-button>
    </section>
    <section aria-labelledby="waste-heading" class="waste">
      <h2 id="waste-heading">Waste</h2>
      <p id="waste-summary"></p>
      <table id="waste-table" class="offenders" hidden>
        <thead><tr><th scope="col">Path</th><th scope="col" class="num">Removable</th><th scope="col">Added by</th><th scope="col">Hidden by</th></tr></thead>
        <tbody id="waste-body"></tbody>
      </table>
    </section>
  </div>
</main>
<script nonce="${attr(nonce)}" src="${attr(uris.script)}"></script>
</body>
</html>
`;
}
