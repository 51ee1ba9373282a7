import * as assert from 'assert';
import type { HistoryEntry, ImageInspect } from '../../server/src/docker/types';
import { parseDockerfile } from '../../server/src/engine/dockerfileModel';
import type { ContextReader, DaemonEvidence, ImageWithHistory } from '../../server/src/engine/inputs';
import { predict } from '../../server/src/engine/predict';

const context: ContextReader = {
  resolve: () => [],
  layerBytes: () => 0,
  contentHash: async () => '',
  contentHashes: async () => new Map(),
  classicHash: async () => '',
  ctimeOf: () => null,
  verifiedAt: () => null,
  markVerified: () => undefined,
};

const config = { cmd: null, env: null, entrypoint: null, user: '', labels: null, exposedPorts: [], volumes: [], tty: false, openStdin: false, attachStdout: false, attachStderr: false, workingDir: '' };

function image(id: string, lines: Array<[string, number]>): ImageWithHistory {
  const inspect: ImageInspect = { id, parentId: '', repoTags: [], created: '2026-01-01T00:00:00Z', size: 0, config, containerConfig: null, layers: [] };
  const history: HistoryEntry[] = lines.map(([createdBy, size]) => ({ id: '<missing>', created: 1, createdBy, size, comment: 'buildkit.dockerfile.v0', tags: [] }));
  return { image: inspect, history };
}

function daemon(images: ImageWithHistory[]): DaemonEvidence & { historyReads: number } {
  const d = {
    historyReads: 0,
    reachable: true,
    error: null,
    imagesError: null,
    imageByRef: async () => null,
    children: async () => [],
    imagesWithHistory: async () => {
      d.historyReads++;
      return images;
    },
    layerFiles: async () => null,
    buildCache: async () => [],
    allInspected: async () => [],
  };
  return d;
}

describe('predict: sizes of steps that will run, from earlier builds (previousSize)', () => {
  const dockerfile = 'FROM not-here/base:1\nARG A=2\nRUN echo hi\nRUN echo other\nRUN echo third\n';

  it('takes the first earlier build of the same RUN, build args aside; others stay unknown', async () => {
    const d = daemon([
      image('sha256:1', [['RUN |1 A=1 /bin/sh -c echo hi # buildkit', 123], ['RUN |1 A=1 /bin/sh -c echo third # buildkit', 7]]),
      image('sha256:2', [['RUN |1 A=9 /bin/sh -c echo hi # buildkit', 456], ['/bin/sh -c #(nop)  ENV X=1', 0]]),
    ]);
    const res = await predict({ model: parseDockerfile(dockerfile), builder: 'buildkit', target: null, buildArgs: {}, context, daemon: d });
    assert.ok(!('error' in res));
    const runs = res.steps.filter((s) => s.instruction === 'RUN');
    assert.deepStrictEqual(runs.map((s) => s.cache), ['miss', 'miss', 'miss']);
    assert.deepStrictEqual(runs.map((s) => s.size), [
      { bytes: 123, exact: false, source: 'previous-build' },
      { bytes: null, exact: false, source: 'none' },
      { bytes: 7, exact: false, source: 'previous-build' },
    ]);
  });
});
