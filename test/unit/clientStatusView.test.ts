// What the VS Code status bar item says about the daemon (client/src/daemonStatusView.ts): pure, table-driven.

import * as assert from 'assert';
import { daemonStatusView, escapeMarkdown, shortHost, STARTING_VIEW, stoppedView } from '../../client/src/daemonStatusView';
import type { DaemonStatusParams } from '../../server/src/protocol';

const connected: DaemonStatusParams = {
  state: 'connected',
  host: 'unix:///var/run/docker.sock',
  version: '20.10.24+dfsg1',
  apiVersion: '1.41',
  builder: 'classic',
  builderSource: 'daemon',
  reason: null,
  eventsConnected: true,
};

describe('client: daemon status bar item', function () {
  it('connected to the default socket: version and builder, no host label', function () {
    const v = daemonStatusView(connected);
    assert.strictEqual(v.text, '$(layers) Docker 20.10.24+dfsg1 · classic');
    assert.strictEqual(v.tone, 'normal');
    assert.match(v.tooltip, /unix:\/\/\/var\/run\/docker\.sock/);
    assert.match(v.tooltip, /API 1\.41/);
    assert.match(v.tooltip, /from the daemon version/);
    assert.match(v.tooltip, /Daemon events: live/);
    assert.strictEqual(v.ariaLabel, 'Layer Lens: Docker 20.10.24+dfsg1 connected at unix:///var/run/docker.sock, classic builder');
  });

  it('connected to a remote host: the host name is in the text', function () {
    const v = daemonStatusView({ ...connected, host: 'tcp://build-box:2376', builder: 'buildkit', builderSource: 'setting', eventsConnected: false });
    assert.strictEqual(v.text, '$(layers) Docker 20.10.24+dfsg1 @ build-box · buildkit');
    assert.match(v.tooltip, /layerLens\.builder setting/);
    assert.match(v.tooltip, /not connected/);
  });

  it('unreachable: a warning with the reason in the tooltip', function () {
    const v = daemonStatusView({ ...connected, state: 'unreachable', version: null, apiVersion: null, host: 'ssh://me@box', reason: 'cannot connect to ssh://me@box: ECONNREFUSED' });
    assert.strictEqual(v.text, '$(warning) Docker unreachable @ box');
    assert.strictEqual(v.tone, 'warning');
    assert.match(v.tooltip, /ECONNREFUSED/);
    assert.match(v.ariaLabel, /unreachable at ssh:\/\/me@box: cannot connect/);
  });

  it('daemon text cannot inject links, images or HTML into the tooltip', function () {
    const v = daemonStatusView({ ...connected, state: 'unreachable', reason: '[x](command:evil) <img src=x> ![i](http://e/i.png)' });
    assert.ok(!v.tooltip.includes('[x](command:evil)'), v.tooltip);
    assert.ok(v.tooltip.includes('\\<img') && !/(^|[^\\])<img/.test(v.tooltip), v.tooltip);
    assert.ok(!v.tooltip.includes('![i]('), v.tooltip);
    const odd = daemonStatusView({ ...connected, host: 'unix:///tmp/`x`.sock' });
    assert.ok(!odd.tooltip.includes('`x`'), odd.tooltip);
  });

  for (const [host, label] of [
    ['unix:///var/run/docker.sock', ''],
    ['', ''],
    ['npipe:////./pipe/docker_engine', ''],
    ['unix:///run/user/1000/docker.sock', 'docker.sock'],
    ['tcp://10.0.0.5:2376', '10.0.0.5'],
    ['tcp://[::1]:2375', '[::1]'],
    ['ssh://me@build-box', 'build-box'],
    ['ssh://me@build-box:2222', 'build-box'],
    ['https://docker.example.com', 'docker.example.com'],
  ] as const) {
    it(`short host label: ${host || '(empty)'} → ${label || '(none)'}`, function () {
      assert.strictEqual(shortHost(host), label);
    });
  }

  it('starting and stopped views', function () {
    assert.strictEqual(STARTING_VIEW.tone, 'normal');
    const s = stoppedView('exit code 1');
    assert.strictEqual(s.tone, 'error');
    assert.match(s.tooltip, /exit code 1/);
    assert.match(s.tooltip, /Layer Lens: Refresh/);
  });

  it('escapeMarkdown leaves plain words alone and escapes markup', function () {
    assert.strictEqual(escapeMarkdown('plain words'), 'plain words');
    assert.strictEqual(escapeMarkdown('*a* _b_ `c`'), '\\*a\\* \\_b\\_ \\`c\\`');
  });
});
