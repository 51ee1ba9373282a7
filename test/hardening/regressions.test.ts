// One test per defect the hardening suites found, with the smallest input that showed it.

import * as assert from 'assert';
import { problemLines } from '../../server/src/cli';
import { DaemonWatch } from '../../server/src/lsp/daemonWatch';
import { FakeBackend } from '../server/fakeBackend';
import { parseDockerfile } from '../../server/src/engine/dockerfileModel';
import { editorModel, MAX_EDITOR_CHARS, MAX_EDITOR_LINES, tooLargeForEditor } from '../../server/src/lsp/documentView';

describe('hardening regressions', () => {
  it('a lone CR does not shift instructions onto a neighbour line (fuzz: FROM at 9-9 outside 1-8)', () => {
    // Docker ends lines at LF only; dockerfile-ast also at CR: RUN took the text of the line after it.
    const m = parseDockerfile('FROM node:18\nADD . .\n\rRUN npm install\nRUN cd sub && npm install\n');
    assert.deepStrictEqual(m.instructions.map((i) => [i.line, i.keyword, i.text]), [
      [1, 'FROM', 'FROM node:18'],
      [2, 'ADD', 'ADD . .'],
      [3, 'RUN', 'RUN npm install'],
      [4, 'RUN', 'RUN cd sub && npm install'],
    ]);
    const mid = parseDockerfile('FROM a\nRUN echo x\ry\nRUN echo z\n');
    assert.deepStrictEqual(mid.instructions.map((i) => [i.line, i.endLine]), [[1, 1], [2, 2], [3, 3]]);
    assert.strictEqual(mid.instructions[1]!.dockerLine, 'RUN echo x\ry', 'the CR stays in the command, as Docker keeps it');
  });

  it('a document too large for the editor is not parsed by requests, and says why (extreme: 10 MB took 14.7 s of requests)', () => {
    const lines = ['FROM alpine', ...Array.from({ length: MAX_EDITOR_LINES }, (_, i) => `RUN echo ${i}`)].join('\n');
    assert.match(tooLargeForEditor(lines) ?? '', /more than 10000 lines: too large to analyse while editing; run `layerlens analyze` in a terminal instead/);
    assert.strictEqual(editorModel(lines).instructions.length, 0);
    const wide = `FROM alpine\nRUN echo ${'x'.repeat(MAX_EDITOR_CHARS)}`;
    assert.match(tooLargeForEditor(wide) ?? '', /has \d+ characters \(the limit is 1048576\)/);
    const fine = ['FROM alpine', ...Array.from({ length: MAX_EDITOR_LINES - 2 }, () => 'RUN echo')].join('\n');
    assert.strictEqual(tooLargeForEditor(fine), null);
    assert.strictEqual(editorModel(fine).instructions.length, MAX_EDITOR_LINES - 1);
  });

  it('unreadable context entries reach the user as warnings, names quoted (hostile: exit 0 and nothing said)', () => {
    assert.strictEqual(problemLines([]), '');
    assert.strictEqual(problemLines([{ rel: 'a\nb', message: 'cannot read directory: EACCES: permission denied' }]),
      'layerlens: warning: "a\\nb": cannot read directory: EACCES: permission denied\n');
    const many = Array.from({ length: 13 }, (_, i) => ({ rel: `f${i}`, message: 'x' }));
    const out = problemLines(many).split('\n').filter(Boolean);
    assert.strictEqual(out.length, 11);
    assert.strictEqual(out[10], 'layerlens: warning: 3 more context entries could not be read');
  });

  it('a daemon absent at start that appears later re-analyses the documents (faults: status connected, hints stale)', async () => {
    const backend = new FakeBackend();
    backend.info = { reachable: false, host: 'unix:///x.sock', version: null, apiVersion: null, error: 'cannot connect' };
    let changes = 0;
    const watch = new DaemonWatch(backend, () => changes++, () => undefined, 0);
    watch.start();
    assert.strictEqual((await watch.daemonInfo()).reachable, false);
    await new Promise((r) => setImmediate(r));
    backend.info = { reachable: true, host: 'unix:///x.sock', version: '25.0.0', apiVersion: '1.44', error: null };
    backend.setEventStream(true);
    assert.strictEqual(changes, 1, 'the first connection after an unreachable answer is a change');
    assert.strictEqual((await watch.daemonInfo()).reachable, true);
    // A normal start (the daemon was there all along) does not re-analyse for nothing.
    const b2 = new FakeBackend();
    let c2 = 0;
    const w2 = new DaemonWatch(b2, () => c2++, () => undefined, 0);
    w2.start();
    await w2.daemonInfo();
    await new Promise((r) => setImmediate(r));
    b2.setEventStream(true);
    assert.strictEqual(c2, 0);
    watch.dispose();
    w2.dispose();
  });
});
