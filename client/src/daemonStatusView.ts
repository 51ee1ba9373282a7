// What the status bar item says about the Docker daemon. Pure (no `vscode` import) so it is unit-tested directly;
// statusBar.ts applies the result to a StatusBarItem.
import type { DaemonStatusParams } from '../../server/src/protocol';

export type StatusTone = 'normal' | 'warning' | 'error';

export interface StatusView {
  /** Status bar text; `$(name)` are codicons. Kept short: details go in the tooltip. */
  readonly text: string;
  /** Markdown tooltip. */
  readonly tooltip: string;
  /** Screen-reader label: the text without icons, plus the host. */
  readonly ariaLabel: string;
  readonly tone: StatusTone;
}

/** The client has started the server and no daemon status has arrived yet. */
export const STARTING_VIEW: StatusView = {
  text: '$(sync~spin) Layer Lens',
  tooltip: 'Layer Lens: starting the language server…\n\nClick to show the log.',
  ariaLabel: 'Layer Lens: starting',
  tone: 'normal',
};

/** The language server is not running (it crashed too often, or failed to start). */
export function stoppedView(reason: string): StatusView {
  return {
    text: '$(error) Layer Lens stopped',
    tooltip: `**Layer Lens: the language server stopped.**\n\n${escapeMarkdown(reason)}\n\nClick to show the log; run **Layer Lens: Refresh** to start it again.`,
    ariaLabel: `Layer Lens stopped: ${reason}`,
    tone: 'error',
  };
}

const BUILDER_SOURCE: Record<DaemonStatusParams['builderSource'], string> = {
  setting: 'the layerLens.builder setting',
  environment: 'DOCKER_BUILDKIT',
  daemon: 'the daemon version',
  default: 'the default',
};

export function daemonStatusView(s: DaemonStatusParams): StatusView {
  const where = shortHost(s.host);
  const hostLine = `Host: \`${escapeCode(s.host)}\``;
  if (s.state === 'unreachable') {
    const reason = s.reason ?? 'no answer';
    return {
      text: `$(warning) Docker unreachable${where ? ` @ ${where}` : ''}`,
      tooltip: [
        '**Layer Lens: Docker daemon unreachable.**',
        escapeMarkdown(reason),
        hostLine,
        'Cache predictions are `?` until the daemon answers. Click to show the log.',
      ].join('\n\n'),
      ariaLabel: `Layer Lens: Docker daemon unreachable at ${s.host}: ${reason}`,
      tone: 'warning',
    };
  }
  const version = s.version ?? 'version unknown';
  const api = s.apiVersion ? ` (API ${s.apiVersion})` : '';
  return {
    text: `$(layers) Docker ${version}${where ? ` @ ${where}` : ''} · ${s.builder}`,
    tooltip: [
      '**Layer Lens: Docker daemon connected.**',
      hostLine,
      `Version: ${escapeMarkdown(version)}${api}`,
      `Predicting for the **${s.builder}** builder (from ${BUILDER_SOURCE[s.builderSource]}).`,
      s.eventsConnected ? 'Daemon events: live.' : 'Daemon events: not connected (hints refresh on edits and saves only).',
      'Click to show the log.',
    ].join('\n\n'),
    ariaLabel: `Layer Lens: Docker ${version} connected at ${s.host}, ${s.builder} builder`,
    tone: 'normal',
  };
}

/**
 * A few characters that say which daemon, or '' for the local default socket (the common case needs no label).
 * tcp://build-box:2376 → build-box; ssh://me@build-box → build-box; unix:///run/user/1000/docker.sock → docker.sock.
 */
export function shortHost(host: string): string {
  if (host === '' || host === 'unix:///var/run/docker.sock' || host === 'npipe:////./pipe/docker_engine') return '';
  const m = /^(?:tcp|ssh|https?):\/\/(?:[^@/]*@)?(\[[^\]]+\]|[^:/]+)/.exec(host);
  if (m) return m[1]!;
  const slash = host.lastIndexOf('/');
  return slash >= 0 ? host.slice(slash + 1) : host;
}

/** Daemon text is untrusted: it must not turn into links, images or HTML in a Markdown tooltip. */
export function escapeMarkdown(text: string): string {
  return text.replace(/[\\`*_{}[\]()#+\-.!|<>~]/g, (c) => `\\${c}`);
}

function escapeCode(text: string): string {
  return text.replace(/`/g, "'");
}
