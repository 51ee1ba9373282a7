// Code actions: quick fixes for the diagnostics under the cursor, as workspace edits. The rules are re-run on the
// text the editor has now (cheap and pure), so an edit never targets a stale version; the context facts come from
// the last analysis.

import * as path from 'path';
import { pathToFileURL } from 'url';
import {
  CodeActionKind,
  type ClientCapabilities,
  type CodeAction,
  type CodeActionParams,
  type Diagnostic,
  type TextEdit,
  type WorkspaceEdit,
} from 'vscode-languageserver';
import type { TextDocument } from 'vscode-languageserver-textdocument';
import { computeDiagnostics, type Range } from '../engine/diagnostics';
import { quickFixesFor, type FileChange } from '../engine/quickFixes';
import { DIAGNOSTIC_SOURCE, type LayerLensSettings } from '../protocol';
import { toLspDiagnostic } from './diagnostics';
import type { Analysed, CurrentText } from './documentView';

export interface EditSupport {
  readonly documentChanges: boolean;
  readonly createFile: boolean;
}

export function editSupport(caps: ClientCapabilities): EditSupport {
  const we = caps.workspace?.workspaceEdit;
  return { documentChanges: we?.documentChanges === true, createFile: we?.resourceOperations?.includes('create') === true };
}

const overlaps = (a: Range, b: Range): boolean =>
  !(a.end.line < b.start.line || (a.end.line === b.start.line && a.end.character < b.start.character) ||
    b.end.line < a.start.line || (b.end.line === a.start.line && b.end.character < a.start.character));

export interface IgnoreFileSource {
  /** Text of a file (an open editor's unsaved text first), or null when it does not exist. */
  read(absPath: string): Promise<string | null>;
}

export async function codeActions(
  params: CodeActionParams,
  doc: TextDocument,
  current: CurrentText,
  analysed: Analysed | null,
  settings: LayerLensSettings,
  support: EditSupport,
  files: IgnoreFileSource,
): Promise<CodeAction[]> {
  if (params.context.only && !params.context.only.some((k) => k === CodeActionKind.QuickFix || k.startsWith(`${CodeActionKind.QuickFix}.`) || k === CodeActionKind.Empty)) return [];
  const facts = analysed?.facts ?? null;
  const diags = computeDiagnostics({ text: current.text, model: current.model, context: facts }).filter((d) => overlaps(d.range, params.range));
  if (diags.length === 0) return [];
  const ignorePath = analysed?.ignoreFile ?? null;
  const contextDir = analysed?.key?.contextDir ?? null;
  let ignoreText: string | null | undefined;
  const actions: CodeAction[] = [];
  for (const d of diags) {
    const needsIgnore = d.code === 'LL002' || d.code === 'LL005';
    if (needsIgnore && (ignorePath === null || contextDir === null)) continue;
    if (needsIgnore && ignoreText === undefined) ignoreText = await files.read(ignorePath!);
    const ignoreFile = needsIgnore ? { rel: displayPath(contextDir!, ignorePath!), text: ignoreText ?? null } : null;
    const lsp = toLspDiagnostic(d, doc.uri, settings);
    for (const fix of quickFixesFor({ text: current.text, model: current.model, context: facts, ignoreFile }, d)) {
      const edit = workspaceEdit(fix.changes, doc, ignorePath, support);
      if (!edit) continue;
      actions.push({
        title: fix.title,
        kind: CodeActionKind.QuickFix,
        isPreferred: fix.isPreferred,
        diagnostics: lsp ? [matchingDiagnostic(params.context.diagnostics, lsp)] : [],
        edit,
      });
    }
  }
  return actions;
}

/** The client's own copy of the diagnostic when it has one (so the editor links them), else ours. */
function matchingDiagnostic(theirs: readonly Diagnostic[], ours: Diagnostic): Diagnostic {
  return theirs.find((t) => t.source === DIAGNOSTIC_SOURCE && t.code === ours.code && t.range.start.line === ours.range.start.line) ?? ours;
}

function displayPath(contextDir: string, file: string): string {
  const rel = path.relative(contextDir, file).split(path.sep).join('/');
  return rel.startsWith('..') ? file : rel;
}

function workspaceEdit(changes: readonly FileChange[], doc: TextDocument, ignorePath: string | null, support: EditSupport): WorkspaceEdit | null {
  const docChanges: WorkspaceEdit['documentChanges'] = [];
  const plain: Record<string, TextEdit[]> = {};
  for (const c of changes) {
    if (c.kind === 'dockerfile') {
      docChanges.push({ textDocument: { uri: doc.uri, version: doc.version }, edits: [...c.edits] });
      plain[doc.uri] = [...c.edits];
      continue;
    }
    const uri = pathToFileURL(ignorePath!).toString();
    if (c.create) {
      // Creating a file needs resource operations; without them there is no safe way to offer this fix.
      if (!support.documentChanges || !support.createFile) return null;
      docChanges.push({ kind: 'create', uri, options: { ignoreIfExists: true } });
    }
    docChanges.push({ textDocument: { uri, version: null }, edits: [...c.edits] });
    plain[uri] = [...c.edits];
  }
  return support.documentChanges ? { documentChanges: docChanges } : { changes: plain };
}
