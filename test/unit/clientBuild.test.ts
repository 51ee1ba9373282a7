// The pure half of "Layer Lens: Build Image" (client/src/build): line labels, durations, the summary and its
// prediction check, the default tag and its validation, where the code lens goes. Table-driven, no `vscode`.

import * as assert from 'assert';
import {
  buildLogText,
  buildSummary,
  describeMismatch,
  formatDuration,
  formatRunning,
  fractionDone,
  progressLabel,
  progressMarks,
  resultLabel,
  resultMarks,
} from '../../client/src/build/buildView';
import { defaultImageTag, imageTagProblem } from '../../client/src/build/imageTag';
import { targetFromLine } from '../../client/src/build/targetStage';
import { BUILD_IMAGE_COMMAND, RESTRICTED_CONTEXT_KEY } from '../../client/src/commands';
import type { BuildResult, BuildStepProgress, BuildStepResult } from '../../server/src/protocol';

function progress(index: number, line: number, state: BuildStepProgress['state'], extra: Partial<BuildStepProgress> = {}): BuildStepProgress {
  return { index, line, endLine: line, stage: '0', instruction: 'RUN', state, startedMs: null, endedMs: null, elapsedMs: null, sizeBytes: null, ...extra };
}

function step(index: number, line: number, text: string, extra: Partial<BuildStepResult> = {}): BuildStepResult {
  return {
    index,
    line,
    endLine: line,
    stage: '0',
    instruction: text.split(' ')[0]!,
    text,
    predicted: 'hit',
    actual: 'cached',
    predictionCorrect: true,
    durationMs: 12,
    sizeBytes: 0,
    predictedSizeBytes: 0,
    ...extra,
  };
}

function result(steps: BuildStepResult[], extra: Partial<BuildResult> = {}): BuildResult {
  const compared = steps.filter((s) => s.predictionCorrect !== null);
  return {
    buildId: 'b1',
    uri: 'file:///w/app/Dockerfile',
    tag: 'app:latest',
    builder: 'classic',
    target: null,
    outcome: 'succeeded',
    imageId: 'sha256:abc',
    startedMs: 1_700_000_000_000,
    durationMs: 4_250,
    steps,
    prediction: {
      compared: compared.length,
      correct: compared.filter((s) => s.predictionCorrect).length,
      mismatches: steps
        .filter((s) => s.predictionCorrect === false)
        .map((s) => ({ index: s.index, line: s.line, text: s.text, predicted: s.predicted, actual: s.actual, reason: `reason for ${s.line}` })),
    },
    error: null,
    ...extra,
  };
}

describe('client build: durations', function () {
  const cases: [number, string][] = [
    [0, '0.0 s'],
    [49, '0.0 s'],
    [420, '0.4 s'],
    [12_345, '12.3 s'],
    [59_999, '59.9 s'],
    [60_000, '1 min 00 s'],
    [125_400, '2 min 05 s'],
    [3_600_000, '1 h 00 min'],
    [3_725_000, '1 h 02 min'],
  ];
  for (const [ms, text] of cases) it(`${ms} ms → ${text}`, () => assert.strictEqual(formatDuration(ms), text));
  it('nonsense is a question mark, not NaN', () => {
    assert.strictEqual(formatDuration(-1), '?');
    assert.strictEqual(formatDuration(Number.NaN), '?');
  });
  it('running time ticks in whole seconds', () => {
    assert.strictEqual(formatRunning(0), '0 s');
    assert.strictEqual(formatRunning(1_999), '1 s');
    assert.strictEqual(formatRunning(59_999), '59 s');
    assert.strictEqual(formatRunning(61_500), '1 min 01 s');
    assert.strictEqual(formatRunning(-5), '0 s');
  });
});

