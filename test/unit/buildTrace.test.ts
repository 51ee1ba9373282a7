// The BuildKit trace decoder and the per-step tracker, on progress streams captured from the real docker 20.10 daemon
// (test/fixtures/build/*.jsonl, see the header of server/src/build/buildSteps.ts), plus the protobuf reader's limits.

import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { decodeStatusResponse, decodeTraceAux, ProtoError } from '../../server/src/build/buildkitTrace';
import { BuildTracker, planSteps, predictionCorrect, type BuilderKind } from '../../server/src/build/buildSteps';
import { parseArgs, UsageError } from '../../server/src/cliArgs';
import { parseDockerfile } from '../../server/src/engine/dockerfileModel';
import type { BuildLogLine, BuildStepProgress } from '../../server/src/protocol';

const FIXTURES = path.resolve(__dirname, '../../../test/fixtures/build');

function messages(name: string): unknown[] {
  return fs.readFileSync(path.join(FIXTURES, name), 'utf8').split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as unknown);
}

function track(builder: BuilderKind, dockerfile: string, stream: string, outcome: 'succeeded' | 'failed') {
  const model = parseDockerfile(fs.readFileSync(path.join(FIXTURES, dockerfile), 'utf8'));
  const plan = planSteps(model, []);
  const progress: BuildStepProgress[] = [];
  const logs: BuildLogLine[] = [];
  let t = 1000;
  const tracker = new BuildTracker(builder, model, plan, { step: (p) => progress.push(p), log: (l) => logs.push(l), current: () => undefined }, () => (t += 10));
  for (const m of messages(stream)) tracker.message(m);
  tracker.finish(outcome);
  return { tracker, results: tracker.results(), progress, logs };
}

describe('BuildKit trace: protobuf StatusResponse reader', () => {
  it('decodes vertexes (digest, inputs, name, cached, times, error) from a captured message', () => {
    const traces = messages('buildkit-failed-run.jsonl').filter((m) => (m as { id?: string }).id === 'moby.buildkit.trace');
    const all = traces.flatMap((m) => decodeTraceAux((m as { aux: string }).aux).vertexes);
    const failed = all.find((v) => v.error !== '');
    assert.ok(failed, 'a vertex carries the error');
    assert.strictEqual(failed.name, '[stage-1 2/2] RUN false'); // FROM <stage> is not counted
    assert.match(failed.error, /exit code: 1/);
    assert.match(failed.digest, /^sha256:[0-9a-f]{64}$/);
    assert.ok(failed.inputs.length === 1 && /^sha256:/.test(failed.inputs[0]!));
    assert.ok(failed.started !== null && failed.completed !== null && failed.completed >= failed.started);
    // Timestamps are epoch milliseconds of the capture (November 2026).
    assert.ok(failed.started > Date.UTC(2026, 0, 1) && failed.started < Date.UTC(2027, 0, 1));
    const cachedRun = messages('buildkit-cached.jsonl')
      .filter((m) => (m as { id?: string }).id === 'moby.buildkit.trace')
      .flatMap((m) => decodeTraceAux((m as { aux: string }).aux).vertexes)
      .filter((v) => v.name.startsWith('[base 2/3] RUN') && v.completed !== null);
    assert.ok(cachedRun.length > 0 && cachedRun.every((v) => v.cached));
  });

  it('decodes logs with their stream (stdout 1, stderr 2)', () => {
    const logs = messages('buildkit-fresh.jsonl')
      .filter((m) => (m as { id?: string }).id === 'moby.buildkit.trace')
      .flatMap((m) => decodeTraceAux((m as { aux: string }).aux).logs);
    assert.ok(logs.some((l) => l.stream === 1 && l.msg.includes('hello-log')), JSON.stringify(logs));
    assert.ok(logs.some((l) => l.stream === 2 && l.msg.includes('err-line')), JSON.stringify(logs));
  });

  it('skips unknown fields of every wire type and rejects malformed input', () => {
    // field 9 varint, field 10 fixed64, field 11 fixed32, then vertexes { name: "x" } — unknown fields are skipped.
    const vertex = Buffer.from([0x1a, 0x01, 0x78]);
    const msg = Buffer.concat([Buffer.from([0x48, 0x96, 0x01, 0x51, 1, 2, 3, 4, 5, 6, 7, 8, 0x5d, 1, 2, 3, 4, 0x0a, vertex.length]), vertex]);
    assert.deepStrictEqual(decodeStatusResponse(msg).vertexes.map((v) => v.name), ['x']);
    assert.throws(() => decodeStatusResponse(Buffer.from([0x0a, 0x05, 0x1a])), ProtoError); // length past the end
    assert.throws(() => decodeStatusResponse(Buffer.from([0x0a])), ProtoError); // truncated varint
    assert.throws(() => decodeStatusResponse(Buffer.from([0x0b])), ProtoError); // wire type 3 (group)
    assert.throws(() => decodeTraceAux('not base64!'), ProtoError);
    assert.throws(() => decodeTraceAux(42), ProtoError);
  });
});

