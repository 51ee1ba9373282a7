// The Layer Explorer webview (bundled by esbuild.mjs to dist/webview/explorer.js; browser, no Node, no `vscode`).
// It renders what the extension host posts (messages.ts) and posts back what the user does; it never reaches the
// language server or the daemon. Every daemon string is set with textContent (dom.ts has no HTML helper).
//
// The page skeleton (ids used here) is written by client/src/explorer/html.ts. Toolkit components
// (@vscode/webview-ui-toolkit) are used for the controls: buttons, the filter field, the view radio group, the
// "show empty layers" checkbox, the progress ring, badges. The two lists (layers, files) are plain semantic HTML
// (a <table role=grid> and a role=tree list): the toolkit's data grid has no collapsible row groups and no
// virtualisation, which the 100,000-file layer needs.
import {
  provideVSCodeDesignSystem,
  vsCodeBadge,
  vsCodeButton,
  vsCodeCheckbox,
  vsCodeProgressRing,
  vsCodeRadio,
  vsCodeRadioGroup,
  vsCodeTag,
  vsCodeTextField,
  type Checkbox,
  type RadioGroup,
  type TextField,
} from '@vscode/webview-ui-toolkit';
import { byId, clear, el, srOnly } from './dom';
import {
  EXPLORER_PROTOCOL_VERSION,
  type ExplorerError,
  type ExplorerImageInfo,
  type ExplorerLayerFilesResult,
  type ExplorerLayerRow,
  type ExplorerUiState,
  type ExplorerWasteResult,
  type FilesQuery,
  type FilesView,
  type HostMessage,
  type LayerSort,
  type WebviewMessage,
} from './messages';
import { buildTree, visibleRows, type FileTree, type TreeRow } from './model/fileTree';
import { formatBytes, percent, relativeTime, shortId } from './model/format';
import { rowOfLayer, tableRows, totals, type TableRow } from './model/layers';

provideVSCodeDesignSystem().register(vsCodeButton(), vsCodeTextField(), vsCodeRadioGroup(), vsCodeRadio(), vsCodeCheckbox(), vsCodeProgressRing(), vsCodeBadge(), vsCodeTag());

interface VsCodeApi {
  postMessage(message: WebviewMessage): void;
  getState(): unknown;
  setState(state: ExplorerUiState): void;
}
declare function acquireVsCodeApi(): VsCodeApi;
const vscode = acquireVsCodeApi();

/** Nodes asked for at first and added by each "show more" (the server caps at 50,000). */
const FILES_PAGE = 2000;
const FILES_MAX = 50_000;
/** Height of a file-tree row in px (fixed: the tree renders only the rows in view). */
const ROW_H = 22;

// ---- state ----

function restoredUi(): ExplorerUiState {
  const s = vscode.getState() as Partial<ExplorerUiState> | undefined;
  const sorts: LayerSort[] = ['history', 'size-desc', 'size-asc'];
  const t = s?.target;
  return {
    target: t && (typeof t.image === 'string' || typeof t.dockerfileUri === 'string') ? { image: t.image ?? null, dockerfileUri: t.dockerfileUri ?? null } : null,
    imageId: typeof s?.imageId === 'string' ? s.imageId : null,
    selected: typeof s?.selected === 'number' ? s.selected : null,
    sort: sorts.includes(s?.sort as LayerSort) ? (s!.sort as LayerSort) : 'history',
    filter: typeof s?.filter === 'string' ? s.filter : '',
    view: s?.view === 'filesystem' ? 'filesystem' : 'changes',
    expanded: Array.isArray(s?.expanded) ? s!.expanded.filter((p): p is string => typeof p === 'string') : [],
    baseExpanded: s?.baseExpanded === true,
    showEmpty: s?.showEmpty !== false,
  };
}

let ui: ExplorerUiState = restoredUi();
let image: ExplorerImageInfo | null = null;
let layers: readonly ExplorerLayerRow[] = [];
let now = Date.now();
let rows: TableRow[] = [];
let limit = FILES_PAGE;
/** The files query last sent; answers to any other are dropped. */
let pending: FilesQuery | null = null;
let filesResult: ExplorerLayerFilesResult | null = null;
let tree: FileTree | null = null;
let treeRows: TreeRow[] = [];
let expanded = new Set(ui.expanded);
let activeTreeRow = 0;
let streaming = false;

