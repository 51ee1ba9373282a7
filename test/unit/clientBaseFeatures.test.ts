// `layerLens.baseLanguageFeatures` as the VS Code client resolves it (client/src/baseFeatures.ts): pure, table-driven.
import * as assert from 'assert';
import { resolveBaseFeatures, withResolvedBaseFeatures } from '../../client/src/baseFeatures';

describe('client: base language features decision', () => {
  const table: [Parameters<typeof resolveBaseFeatures>[0], string[], 'on' | 'off'][] = [
    ['auto', [], 'on'],
    [undefined, ['vscode.docker', 'layerlens.layer-lens'], 'on'],
    ['auto', ['ms-azuretools.vscode-containers'], 'off'],
    ['auto', ['ms-azuretools.vscode-docker'], 'off'],
    ['auto', ['Docker.docker'], 'off'],
    ['on', ['docker.docker'], 'on'],
    ['off', [], 'off'],
  ];
  for (const [setting, installed, want] of table) {
    it(`${String(setting)} with [${installed.join(', ')}] → ${want}`, () => {
      assert.strictEqual(resolveBaseFeatures(setting, installed).value, want);
    });
  }

  it('names the extension that turned them off', () => {
    assert.strictEqual(resolveBaseFeatures('auto', ['docker.docker']).because, 'docker.docker provides them');
  });

  it('rewrites only the setting in the section, and leaves anything else alone', () => {
    const on = resolveBaseFeatures('auto', []);
    assert.deepStrictEqual(withResolvedBaseFeatures({ builder: 'classic', baseLanguageFeatures: 'auto' }, on), { builder: 'classic', baseLanguageFeatures: 'on' });
    assert.strictEqual(withResolvedBaseFeatures(null, on), null);
    assert.deepStrictEqual(withResolvedBaseFeatures([1], on), [1]);
  });
});