describe('client build: line labels', function () {
  it('live states', () => {
    assert.strictEqual(progressLabel({ state: 'waiting', sizeBytes: null }, null), 'build · waiting');
    assert.strictEqual(progressLabel({ state: 'running', sizeBytes: null }, 3_400), 'build · running 3 s');
    assert.strictEqual(progressLabel({ state: 'running', sizeBytes: null }, null), 'build · running 0 s');
    assert.strictEqual(progressLabel({ state: 'cached', sizeBytes: null }, 10), 'build · cached');
    assert.strictEqual(progressLabel({ state: 'built', sizeBytes: null }, 2_500), 'build · built in 2.5 s');
    assert.strictEqual(progressLabel({ state: 'built', sizeBytes: 2048 }, null), 'build · built · 2.0 KiB');
    assert.strictEqual(progressLabel({ state: 'failed', sizeBytes: null }, 800), 'build · failed after 0.8 s');
    assert.strictEqual(progressLabel({ state: 'config', sizeBytes: null }, null), 'build · config only');
  });

  it('outcomes: time and size; a wrong prediction says what was predicted', () => {
    assert.strictEqual(resultLabel(step(1, 2, 'FROM base', { sizeBytes: 1_468_006 })), 'build · cached · 1.4 MiB');
    assert.strictEqual(
      resultLabel(step(2, 6, 'COPY . .', { actual: 'built', durationMs: 1_300, sizeBytes: 236, predictionCorrect: false })),
      'build · built in 1.3 s · 236 B · predicted cached ✗',
    );
    assert.strictEqual(resultLabel(step(3, 7, 'RUN x', { actual: 'built', predicted: 'miss', durationMs: null, sizeBytes: null })), 'build · built');
    assert.strictEqual(resultLabel(step(4, 8, 'RUN y', { actual: 'failed', durationMs: 900, sizeBytes: null, predictionCorrect: null })), 'build · failed after 0.9 s');
    assert.strictEqual(resultLabel(step(7, 11, 'ENV a=b', { actual: 'config', durationMs: null, sizeBytes: null, predictionCorrect: null })), 'build · config only');
    assert.strictEqual(resultLabel(step(5, 9, 'RUN z', { actual: 'not-run', durationMs: null, sizeBytes: null, predictionCorrect: null })), 'build · not run');
    assert.strictEqual(
      resultLabel(step(6, 10, 'RUN w', { actual: 'cached', predicted: 'miss', predictionCorrect: false, sizeBytes: null })),
      'build · cached · predicted rebuilds ✗',
    );
  });

  it('marks go on the first line of each instruction, 0-based, in line order', () => {
    const marks = progressMarks([progress(2, 9, 'running', { elapsedMs: 1000 }), progress(0, 2, 'cached', { elapsedMs: 5 }), progress(1, 4, 'waiting')], (s) => s.elapsedMs);
    assert.deepStrictEqual(
      marks.map((m) => [m.line, m.kind, m.text]),
      [
        [1, 'cached', 'build · cached'],
        [3, 'waiting', 'build · waiting'],
        [8, 'running', 'build · running 1 s'],
      ],
    );
    const done = resultMarks(result([step(0, 2, 'FROM base'), step(1, 5, 'RUN a', { actual: 'built', endLine: 7, durationMs: 2000, sizeBytes: 10 })]));
    assert.deepStrictEqual(
      done.map((m) => [m.line, m.kind, m.text]),
      [
        [1, 'cached', 'build · cached · 0 B'],
        [4, 'built', 'build · built in 2.0 s · 10 B'],
      ],
    );
    assert.match(done[1]!.hover, /Predicted: cached \(right\)/);
  });

  it('progress fraction counts decided steps', () => {
    assert.strictEqual(fractionDone([]), 0);
    assert.strictEqual(fractionDone([{ state: 'cached' }, { state: 'running' }, { state: 'built' }, { state: 'waiting' }]), 0.5);
    assert.strictEqual(fractionDone([{ state: 'failed' }]), 1);
  });

  it('builder output loses colour codes and control characters, keeps its text', () => {
    assert.strictEqual(buildLogText('\x1b[31mStep 1/5\x1b[0m : FROM x\r\n'), 'Step 1/5 : FROM x');
    assert.strictEqual(buildLogText('a\tb\x07c'), 'a\tbc');
  });
});