function saveUi(patch: Partial<ExplorerUiState>): void {
  ui = { ...ui, ...patch, expanded: [...expanded] };
  vscode.setState(ui);
}

function post(m: WebviewMessage): void {
  vscode.postMessage(m);
}

// ---- header, banner, progress ----

function renderHeader(dockerfile: string | null): void {
  const img = image!;
  byId('title').textContent = img.repoTags[0] ?? `<none> ${shortId(img.id)}`;
  const facts = byId('facts');
  clear(facts);
  const t = totals(layers);
  const parts = [
    `ID ${shortId(img.id)}`,
    `created ${relativeTime(Date.parse(img.created), now)}`,
    `${formatBytes(img.size)} in ${img.layerCount} layers (${img.emptyLayerCount} empty)`,
    dockerfile ? `built from ${dockerfile}` : 'not tied to a Dockerfile',
  ];
  if (t.rebuilds > 0) parts.push(`${t.rebuilds} would rebuild`);
  facts.textContent = parts.join(' · ');
  const more = img.repoTags.slice(1);
  const lab = byId('labels');
  clear(lab);
  for (const tag of more) lab.append(el('vscode-tag', '', {}, tag));
  for (const [k, v] of Object.entries(img.labels)) lab.append(el('span', 'label', { title: `label ${k}` }, el('span', 'label-key', {}, k), '=', el('span', 'label-value', {}, v)));
  lab.hidden = lab.childElementCount === 0;
}

function showProblem(error: ExplorerError | null, canPick = false): void {
  const banner = byId('banner');
  clear(banner);
  banner.hidden = error === null;
  if (error === null) return;
  banner.dataset['kind'] = error.kind;
  banner.append(el('span', 'banner-text', {}, error.message));
  const actions = el('span', 'banner-actions');
  if (canPick) actions.append(button('Pick an image…', () => post({ type: 'pickImage' })));
  actions.append(button('Refresh', () => post({ type: 'refresh' })));
  banner.append(actions);
}

function button(label: string, onClick: () => void, appearance: 'primary' | 'secondary' = 'secondary'): HTMLElement {
  const b = el('vscode-button', '', { appearance }, label);
  b.addEventListener('click', onClick);
  return b;
}

function showProgress(text: string | null): void {
  const p = byId('progress');
  p.hidden = text === null;
  byId('progress-text').textContent = text ?? '';
}

// ---- layers table ----

function renderLayers(): void {
  rows = tableRows(layers, ui);
  const body = byId('layers-body');
  clear(body);
  const sel = ui.selected === null ? -1 : rowOfLayer(rows, ui.selected, layers);
  rows.forEach((r, i) => body.append(r.kind === 'group' ? groupRow(r, i === sel) : layerRow(r.layer, r.share, r.inGroup, i === sel)));
  // One row is in the tab order (roving tabindex): the selected one, else the first.
  const focusable = body.children[sel >= 0 ? sel : 0] as HTMLElement | undefined;
  if (focusable) focusable.tabIndex = 0;
  const th = byId('size-header');
  th.setAttribute('aria-sort', ui.sort === 'history' ? 'none' : ui.sort === 'size-desc' ? 'descending' : 'ascending');
  byId('sort-indicator').textContent = ui.sort === 'history' ? '' : ui.sort === 'size-desc' ? ' ▼' : ' ▲';
  const t = totals(layers);
  byId('layers-total').textContent = `${t.layers} entries (${t.layers - t.empty} layers, ${t.empty} empty) · ${formatBytes(t.bytes)}${t.base > 0 ? ` · base image ${formatBytes(t.baseBytes)} in ${t.base}` : ''}`;
  byId('sort-note').hidden = ui.sort === 'history';
}

function bar(share: number): HTMLElement {
  const fill = el('span', 'bar-fill');
  fill.style.width = `${Math.max(0, Math.min(1, share)) * 100}%`;
  return el('span', 'bar', { 'aria-hidden': 'true' }, fill);
}

