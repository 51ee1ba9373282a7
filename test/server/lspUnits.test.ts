// The language server's pure helpers: settings validation, context folder and builder choice, Dockerfile
// recognition, stale-result line mapping, hint labels, and the `lsp` command line.

import * as assert from 'assert';
import * as path from 'path';
import { parseArgs, UsageError } from '../../server/src/cliArgs';
import { parseDockerfile } from '../../server/src/engine/dockerfileModel';
import type { StepReport } from '../../server/src/engine/report';
import { mdCode } from '../../server/src/lsp/format';
import { hintLabel } from '../../server/src/lsp/inlayHints';
import { mapLines } from '../../server/src/lsp/lineMap';
import { chooseBuilder, contextFolderFor, globToRegExp, isDockerfileDocument, normaliseSettings } from '../../server/src/lsp/settings';
import { DEFAULT_SETTINGS } from '../../server/src/protocol';

describe('lsp helpers', () => {
  describe('settings', () => {
    it('falls back to defaults for anything malformed', () => {
      assert.deepStrictEqual(normaliseSettings(undefined), DEFAULT_SETTINGS);
      assert.deepStrictEqual(normaliseSettings({ builder: 'podman', buildArgs: [1], inlayHints: 'no', diagnostics: { severity: { ll001: 'loud' } }, baseLanguageFeatures: true }), DEFAULT_SETTINGS);
    });

    it('keeps valid values, stringifies scalar build args, upper-cases codes', () => {
      const s = normaliseSettings({
        dockerHost: ' tcp://h:2375 ', builder: 'classic', buildArgs: { A: 'x', N: 3, B: { no: 1 } }, target: 'app',
        contextFolders: { 'docker/*.Dockerfile': '.' }, buildNetwork: ' none ', inlayHints: { enabled: false }, diagnostics: { severity: { ll004: 'off', LL001: 'error' } },
        baseLanguageFeatures: 'on',
      });
      assert.deepStrictEqual(s, {
        dockerHost: 'tcp://h:2375', builder: 'classic', buildArgs: { A: 'x', N: '3' }, target: 'app',
        contextFolders: { 'docker/*.Dockerfile': '.' }, buildNetwork: 'none', inlayHints: { enabled: false }, diagnostics: { severity: { LL004: 'off', LL001: 'error' } },
        baseLanguageFeatures: 'on',
      });
    });

    const ws = path.resolve('/ws');
    const table: [Record<string, string>, string, string][] = [
      [{}, '/ws/app/Dockerfile', '/ws/app'],
      [{ 'docker/*.Dockerfile': '.' }, '/ws/docker/api.Dockerfile', '/ws'],
      [{ '**/Dockerfile': '${workspaceFolder}/ctx' }, '/ws/a/b/Dockerfile', '/ws/ctx'],
      [{ 'docker/*.Dockerfile': '.' }, '/ws/other/api.Dockerfile', '/ws/other'],
      [{ '/ws/x/Dockerfile': '/abs/ctx' }, '/ws/x/Dockerfile', '/abs/ctx'],
    ];
    for (const [folders, df, want] of table) {
      it(`context of ${df} with ${JSON.stringify(folders)}`, () => {
        assert.strictEqual(contextFolderFor({ ...DEFAULT_SETTINGS, contextFolders: folders }, path.resolve(df), [ws]), path.resolve(want));
      });
    }

    it('globs: ** spans folders, * stays within one', () => {
      assert.ok(globToRegExp('**/Dockerfile').test('Dockerfile'));
      assert.ok(globToRegExp('**/Dockerfile').test('a/b/Dockerfile'));
      assert.ok(!globToRegExp('*/Dockerfile').test('a/b/Dockerfile'));
      assert.ok(globToRegExp('Dockerfile.*').test('Dockerfile.dev'));
      assert.ok(!globToRegExp('Dockerfile.*').test('DockerfileXdev'));
    });

    it('chooses the builder like docker build would', () => {
      assert.deepStrictEqual(chooseBuilder('classic', { DOCKER_BUILDKIT: '1' }, '25.0.0'), { builder: 'classic', source: 'setting' });
      assert.deepStrictEqual(chooseBuilder('auto', { DOCKER_BUILDKIT: '0' }, '25.0.0'), { builder: 'classic', source: 'environment' });
      assert.deepStrictEqual(chooseBuilder('auto', {}, '20.10.24+dfsg1'), { builder: 'classic', source: 'daemon' });
      assert.deepStrictEqual(chooseBuilder('auto', {}, '23.0.1'), { builder: 'buildkit', source: 'daemon' });
      assert.deepStrictEqual(chooseBuilder('auto', {}, null), { builder: 'buildkit', source: 'default' });
    });
  });

  it('recognises Dockerfiles by language id and by name', () => {
    const yes = ['Dockerfile', 'dockerfile', 'api.Dockerfile', 'Dockerfile.dev', 'Containerfile', 'Containerfile.prod'];
    const no = ['Dockerfile.dockerignore', '.dockerignore', 'README.md', 'mydockerfile'];
    for (const n of yes) assert.ok(isDockerfileDocument(`file:///w/${n}`, 'plaintext'), n);
    for (const n of no) assert.ok(!isDockerfileDocument(`file:///w/${n}`, 'plaintext'), n);
    assert.ok(isDockerfileDocument('file:///w/build.txt', 'dockerfile'));
  });

  describe('stale results', () => {
    const a = parseDockerfile('FROM x\nRUN a\nRUN b\nRUN c\n');
    it('maps every instruction when only comments moved them', () => {
      const m = mapLines(a, parseDockerfile('# top\nFROM x\n\nRUN a\n# mid\nRUN b\nRUN c\n'));
      assert.deepStrictEqual([...m], [[1, 2], [2, 4], [3, 6], [4, 7]]);
    });
    it('drops the changed instruction and everything after it', () => {
      const m = mapLines(a, parseDockerfile('FROM x\n\nRUN a\nRUN B\nRUN c\n'));
      assert.deepStrictEqual([...m], [[1, 1], [2, 3]]);
    });
    it('drops everything after an inserted instruction', () => {
      assert.deepStrictEqual([...mapLines(a, parseDockerfile('FROM x\nENV Y=1\nRUN a\nRUN b\nRUN c\n'))], [[1, 1]]);
    });
  });

  describe('hint labels', () => {
    const step = (over: Partial<StepReport>): StepReport => ({
      line: 1, endLine: 1, stage: '0', instruction: 'RUN', text: 'RUN x', createsLayer: true, cache: 'hit', reason: 'r',
      size: { bytes: 1536, exact: true, source: 'context' }, skipped: false, ...over,
    });
    const table: [Partial<StepReport>, string | null][] = [
      [{}, '1.5 KiB · cached'],
      [{ cache: 'miss', size: { bytes: 5 * 1048576, exact: false, source: 'previous-build' } }, '~5.0 MiB · rebuilds'],
      [{ cache: 'unknown', size: { bytes: null, exact: false, source: 'none' } }, '?'],
      [{ instruction: 'ENV', createsLayer: false, size: { bytes: 0, exact: true, source: 'none' } }, null],
      [{ instruction: 'LABEL', createsLayer: false, cache: 'miss' }, 'rebuilds'],
      [{ instruction: 'WORKDIR', createsLayer: false, cache: 'unknown' }, null],
      [{ skipped: true }, null],
      [{ skipped: true, instruction: 'FROM', createsLayer: false }, 'skipped (not needed for the target)'],
      [{ instruction: 'FROM', createsLayer: false, size: { bytes: 0, exact: true, source: 'none' } }, 'cached'],
      [{ instruction: 'FROM', createsLayer: false, size: { bytes: 4194304, exact: true, source: 'history' } }, '4.0 MiB · cached'],
    ];
    for (const [over, want] of table) it(JSON.stringify(over), () => assert.strictEqual(hintLabel(step(over)), want));
  });

  it('fences untrusted text past its backticks, on one line', () => {
    assert.strictEqual(mdCode('a.txt'), '`a.txt`');
    assert.strictEqual(mdCode('a`b'), '``a`b``');
    assert.strictEqual(mdCode('`x`'), '`` `x` ``');
    assert.strictEqual(mdCode('RUN a\nb'), '`RUN a b`');
  });

  describe('layerlens lsp', () => {
    for (const argv of [['lsp', '--stdio'], ['lsp', '--node-ipc'], ['lsp', '--socket=5007'], ['lsp', '--stdio', '--clientProcessId', '42']]) {
      it(argv.join(' '), () => assert.deepStrictEqual(parseArgs(argv, {}), { command: 'lsp' }));
    }
    for (const argv of [['lsp'], ['lsp', '--json'], ['lsp', 'Dockerfile']]) {
      it(`${argv.join(' ')} is a usage error`, () => assert.throws(() => parseArgs(argv, {}), UsageError));
    }
  });
});
