// "Layer Lens: Build Image": which Dockerfile, which tag (asked, proposed from memory or the folder name), then the
// build under a cancellable progress notification, and the summary at the end.
import * as path from 'path';
import * as vscode from 'vscode';
import type { BuildResult } from '../../../server/src/protocol';
import { dockerfileDocumentSelector } from '../documentSelector';
import type { BuildController } from './buildController';
import type { BuildTags } from './buildTags';
import { buildSummary, type BuildSummary } from './buildView';
import { imageTagProblem } from './imageTag';

/** Second argument of the command (the code lens passes it). */
export interface BuildCommandOptions {
  /** false: build with the remembered tag without asking (asks anyway when none is remembered). */
  readonly askTag?: boolean;
}

const SHOW_LOG = 'Show Log';

function isDockerfile(document: vscode.TextDocument): boolean {
  return vscode.languages.match(dockerfileDocumentSelector() as vscode.DocumentSelector, document) > 0;
}

export class BuildCommand {
  constructor(
    private readonly controller: BuildController,
    private readonly tags: BuildTags,
  ) {}

  /**
   * `resource`: the Dockerfile (editor title menu and code lens pass it; the palette passes nothing, then the
   * active editor's document is built). Resolves with the result, or undefined when nothing was built.
   */
  async run(resource?: unknown, options?: BuildCommandOptions): Promise<BuildResult | undefined> {
    if (!vscode.workspace.isTrusted) {
      // The command is hidden and disabled in Restricted Mode; this guards a call from another extension.
      void vscode.window.showWarningMessage('Layer Lens does not build images in Restricted Mode: a build runs the commands of the Dockerfile. Trust the workspace to build.');
      return undefined;
    }
    const document = await this.dockerfile(resource);
    if (!document) return undefined;
    const uri = document.uri;
    const name = vscode.workspace.asRelativePath(uri, false);
    if (this.controller.isBuilding(uri)) {
      this.offerLog(`Layer Lens: ${name} is already being built.`, 'information');
      return undefined;
    }
    const remembered = this.tags.remembered(uri);
    let tag = remembered;
    if (options?.askTag !== false || tag === undefined) {
      tag = await vscode.window.showInputBox({
        title: 'Layer Lens: Build Image',
        prompt: `Image tag for ${name} (builder, build args and target come from the Layer Lens settings)`,
        value: this.tags.proposed(uri),
        validateInput: (v) => imageTagProblem(v.trim()),
        ignoreFocusOut: true,
      });
      if (tag === undefined) return undefined;
      tag = tag.trim();
    }
    await this.tags.remember(uri, tag);
    // The daemon builds what is on disk.
    if (document.isDirty && !(await document.save())) {
      void vscode.window.showErrorMessage(`Layer Lens: ${name} could not be saved, so it was not built.`);
      return undefined;
    }
    const builtTag = tag;
    let result: BuildResult;
    try {
      result = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `Layer Lens: building ${builtTag}`, cancellable: true },
        async (progress, token) => {
          let reported = 0;
          return this.controller.build(uri, builtTag, token, ({ current, fraction }) => {
            // `increment` adds up; the bar never goes back.
            const increment = Math.max(0, fraction - reported) * 100;
            reported = Math.max(reported, fraction);
            progress.report({ message: token.isCancellationRequested ? 'cancelling…' : (current ?? undefined), increment });
          });
        },
      );
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      this.controller.log([`---- the build of ${builtTag} did not complete: ${message}`]);
      this.offerLog(`Layer Lens: the build of ${builtTag} did not complete: ${message}`, 'error');
      return undefined;
    }
    const summary = buildSummary(result);
    this.controller.log(summary.logLines);
    this.offerLog(summary.message, summary.severity);
    return result;
  }

  /** The Dockerfile to build, or undefined after telling the user why there is none. */
  private async dockerfile(resource: unknown): Promise<vscode.TextDocument | undefined> {
    let document: vscode.TextDocument | undefined;
    if (resource instanceof vscode.Uri) {
      document = await vscode.workspace.openTextDocument(resource).then(
        (d) => d,
        () => undefined,
      );
    } else {
      // The active editor; else the one Dockerfile in sight (the focus may be in the output or terminal panel).
      const active = vscode.window.activeTextEditor?.document;
      const visible = vscode.window.visibleTextEditors.map((e) => e.document).filter(isDockerfile);
      document = active && isDockerfile(active) ? active : visible.length === 1 ? visible[0] : active;
    }
    if (!document || !isDockerfile(document)) {
      void vscode.window.showInformationMessage('Layer Lens: open a Dockerfile to build it.');
      return undefined;
    }
    if (document.uri.scheme !== 'file') {
      void vscode.window.showInformationMessage(`Layer Lens: save ${path.basename(document.fileName)} in a folder first: a build needs its context on disk.`);
      return undefined;
    }
    return document;
  }

  private offerLog(message: string, severity: BuildSummary['severity']): void {
    const show =
      severity === 'error' ? vscode.window.showErrorMessage : severity === 'warning' ? vscode.window.showWarningMessage : vscode.window.showInformationMessage;
    void show(message, SHOW_LOG).then((choice) => {
      if (choice === SHOW_LOG) this.controller.showLog();
    });
  }
}