function layerRow(l: ExplorerLayerRow, share: number, inGroup: boolean, selected: boolean): HTMLTableRowElement {
  const what = el('td', 'created-by');
  if (l.empty) what.append(srOnly('metadata only: '));
  what.append(el('span', 'instruction', { title: l.createdByRaw }, l.createdBy));
  if (l.wouldRebuild === true) what.append(' ', el('vscode-badge', 'rebuilds', { title: l.rebuildReason ?? 'the next build re-makes this layer' }, 'rebuilds'));
  if (l.source !== null) what.append(el('span', 'line-ref', {}, ` line ${l.source.line + 1}`));
  const tr = el(
    'tr',
    `layer${l.empty ? ' empty' : ''}${inGroup ? ' in-group' : ''}${l.wouldRebuild === true ? ' will-rebuild' : ''}`,
    { 'data-layer': String(l.index), 'aria-selected': String(selected), tabindex: '-1' },
    el('td', 'num', {}, String(l.index)),
    el('td', 'created', { title: l.created ?? '' }, relativeTime(l.created === null ? null : Date.parse(l.created), now)),
    what,
    el('td', 'num size', {}, formatBytes(l.size)),
    el('td', 'num', {}, formatBytes(l.cumulativeSize)),
    el('td', 'share', {}, bar(share), el('span', 'share-text', {}, percent(share))),
  );
  return tr;
}

function groupRow(g: Extract<TableRow, { kind: 'group' }>, selected: boolean): HTMLTableRowElement {
  const toggle = el('span', `twisty codicon ${g.expanded ? 'open' : ''}`, { 'aria-hidden': 'true' }, g.expanded ? '▾' : '▸');
  toggle.addEventListener('click', (e) => {
    e.stopPropagation();
    toggleGroup(!g.expanded);
  });
  const last = layers.find((l) => l.index === g.lastLayer);
  return el(
    'tr',
    'group',
    { 'data-layer': String(g.lastLayer), 'data-group': 'true', 'aria-selected': String(selected), 'aria-expanded': String(g.expanded), tabindex: '-1' },
    el('td', 'num', {}, toggle),
    el('td', 'created', {}, ''),
    el('td', 'created-by', {}, el('span', 'instruction', {}, `FROM ${g.label}`), el('span', 'group-count', {}, ` — ${g.count} base-image entr${g.count === 1 ? 'y' : 'ies'}`), g.line !== null ? el('span', 'line-ref', {}, ` line ${g.line + 1}`) : ''),
    el('td', 'num size', {}, formatBytes(g.size)),
    el('td', 'num', {}, last ? formatBytes(last.cumulativeSize) : ''),
    el('td', 'share', {}, bar(g.share), el('span', 'share-text', {}, percent(g.share))),
  );
}

function toggleGroup(open: boolean): void {
  saveUi({ baseExpanded: open });
  renderLayers();
  focusSelectedRow();
}

function focusSelectedRow(): void {
  const body = byId('layers-body');
  const i = ui.selected === null ? 0 : Math.max(0, rowOfLayer(rows, ui.selected, layers));
  const tr = body.children[i] as HTMLElement | undefined;
  tr?.focus();
}

/** Selects a layer: row highlighted, its files asked for; `fromUser` also reveals its Dockerfile lines. */
function select(layer: number, fromUser: boolean): void {
  const changed = ui.selected !== layer;
  saveUi({ selected: layer });
  renderLayers();
  const i = rowOfLayer(rows, layer, layers);
  const tr = byId('layers-body').children[i] as HTMLElement | undefined;
  tr?.scrollIntoView({ block: 'nearest' });
  if (fromUser) {
    tr?.focus();
    post({ type: 'select', layer });
  }
  if (changed || filesResult === null) {
    limit = FILES_PAGE;
    if (changed) {
      expanded = new Set();
      saveUi({});
    }
    requestFiles();
  }
}

function onLayersClick(e: MouseEvent): void {
  const tr = (e.target as Element).closest('tr[data-layer]');
  if (!tr) return;
  select(Number(tr.getAttribute('data-layer')), true);
}