describe('client build: summary', function () {
  it('all predictions right: information with counts', () => {
    const s = buildSummary(result([step(0, 2, 'FROM base'), step(1, 4, 'RUN a', { actual: 'built', predicted: 'miss' })]));
    assert.strictEqual(s.severity, 'information');
    assert.strictEqual(s.message, 'Layer Lens: built app:latest in 4.2 s — 1 cached, 1 built; prediction right on 2 of 2 steps.');
    assert.ok(s.logLines.includes('prediction: 2 of 2 right, 0 wrong'), s.logLines.join('\n'));
  });

  it('a misprediction: warning naming the line with both values; the log says why Layer Lens thought so', () => {
    const s = buildSummary(result([step(0, 2, 'FROM base'), step(1, 6, 'COPY . .', { actual: 'built', predictionCorrect: false })]));
    assert.strictEqual(s.severity, 'warning');
    assert.match(s.message, /prediction right on 1 of 2 steps; wrong on line 6 \(COPY \. \.\): predicted cached, was built\.$/);
    assert.ok(s.logLines.some((l) => l === '  MISPREDICTED line 6 (COPY . .): predicted cached, was built — Layer Lens thought: reason for 6'), s.logLines.join('\n'));
  });

  it('nothing to compare (no daemon before the build)', () => {
    const s = buildSummary(result([step(0, 2, 'FROM base', { predicted: 'unknown', predictionCorrect: null })]));
    assert.match(s.message, /no step had a prediction to check\.$/);
    assert.strictEqual(s.severity, 'information');
  });

  it('failed, cancelled, daemon gone, refused: each says what happened', () => {
    const failed = buildSummary(
      result([step(0, 2, 'RUN false', { actual: 'failed', predictionCorrect: null })], {
        outcome: 'failed',
        imageId: null,
        error: { message: "The command '/bin/sh -c false' returned\n a non-zero code: 1", line: 2, endLine: 2 },
      }),
    );
    assert.strictEqual(failed.severity, 'error');
    assert.strictEqual(failed.message, "Layer Lens: the build of app:latest failed at line 2: The command '/bin/sh -c false' returned a non-zero code: 1");
    assert.ok(failed.logLines.some((l) => l.startsWith('error (line 2): ')));
    const cancelled = buildSummary(result([step(0, 2, 'FROM base'), step(1, 3, 'RUN sleep 60', { actual: 'not-run', predictionCorrect: null })], { outcome: 'cancelled' }));
    assert.strictEqual(cancelled.severity, 'information');
    assert.strictEqual(cancelled.message, 'Layer Lens: the build of app:latest was cancelled after 4.2 s (1 cached, 0 built before it stopped).');
    const gone = buildSummary(result([], { outcome: 'daemon-error', error: { message: 'connect ENOENT /var/run/docker.sock', line: null, endLine: null } }));
    assert.strictEqual(gone.message, 'Layer Lens: the Docker daemon stopped answering during the build of app:latest: connect ENOENT /var/run/docker.sock');
    const invalid = buildSummary(result([], { outcome: 'invalid', error: { message: 'a build of this Dockerfile is already running', line: null, endLine: null } }));
    assert.strictEqual(invalid.severity, 'error');
    assert.match(invalid.message, /cannot build app:latest: a build of this Dockerfile is already running$/);
  });

  it('long instructions are shortened in the message', () => {
    const text = `RUN ${'x'.repeat(200)}`;
    assert.strictEqual(describeMismatch({ line: 3, text, predicted: 'miss', actual: 'cached' }), `line 3 (${text.slice(0, 59)}…): predicted rebuilds, was cached`);
  });
});

