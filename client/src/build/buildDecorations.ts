// The text after instruction lines that says what a build is doing or did: one decoration type per kind of line
// (its colour), the words per line from buildView.ts. Marks are kept per document and re-applied whenever an
// editor of that document becomes visible (VS Code drops decorations of editors that are hidden).
import * as vscode from 'vscode';
import { LINE_KINDS, type LineKind, type LineMark } from './buildView';

/** Theme colours: foreground-only, readable on light and dark themes, and overridable by the user's theme. */
const KIND_COLOR: Record<LineKind, string> = {
  waiting: 'descriptionForeground',
  running: 'charts.blue',
  cached: 'charts.green',
  built: 'charts.orange',
  failed: 'errorForeground',
  config: 'descriptionForeground',
  'not-run': 'descriptionForeground',
};

export class BuildDecorations implements vscode.Disposable {
  private readonly types = new Map<LineKind, vscode.TextEditorDecorationType>();
  /** Document URI (string) → its marks. */
  private readonly marks = new Map<string, readonly LineMark[]>();
  private readonly subscriptions: vscode.Disposable[] = [];

  constructor() {
    for (const kind of LINE_KINDS) {
      this.types.set(
        kind,
        vscode.window.createTextEditorDecorationType({
          after: {
            color: new vscode.ThemeColor(KIND_COLOR[kind]),
            margin: '0 0 0 1.5em',
            fontStyle: kind === 'waiting' || kind === 'not-run' ? 'italic' : 'normal',
          },
          // Marks belong to lines, not characters: typing at the end of a line does not carry them along.
          rangeBehavior: vscode.DecorationRangeBehavior.ClosedClosed,
        }),
      );
    }
    this.subscriptions.push(vscode.window.onDidChangeVisibleTextEditors((editors) => editors.forEach((e) => this.render(e))));
  }

  /** Replaces the marks of a document and redraws its visible editors. */
  set(uri: vscode.Uri, marks: readonly LineMark[]): void {
    this.marks.set(uri.toString(), marks);
    this.renderDocument(uri);
  }

  clear(uri: vscode.Uri): void {
    if (!this.marks.delete(uri.toString())) return;
    this.renderDocument(uri);
  }

  has(uri: vscode.Uri): boolean {
    return this.marks.has(uri.toString());
  }

  private renderDocument(uri: vscode.Uri): void {
    const key = uri.toString();
    for (const editor of vscode.window.visibleTextEditors) if (editor.document.uri.toString() === key) this.render(editor);
  }

  private render(editor: vscode.TextEditor): void {
    const marks = this.marks.get(editor.document.uri.toString()) ?? [];
    const byKind = new Map<LineKind, vscode.DecorationOptions[]>(LINE_KINDS.map((k) => [k, []]));
    const lineCount = editor.document.lineCount;
    for (const m of marks) {
      // A line past the end (the file shrank on disk after the build) gets no mark rather than a wrong one.
      if (m.line < 0 || m.line >= lineCount) continue;
      const end = editor.document.lineAt(m.line).range.end;
      const hover = new vscode.MarkdownString();
      hover.appendText(m.hover);
      byKind.get(m.kind)!.push({ range: new vscode.Range(end, end), hoverMessage: hover, renderOptions: { after: { contentText: m.text } } });
    }
    for (const [kind, options] of byKind) editor.setDecorations(this.types.get(kind)!, options);
  }

  dispose(): void {
    for (const d of this.subscriptions.splice(0)) d.dispose();
    for (const t of this.types.values()) t.dispose();
    this.types.clear();
    this.marks.clear();
  }
}