function onLayersKey(e: KeyboardEvent): void {
  const body = byId('layers-body');
  const current = (e.target as Element).closest('tr[data-layer]');
  if (!current) return;
  const i = Array.prototype.indexOf.call(body.children, current) as number;
  const isGroup = current.getAttribute('data-group') === 'true';
  let next = -1;
  switch (e.key) {
    case 'ArrowDown':
      next = Math.min(rows.length - 1, i + 1);
      break;
    case 'ArrowUp':
      next = Math.max(0, i - 1);
      break;
    case 'Home':
      next = 0;
      break;
    case 'End':
      next = rows.length - 1;
      break;
    case 'ArrowRight':
      if (isGroup && !ui.baseExpanded) toggleGroup(true);
      e.preventDefault();
      return;
    case 'ArrowLeft':
      if (ui.baseExpanded && (isGroup || current.classList.contains('in-group'))) {
        const g = rows.find((r) => r.kind === 'group');
        if (g && g.kind === 'group') saveUi({ selected: g.lastLayer });
        toggleGroup(false);
      }
      e.preventDefault();
      return;
    case 'Enter':
    case ' ':
      select(Number(current.getAttribute('data-layer')), true);
      e.preventDefault();
      return;
    default:
      return;
  }
  e.preventDefault();
  const r = rows[next];
  if (r) select(r.kind === 'group' ? r.lastLayer : r.layer.index, true);
}

function cycleSort(): void {
  const order: LayerSort[] = ['history', 'size-desc', 'size-asc'];
  saveUi({ sort: order[(order.indexOf(ui.sort) + 1) % order.length]! });
  renderLayers();
}

// ---- files of the selected layer ----

function requestFiles(): void {
  if (ui.selected === null || image === null) return;
  const q: FilesQuery = { layer: ui.selected, view: ui.view, filter: ui.filter.trim(), limit };
  pending = q;
  const layer = layers.find((l) => l.index === q.layer);
  byId('files-heading').textContent = layer ? `Files of layer ${layer.index}: ${layer.createdBy}` : 'Files';
  byId('files-status').textContent = 'Loading…';
  post({ type: 'files', query: q });
}

function sameQuery(a: FilesQuery, b: FilesQuery | null): boolean {
  return b !== null && a.layer === b.layer && a.view === b.view && a.filter === b.filter && a.limit === b.limit;
}

function onFiles(query: FilesQuery, result: ExplorerLayerFilesResult): void {
  if (!sameQuery(query, pending)) return;
  filesResult = result;
  const status = byId('files-status');
  const more = byId('files-more');
  more.hidden = true;
  if (result.error) {
    tree = null;
    status.textContent = result.error.message;
    renderTree();
    return;
  }
  if (result.state === 'pending') {
    tree = null;
    status.textContent = 'The layer contents are still being read; the list fills in when they arrive.';
    renderTree();
    return;
  }
  if (result.state === 'empty-layer') {
    tree = null;
    status.textContent = 'This history entry only changed metadata: it made no filesystem layer.';
    renderTree();
    return;
  }
  tree = buildTree(result.nodes);
  const c = result.counts;
  const shown = result.truncated ? `showing ${result.nodes.length.toLocaleString('en')} of ${result.matched.toLocaleString('en')} entries` : `${result.nodes.length.toLocaleString('en')} entries`;
  status.textContent = `${c.added} added, ${c.modified} modified, ${c.removed} removed · ${shown}${query.filter ? ` matching “${query.filter}”` : ''}`;
  if (result.truncated) {
    more.hidden = false;
    const next = Math.min(FILES_MAX, limit * 5);
    more.textContent = limit >= FILES_MAX ? 'Narrow the filter to see the rest' : `Show more (up to ${next.toLocaleString('en')})`;
    more.toggleAttribute('disabled', limit >= FILES_MAX);
  }
  renderTree();
}

function renderTree(): void {
  const box = byId('tree');
  const spacer = byId('tree-spacer');
  // The server already filtered; filtering the answer again opens the folders on the way to each match.
  treeRows = tree ? visibleRows(tree, expanded, pending?.filter ?? '') : [];
  spacer.style.height = `${treeRows.length * ROW_H}px`;
  if (activeTreeRow >= treeRows.length) activeTreeRow = Math.max(0, treeRows.length - 1);
  box.setAttribute('aria-label', tree ? `Files, ${treeRows.length} rows shown` : 'Files');
  byId('tree-empty').hidden = !(tree !== null && treeRows.length === 0);
  paintTree();
}

