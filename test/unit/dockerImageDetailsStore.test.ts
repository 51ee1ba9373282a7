import * as assert from 'assert';
import { mkdtempSync, writeFileSync, mkdirSync, statSync } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ImageDetailsStore, type ImageDetails } from '../../server/src/docker/imageDetailsStore';

const details = (id: string): ImageDetails => ({
  inspect: {
    id,
    parentId: '',
    repoTags: ['a:1'],
    created: '2026-01-01T00:00:00Z',
    size: 10,
    config: { cmd: null, env: null, entrypoint: null, user: '', labels: null, exposedPorts: [], volumes: [], tty: false, openStdin: false, attachStdout: false, attachStderr: false, workingDir: '' },
    containerConfig: null,
    layers: ['sha256:' + 'a'.repeat(64)],
  },
  history: [{ id, created: 1, createdBy: 'x', size: 10, comment: '', tags: ['a:1'] }],
});

/** What the store keeps: tags move between images, so they are not stored (the snapshot takes them from the listing). */
const stored = (id: string): ImageDetails => {
  const d = details(id);
  return { inspect: { ...d.inspect, repoTags: [] }, history: d.history.map((h) => ({ ...h, tags: [] })) };
};

describe('image details store', () => {
  it('round-trips through disk, keeps only images still present', async () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'layerlens-ids-'));
    const a = ImageDetailsStore.forHost(root, 'unix:///var/run/docker.sock');
    await a.set('sha256:1', details('sha256:1'));
    await a.set('sha256:2', details('sha256:2'));
    await a.persist(new Set(['sha256:1']));
    const b = ImageDetailsStore.forHost(root, 'unix:///var/run/docker.sock');
    assert.deepStrictEqual(await b.get('sha256:1'), stored('sha256:1'));
    assert.strictEqual(await b.get('sha256:2'), undefined);
    const otherHost = ImageDetailsStore.forHost(root, 'tcp://10.0.0.1:2376');
    assert.strictEqual(await otherHost.get('sha256:1'), undefined, 'one store per daemon host');
  });

  it('is not rewritten when images only went away, until stale entries make up a quarter of it', async () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'layerlens-ids-'));
    const ids = ['sha256:1', 'sha256:2', 'sha256:3', 'sha256:4', 'sha256:5', 'sha256:6', 'sha256:7', 'sha256:8'];
    const a = ImageDetailsStore.forHost(root, 'h');
    for (const id of ids) await a.set(id, details(id));
    await a.persist(new Set(ids));
    const file = (a as unknown as { file: string }).file;
    const written = statSync(file).mtimeMs;
    const b = ImageDetailsStore.forHost(root, 'h');
    await b.persist(new Set(ids.slice(2))); // 2 of 8 gone: not more than a quarter
    assert.strictEqual(statSync(file).mtimeMs, written, 'rewritten for deletions alone');
    assert.deepStrictEqual(await ImageDetailsStore.forHost(root, 'h').get('sha256:1'), stored('sha256:1'), 'a stale entry stays, harmlessly');
    const c = ImageDetailsStore.forHost(root, 'h');
    await c.persist(new Set(ids.slice(3))); // 3 of 8 gone
    assert.strictEqual(await ImageDetailsStore.forHost(root, 'h').get('sha256:1'), undefined);
    assert.deepStrictEqual(await ImageDetailsStore.forHost(root, 'h').get('sha256:4'), stored('sha256:4'));
  });

  it('ignores a corrupt or foreign file', async () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'layerlens-ids-'));
    const store = ImageDetailsStore.forHost(root, 'h');
    const file = (store as unknown as { file: string }).file;
    mkdirSync(path.dirname(file), { recursive: true });
    for (const junk of ['{not json', '{"format":99,"images":{}}', '{"format":1,"images":{"x":{"inspect":{}}}}']) {
      writeFileSync(file, junk);
      const fresh = ImageDetailsStore.forHost(root, 'h');
      assert.strictEqual(await fresh.get('x'), undefined);
    }
  });
});