describe('Build tracker: per-step outcomes from captured streams', () => {
  it('BuildKit, first build: every vertex step built, metadata steps config, FROM <stage> config, logs on their step', () => {
    const { results, logs, tracker } = track('buildkit', 'buildkit-fresh.Dockerfile', 'buildkit-fresh.jsonl', 'succeeded');
    assert.deepStrictEqual(results.map((r) => [r.line, r.instruction, r.actual]), [
      [1, 'FROM', 'cached'], // a local base image: nothing fetched
      [2, 'RUN', 'built'],
      [3, 'COPY', 'built'],
      [4, 'FROM', 'config'],
      [5, 'ARG', 'config'],
      [6, 'RUN', 'built'],
    ]);
    assert.ok(results.filter((r) => r.actual === 'built').every((r) => r.durationMs !== null && r.durationMs >= 0));
    assert.ok(logs.some((l) => l.step === 1 && l.text.includes('hello-log')), 'RUN output belongs to line 2 (index 1)');
    assert.match(tracker.imageId ?? '', /^sha256:[0-9a-f]{64}$/);
    assert.strictEqual(tracker.error, null);
  });

  it('BuildKit, rebuild: every vertex step cached', () => {
    const { results } = track('buildkit', 'buildkit-fresh.Dockerfile', 'buildkit-cached.jsonl', 'succeeded');
    assert.deepStrictEqual(results.map((r) => r.actual), ['cached', 'cached', 'cached', 'config', 'config', 'cached']);
  });

  it('BuildKit, failing RUN: the error is mapped to its line; steps after it are not run', () => {
    const { results, tracker } = track('buildkit', 'failed-run.Dockerfile', 'buildkit-failed-run.jsonl', 'failed');
    assert.deepStrictEqual(tracker.error && { line: tracker.error.line, endLine: tracker.error.endLine }, { line: 6, endLine: 6 });
    assert.match(tracker.error!.message, /\/bin\/sh -c false.*exit code: 1/);
    assert.strictEqual(results[5]!.actual, 'failed');
    assert.strictEqual(tracker.imageId, null);
  });

  it('classic, failing RUN: Step lines, Running in, the step images, the error on line 6', () => {
    const { results, tracker } = track('classic', 'failed-run.Dockerfile', 'classic-failed-run.jsonl', 'failed');
    assert.deepStrictEqual(results.map((r) => r.actual), ['cached', 'built', 'built', 'config', 'built', 'failed']);
    assert.deepStrictEqual(tracker.classicImages().map((c) => c.imageId), ['28c43fa562a8', '670ac2329e90', 'cfed7d8ba7d0', 'cfed7d8ba7d0', '783eae6f3558']);
    assert.strictEqual(tracker.error?.line, 6);
    assert.match(tracker.error!.message, /returned a non-zero code: 1/);
  });

  it('a parse error without a running step is placed by the line it names', () => {
    const model = parseDockerfile('FROM a\nRUN x\nFOO bar\n');
    const tracker = new BuildTracker('buildkit', model, planSteps(model, []), { step: () => undefined, log: () => undefined, current: () => undefined });
    tracker.message({ errorDetail: { message: 'failed to solve with frontend dockerfile.v0: failed to create LLB definition: Dockerfile parse error line 3: unknown instruction: FOO' } });
    assert.deepStrictEqual({ line: tracker.error?.line, endLine: tracker.error?.endLine }, { line: 3, endLine: 3 });
  });

  it('prediction comparison: hit↔cached, miss↔built/failed, nothing for config, not-run or unknown', () => {
    assert.strictEqual(predictionCorrect('hit', 'cached'), true);
    assert.strictEqual(predictionCorrect('hit', 'built'), false);
    assert.strictEqual(predictionCorrect('miss', 'failed'), true);
    assert.strictEqual(predictionCorrect('miss', 'cached'), false);
    assert.strictEqual(predictionCorrect('hit', 'config'), null);
    assert.strictEqual(predictionCorrect('unknown', 'built'), null);
    assert.strictEqual(predictionCorrect('miss', 'not-run'), null);
  });
});

describe('CLI arguments: build', () => {
  it('reads -t, --network, --tar-mode; a tag is required; build-only options are refused for analyze', () => {
    const c = parseArgs(['build', 'x/Dockerfile', '-t', 'app:dev', '--network=none', '--tar-mode', 'full', '--builder', 'classic', '--json'], {});
    assert.deepStrictEqual(c, {
      command: 'build', dockerfile: 'x/Dockerfile', context: null, target: null, buildArgs: {}, builder: 'classic', json: true, color: null,
      tag: 'app:dev', network: 'none', tarMode: 'full',
    });
    assert.throws(() => parseArgs(['build'], {}), UsageError);
    assert.throws(() => parseArgs(['build', '-t', 'a', '--tar-mode', 'odd'], {}), UsageError);
    assert.throws(() => parseArgs(['analyze', '-t', 'a'], {}), UsageError);
  });
});