/** Draws only the rows in view (plus a margin): a 50,000-node listing keeps a few dozen elements. */
function paintTree(): void {
  const box = byId('tree');
  const spacer = byId('tree-spacer');
  const first = Math.max(0, Math.floor(box.scrollTop / ROW_H) - 10);
  const last = Math.min(treeRows.length, Math.ceil((box.scrollTop + box.clientHeight) / ROW_H) + 10);
  const items: HTMLElement[] = [];
  for (let i = first; i < last; i++) items.push(treeItem(treeRows[i]!, i));
  spacer.replaceChildren(...items);
  if (treeRows.length > 0) box.setAttribute('aria-activedescendant', `file-${activeTreeRow}`);
  else box.removeAttribute('aria-activedescendant');
}

function treeItem(r: TreeRow, i: number): HTMLElement {
  const n = r.node;
  const change = n.change ?? 'unchanged';
  const attrs: Record<string, string> = {
    id: `file-${i}`,
    role: 'treeitem',
    'aria-level': String(r.depth),
    'aria-posinset': String(r.posInSet),
    'aria-setsize': String(r.setSize),
    'aria-selected': String(i === activeTreeRow),
    'data-row': String(i),
  };
  if (r.expandable) attrs['aria-expanded'] = String(r.expanded);
  const item = el(
    'div',
    `file change-${change}${i === activeTreeRow ? ' active' : ''}`,
    attrs,
    el('span', 'twisty', { 'aria-hidden': 'true' }, r.expandable ? (r.expanded ? '▾' : '▸') : ''),
    el('span', 'mark', { 'aria-hidden': 'true' }, change === 'added' ? 'A' : change === 'modified' ? 'M' : change === 'removed' ? 'D' : ''),
    el('span', 'name', {}, n.name + (n.kind === 'dir' ? '/' : '')),
    n.linkTarget !== null ? el('span', 'link-target', {}, ` → ${n.linkTarget}`) : '',
    n.opaque ? el('span', 'opaque', { title: 'opaque directory: hides everything earlier layers put under it' }, ' (opaque)') : '',
    srOnly(`, ${change}`),
    el('span', 'num file-size', {}, formatBytes(n.total)),
  );
  item.style.top = `${i * ROW_H}px`;
  item.style.paddingLeft = `${(r.depth - 1) * 16 + 4}px`;
  return item;
}

function toggleTreeRow(i: number, open?: boolean): void {
  const r = treeRows[i];
  if (!r || !r.expandable) return;
  const want = open ?? !r.expanded;
  if (want) expanded.add(r.node.path);
  else expanded.delete(r.node.path);
  saveUi({});
  renderTree();
}

function setActiveTreeRow(i: number): void {
  activeTreeRow = Math.max(0, Math.min(treeRows.length - 1, i));
  const box = byId('tree');
  const top = activeTreeRow * ROW_H;
  if (top < box.scrollTop) box.scrollTop = top;
  else if (top + ROW_H > box.scrollTop + box.clientHeight) box.scrollTop = top + ROW_H - box.clientHeight;
  paintTree();
}

function onTreeKey(e: KeyboardEvent): void {
  if (treeRows.length === 0) return;
  const r = treeRows[activeTreeRow];
  const page = Math.max(1, Math.floor(byId('tree').clientHeight / ROW_H) - 1);
  switch (e.key) {
    case 'ArrowDown':
      setActiveTreeRow(activeTreeRow + 1);
      break;
    case 'ArrowUp':
      setActiveTreeRow(activeTreeRow - 1);
      break;
    case 'PageDown':
      setActiveTreeRow(activeTreeRow + page);
      break;
    case 'PageUp':
      setActiveTreeRow(activeTreeRow - page);
      break;
    case 'Home':
      setActiveTreeRow(0);
      break;
    case 'End':
      setActiveTreeRow(treeRows.length - 1);
      break;
    case 'ArrowRight':
      if (r?.expandable && !r.expanded) toggleTreeRow(activeTreeRow, true);
      else if (r?.expanded) setActiveTreeRow(activeTreeRow + 1);
      break;
    case 'ArrowLeft':
      if (r?.expanded) toggleTreeRow(activeTreeRow, false);
      else if (r && r.depth > 1) {
        // To the parent: the nearest row above with a smaller depth.
        for (let j = activeTreeRow - 1; j >= 0; j--) {
          if (treeRows[j]!.depth < r.depth) {
            setActiveTreeRow(j);
            break;
          }
        }
      }
      break;
    case 'Enter':
    case ' ':
      toggleTreeRow(activeTreeRow);
      break;
    default:
      return;
  }
  e.preventDefault();
}

