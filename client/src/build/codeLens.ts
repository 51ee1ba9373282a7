// "Build <tag>" and "Build as…" above the FROM of the stage a build makes. A provider of its own: other lenses
// (the layer explorer's) live beside it.
import * as vscode from 'vscode';
import { SETTINGS_SECTION } from '../../../server/src/protocol';
import { BUILD_IMAGE_COMMAND } from '../commands';
import type { BuildCommandOptions } from './buildCommand';
import type { BuildController } from './buildController';
import type { BuildTags } from './buildTags';
import { targetFromLine } from './targetStage';

export class BuildCodeLensProvider implements vscode.CodeLensProvider, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeCodeLenses = this.changed.event;
  private readonly subscriptions: vscode.Disposable[];

  constructor(
    private readonly tags: BuildTags,
    private readonly controller: BuildController,
  ) {
    this.subscriptions = [
      tags.onDidChange(() => this.changed.fire()),
      controller.onDidChangeBuilds(() => this.changed.fire()),
      vscode.workspace.onDidGrantWorkspaceTrust(() => this.changed.fire()),
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration(`${SETTINGS_SECTION}.target`)) this.changed.fire();
      }),
    ];
  }

  provideCodeLenses(document: vscode.TextDocument): vscode.CodeLens[] {
    // Restricted Mode: no build, so no lens offering one. Untitled buffers have no context to build.
    if (!vscode.workspace.isTrusted || document.uri.scheme !== 'file') return [];
    const target = vscode.workspace.getConfiguration(SETTINGS_SECTION, document.uri).get<string>('target', '');
    const line = targetFromLine(document.getText(), target);
    if (line === null) return [];
    const range = document.lineAt(line).range;
    const tag = this.tags.proposed(document.uri);
    if (this.controller.isBuilding(document.uri)) {
      // No command: a label while the build runs (the progress notification has the cancel button).
      return [new vscode.CodeLens(range, { title: `$(sync~spin) Building ${tag}…`, command: '' })];
    }
    const quick: BuildCommandOptions = { askTag: false };
    const ask: BuildCommandOptions = { askTag: true };
    return [
      new vscode.CodeLens(range, { title: `$(play) Build ${tag}`, tooltip: `Layer Lens: build this stage as ${tag}`, command: BUILD_IMAGE_COMMAND, arguments: [document.uri, quick] }),
      new vscode.CodeLens(range, { title: 'Build as…', tooltip: 'Layer Lens: build this stage with another tag', command: BUILD_IMAGE_COMMAND, arguments: [document.uri, ask] }),
    ];
  }

  dispose(): void {
    for (const d of this.subscriptions.splice(0)) d.dispose();
    this.changed.dispose();
  }
}
