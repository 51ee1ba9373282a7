// The tag each Dockerfile was last built as, kept in the workspace state (per workspace, not synced), so that the
// next build of that file proposes it again and the code lens can name it.
import * as path from 'path';
import * as vscode from 'vscode';
import { defaultImageTag } from './imageTag';

const STATE_KEY = 'layerLens.buildTags';

export class BuildTags implements vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.changed.event;

  constructor(private readonly state: vscode.Memento) {}

  /** The remembered tag of this Dockerfile, or undefined when it was never built from here. */
  remembered(uri: vscode.Uri): string | undefined {
    const tags = this.all();
    const tag = tags[uri.toString()];
    return typeof tag === 'string' ? tag : undefined;
  }

  /** The remembered tag, else `<folder>:latest` from the Dockerfile's folder. */
  proposed(uri: vscode.Uri): string {
    return this.remembered(uri) ?? defaultImageTag(path.basename(path.dirname(uri.fsPath)));
  }

  async remember(uri: vscode.Uri, tag: string): Promise<void> {
    if (this.remembered(uri) === tag) return;
    await this.state.update(STATE_KEY, { ...this.all(), [uri.toString()]: tag });
    this.changed.fire(uri);
  }

  private all(): Record<string, unknown> {
    const v = this.state.get<unknown>(STATE_KEY);
    return v !== null && typeof v === 'object' ? (v as Record<string, unknown>) : {};
  }

  dispose(): void {
    this.changed.dispose();
  }
}