// ---- waste ----

function renderWaste(w: ExplorerWasteResult | null, message: string | null): void {
  const summary = byId('waste-summary');
  const body = byId('waste-body');
  clear(body);
  byId('waste-table').hidden = true;
  if (w === null || w.error || w.state === 'pending') {
    summary.textContent = w?.error?.message ?? message ?? 'Waste is computed once the layer contents are read.';
    return;
  }
  summary.textContent = '';
  summary.append(
    el('strong', '', {}, `${formatBytes(w.removableBytes)} removable`),
    ` (${w.removableFiles} hidden file version${w.removableFiles === 1 ? '' : 's'}, each counted once; ${percent(w.imageBytes > 0 ? w.removableBytes / w.imageBytes : 0)} of ${formatBytes(w.imageBytes)}). `,
    el('span', 'dive', {}, `dive would say: efficiency ${(w.efficiency * 100).toFixed(1)}%, ${formatBytes(w.diveWastedBytes)} wasted (it counts the surviving copy too).`),
  );
  if (w.offenders.length === 0) return;
  byId('waste-table').hidden = false;
  for (const o of w.offenders) {
    body.append(
      el(
        'tr',
        '',
        {},
        el('td', 'path', {}, o.path),
        el('td', 'num', {}, formatBytes(o.bytes)),
        el('td', '', {}, layerLink(o.addedBy)),
        el('td', '', {}, layerLink(o.hiddenBy), el('span', 'how', {}, ` (${o.how === 'opaque-dir' ? 'opaque directory' : o.how})`)),
      ),
    );
  }
}

function layerLink(ref: ExplorerWasteResult['offenders'][number]['addedBy']): HTMLElement {
  const label = `#${ref.layerIndex} ${ref.createdBy}`;
  if (ref.source === null) return el('span', 'layer-ref', {}, label);
  const src = ref.source;
  const a = el('a', 'layer-ref', { href: '#', title: `Show line ${src.line + 1} of the Dockerfile` }, label, el('span', 'line-ref', {}, ` line ${src.line + 1}`));
  a.addEventListener('click', (e) => {
    e.preventDefault();
    post({ type: 'reveal', line: src.line, endLine: src.endLine });
  });
  return a;
}

// ---- messages from the host ----

function onImage(m: Extract<HostMessage, { type: 'image' }>): void {
  if (m.version !== EXPLORER_PROTOCOL_VERSION) {
    showProblem({ kind: 'bad-request', message: 'This panel was made by another version of Layer Lens: close it and open it again.' });
    return;
  }
  const sameImage = ui.imageId === m.image.id;
  image = m.image;
  layers = m.layers;
  now = m.now;
  filesResult = null;
  tree = null;
  pending = null;
  byId('loading').hidden = true;
  byId('content').hidden = false;
  showProblem(null);
  renderHeader(m.dockerfile);
  streaming = m.files === 'streaming';
  showProgress(streaming ? 'Reading the layer contents…' : null);
  let selected = sameImage ? ui.selected : null;
  if (selected !== null && !layers.some((l) => l.index === selected)) selected = null;
  if (!sameImage) {
    expanded = new Set();
    saveUi({ imageId: m.image.id, selected: null, filter: '' });
    (byId('filter') as TextField).value = '';
  }
  // Start on the newest layer with bytes: what the last instruction that wrote files put there.
  selected ??= [...layers].reverse().find((l) => !l.empty)?.index ?? layers[layers.length - 1]?.index ?? null;
  renderLayers();
  if (selected !== null) select(selected, false);
  if (m.files === 'failed') renderWaste(null, 'The layer contents could not be read: no files and no waste figures.');
  else post({ type: 'waste' });
}

