// The one status bar item of Layer Lens: the Docker daemon as the language server sees it.
import * as vscode from 'vscode';
import { SHOW_LOG_COMMAND } from './commands';
import type { StatusView } from './daemonStatusView';

export class DaemonStatusItem implements vscode.Disposable {
  private readonly item: vscode.StatusBarItem;

  constructor() {
    this.item = vscode.window.createStatusBarItem('layerLens.daemon', vscode.StatusBarAlignment.Left, 10);
    this.item.name = 'Layer Lens: Docker daemon';
    this.item.command = SHOW_LOG_COMMAND;
  }

  show(view: StatusView): void {
    this.item.text = view.text;
    const tooltip = new vscode.MarkdownString(view.tooltip);
    // The tooltip holds daemon text (versions, errors): no command links, no HTML.
    tooltip.isTrusted = false;
    tooltip.supportHtml = false;
    this.item.tooltip = tooltip;
    this.item.accessibilityInformation = { label: view.ariaLabel };
    this.item.backgroundColor =
      view.tone === 'normal' ? undefined : new vscode.ThemeColor(view.tone === 'error' ? 'statusBarItem.errorBackground' : 'statusBarItem.warningBackground');
    this.item.show();
  }

  dispose(): void {
    this.item.dispose();
  }
}