describe('client build: image tag', function () {
  it('default from the folder name', () => {
    assert.strictEqual(defaultImageTag('my-app'), 'my-app:latest');
    assert.strictEqual(defaultImageTag('My App (v2)'), 'my-app-v2:latest');
    assert.strictEqual(defaultImageTag('__'), 'image:latest');
    assert.strictEqual(defaultImageTag(''), 'image:latest');
    assert.strictEqual(defaultImageTag('Ünïcode'), 'n-code:latest');
    assert.strictEqual(imageTagProblem(defaultImageTag('a'.repeat(300))), null);
  });

  const valid = ['app', 'app:latest', 'team/app:1.2.3', 'localhost:5000/team/app:dev', 'registry.example.com/a_b/c-d:v_1', 'a__b/c.d-e---f', 'app:Tag_1'];
  for (const v of valid) it(`accepts ${v}`, () => assert.strictEqual(imageTagProblem(v), null));

  const invalid: [string, RegExp][] = [
    ['', /Enter an image name/],
    ['  ', /Enter an image name/],
    ['my app', /spaces/],
    ['App:latest', /lower case/],
    ['app:-x', /not a valid tag/],
    ['app:', /not a valid tag/],
    ['app@sha256:abc', /digest/],
    ['-app', /not a valid name part/],
    ['a//b', /not a valid name part/],
    ['a/c..d', /not a valid name part/],
    ['bad_host.:5000/app', /registry host/],
    [`app:${'t'.repeat(129)}`, /not a valid tag/],
  ];
  for (const [v, why] of invalid) it(`refuses ${JSON.stringify(v)}`, () => assert.match(imageTagProblem(v) ?? '(accepted)', why));
});

describe('client build: code lens line (target stage FROM)', function () {
  const text = ['# syntax test', 'ARG V=1', 'FROM base AS deps', 'RUN a', '', 'from base as Build', 'RUN b \\', '  FROM not-an-instruction', 'FROM build', 'CMD x'].join('\n');
  it('no target: the last stage', () => assert.strictEqual(targetFromLine(text, ''), 8));
  it('named target, case-insensitive', () => {
    assert.strictEqual(targetFromLine(text, 'deps'), 2);
    assert.strictEqual(targetFromLine(text, 'BUILD'), 5);
  });
  it('unknown target or no FROM: no lens', () => {
    assert.strictEqual(targetFromLine(text, 'nope'), null);
    assert.strictEqual(targetFromLine('RUN x\n', ''), null);
    assert.strictEqual(targetFromLine('', ''), null);
  });
  it('CRLF files', () => assert.strictEqual(targetFromLine(text.replace(/\n/g, '\r\n'), ''), 8));
});

describe('client build: manifest (package.json)', function () {
  const manifest = require('../../../package.json') as {
    contributes: {
      commands: { command: string; title: string; category: string; enablement?: string }[];
      menus: Record<string, { command: string; when?: string }[]>;
      keybindings?: unknown[];
      configuration: { properties: Record<string, unknown> };
    };
  };
  const command = manifest.contributes.commands.find((c) => c.command === BUILD_IMAGE_COMMAND);

  it('declares "Layer Lens: Build Image", disabled in Restricted Mode', () => {
    assert.ok(command, 'command declared');
    assert.strictEqual(`${command.category}: ${command.title}`, 'Layer Lens: Build Image');
    assert.strictEqual(command.enablement, `!${RESTRICTED_CONTEXT_KEY}`);
  });

  it('palette and editor title show it only in a trusted workspace; no key binding', () => {
    const palette = manifest.contributes.menus['commandPalette']?.find((m) => m.command === BUILD_IMAGE_COMMAND);
    // Our own key in the palette: VS Code 1.139 can read isWorkspaceTrusted as false there (see commands.ts).
    assert.strictEqual(palette?.when, `!${RESTRICTED_CONTEXT_KEY}`);
    const title = manifest.contributes.menus['editor/title']?.find((m) => m.command === BUILD_IMAGE_COMMAND);
    assert.match(title?.when ?? '', /^isWorkspaceTrusted && /);
    assert.match(title?.when ?? '', /resourceLangId == dockerfile/);
    assert.ok(!(manifest.contributes.keybindings ?? []).some((k) => JSON.stringify(k).includes(BUILD_IMAGE_COMMAND)));
  });

  it('the network setting the server reads is declared', () => {
    assert.ok('layerLens.buildNetwork' in manifest.contributes.configuration.properties);
  });
});