function onMessage(m: HostMessage): void {
  switch (m.type) {
    case 'target':
      saveUi({ target: m.target });
      break;
    case 'image':
      onImage(m);
      break;
    case 'loading':
      // Asking again (Refresh, another image): the last problem no longer stands.
      showProblem(null);
      byId('loading-text').textContent = m.what;
      byId('loading').hidden = image !== null;
      break;
    case 'progress': {
      const p = m.progress;
      if (image === null || p.imageId !== image.id) break;
      if (p.done) {
        streaming = false;
        showProgress(null);
        if (p.error) showProblem(p.error);
        // Files and waste answered "pending" while the contents streamed: ask again now.
        if (filesResult?.state === 'pending') requestFiles();
        post({ type: 'waste' });
      } else {
        const pct = p.bytesTotal > 0 ? ` (${formatBytes(p.bytesRead)} of ~${formatBytes(p.bytesTotal)})` : '';
        showProgress(`Reading the layer contents: ${p.layersDone} of ${p.layersTotal} layers${pct}`);
      }
      break;
    }
    case 'files':
      onFiles(m.query, m.result);
      break;
    case 'waste':
      renderWaste(m.waste, null);
      break;
    case 'cursor':
      if (m.layer !== ui.selected) select(m.layer, false);
      break;
    case 'problem':
      byId('loading').hidden = true;
      if (image === null) byId('content').hidden = true;
      showProblem(m.error, m.canPick);
      break;
  }
}

// ---- wiring ----

function install(): void {
  byId('layers-body').addEventListener('click', onLayersClick);
  byId('layers-body').addEventListener('keydown', onLayersKey);
  byId('sort-size').addEventListener('click', cycleSort);
  byId('refresh').addEventListener('click', () => post({ type: 'refresh' }));
  byId('pick').addEventListener('click', () => post({ type: 'pickImage' }));
  const showEmpty = byId('show-empty') as Checkbox;
  showEmpty.checked = ui.showEmpty;
  showEmpty.addEventListener('change', () => {
    saveUi({ showEmpty: showEmpty.checked });
    renderLayers();
  });
  const filter = byId('filter') as TextField;
  filter.value = ui.filter;
  let timer: ReturnType<typeof setTimeout> | undefined;
  filter.addEventListener('input', () => {
    // Kept at once (a panel hidden while typing keeps the text); the server, which filters the whole layer and not
    // only the nodes shown, is asked once typing pauses.
    saveUi({ filter: filter.value });
    clearTimeout(timer);
    timer = setTimeout(() => {
      if (pending !== null && pending.filter === ui.filter.trim()) return;
      limit = FILES_PAGE;
      requestFiles();
    }, 250);
  });
  const view = byId('view') as RadioGroup;
  view.value = ui.view;
  for (const r of view.querySelectorAll('vscode-radio')) r.toggleAttribute('checked', r.getAttribute('value') === ui.view);
  view.addEventListener('change', () => {
    const v: FilesView = view.value === 'filesystem' ? 'filesystem' : 'changes';
    if (v === ui.view) return;
    saveUi({ view: v });
    limit = FILES_PAGE;
    requestFiles();
  });
  byId('files-more').addEventListener('click', () => {
    limit = Math.min(FILES_MAX, limit * 5);
    requestFiles();
  });
  const box = byId('tree');
  box.addEventListener('scroll', () => paintTree(), { passive: true });
  box.addEventListener('keydown', onTreeKey);
  box.addEventListener('click', (e) => {
    const item = (e.target as Element).closest('[data-row]');
    if (!item) return;
    const i = Number(item.getAttribute('data-row'));
    activeTreeRow = i;
    toggleTreeRow(i);
    paintTree();
  });
  window.addEventListener('message', (e: MessageEvent<HostMessage>) => onMessage(e.data));
  post({ type: 'ready', version: EXPLORER_PROTOCOL_VERSION });
}

install();
