import * as assert from 'assert';
import { parseDockerfile, stagesNeeded } from '../../server/src/engine/dockerfileModel';
import { DEFAULT_PATH, evaluateStages, HASH_PLACEHOLDER, normaliseHistory } from '../../server/src/engine/evaluate';
import { processWord, processWords } from '../../server/src/engine/shellWords';

const EOLS = [
  ['LF', '\n'],
  ['CRLF', '\r\n'],
] as const;

const sample = (eol: string): string =>
  [
    '# syntax comment',
    'ARG BASE=local/exp:1',
    'FROM ${BASE} AS build',
    'ARG VERSION=1.0',
    'ENV A=1 B="two words"',
    'LABEL org.x="y z" simple=1',
    'WORKDIR /app',
    'COPY a.txt /app/',
    'COPY --chown=1:1 src/ ./src/',
    'RUN echo $VERSION > /v \\',
    '    # a comment inside',
    '',
    '    && echo done',
    'EXPOSE 80/tcp',
    'VOLUME /data',
    'ENTRYPOINT ["/bin/sh","-c"]',
    'CMD echo hi',
    'SHELL ["/bin/sh", "-ec"]',
    'RUN echo shell',
    '',
    'FROM build AS final',
    'COPY --from=build /v /v2',
  ].join(eol);

describe('Dockerfile model', () => {
  for (const [name, eol] of EOLS) {
    describe(`${name} input`, () => {
      const model = parseDockerfile(sample(eol));

      it('finds stages, global args and line ranges', () => {
        assert.strictEqual(model.lineEnding, eol);
        assert.strictEqual(model.stages.length, 2);
        assert.strictEqual(model.stages[0]!.name, 'build');
        assert.strictEqual(model.stages[1]!.name, 'final');
        assert.strictEqual(model.globalArgs.length, 1);
        const run = model.instructions.find((i) => i.keyword === 'RUN')!;
        assert.deepStrictEqual([run.line, run.endLine], [10, 13]);
        assert.deepStrictEqual(model.problems, []);
      });

      it('joins continuations like Docker (whitespace kept, comments and blank lines skipped)', () => {
        const run = model.instructions.find((i) => i.keyword === 'RUN')!;
        // Observed in ContainerConfig.Cmd of a real classic build: five spaces survive.
        assert.strictEqual(run.args, 'echo $VERSION > /v     && echo done');
        assert.strictEqual(run.text, 'RUN echo $VERSION > /v && echo done');
      });

      it('parses flags and exec form', () => {
        const copy = model.instructions.find((i) => i.keyword === 'COPY' && i.flags.length > 0)!;
        assert.deepStrictEqual(copy.flags, [{ name: 'chown', value: '1:1' }]);
        assert.strictEqual(copy.args, 'src/ ./src/');
        const ep = model.instructions.find((i) => i.keyword === 'ENTRYPOINT')!;
        assert.deepStrictEqual(ep.json, ['/bin/sh', '-c']);
      });

      it('evaluates the classic probe config exactly as a real 20.10 daemon stored it', () => {
        const stages = evaluateStages({ model, buildArgs: {}, baseConfig: () => null });
        const s = stages[0]!.steps;
        const byLine = (line: number) => s.find((x) => x.inst.line === line)!;
        assert.deepStrictEqual(byLine(4).classic!.cmd, ['/bin/sh', '-c', '#(nop) ', 'ARG VERSION=1.0']);
        assert.deepStrictEqual(byLine(5).classic!.cmd, ['/bin/sh', '-c', '#(nop) ', 'ENV A=1 B=two words']);
        assert.deepStrictEqual(byLine(5).classic!.env, [DEFAULT_PATH, 'A=1', 'B=two words']);
        assert.deepStrictEqual(byLine(6).classic!.cmd, ['/bin/sh', '-c', '#(nop) ', 'LABEL org.x=y z simple=1']);
        assert.deepStrictEqual(byLine(6).classic!.labels, { 'org.x': 'y z', simple: '1' });
        assert.deepStrictEqual(byLine(7).classic!.cmd, ['/bin/sh', '-c', '#(nop) WORKDIR /app']);
        assert.deepStrictEqual(byLine(8).classic!.cmd, ['/bin/sh', '-c', `#(nop) COPY ${HASH_PLACEHOLDER} in /app/ `]);
        assert.deepStrictEqual(byLine(9).classic!.cmd, ['/bin/sh', '-c', `#(nop) COPY --chown=1:1${HASH_PLACEHOLDER} in ./src/ `]);
        assert.strictEqual(byLine(9).copy!.destAbs, '/app/src/');
        assert.deepStrictEqual(byLine(10).classic!.cmd, ['|1', 'VERSION=1.0', '/bin/sh', '-c', 'echo $VERSION > /v     && echo done']);
        assert.strictEqual(byLine(10).classic!.entrypoint, null);
        assert.deepStrictEqual(byLine(14).classic!.cmd, ['/bin/sh', '-c', '#(nop) ', 'EXPOSE 80/tcp']);
        assert.deepStrictEqual(byLine(15).classic!.cmd, ['/bin/sh', '-c', '#(nop) ', 'VOLUME [/data]']);
        assert.deepStrictEqual(byLine(16).classic!.cmd, ['/bin/sh', '-c', '#(nop) ', 'ENTRYPOINT ["/bin/sh" "-c"]']);
        assert.deepStrictEqual(byLine(17).classic!.cmd, ['/bin/sh', '-c', '#(nop) ', 'CMD ["/bin/sh" "-c" "echo hi"]']);
        assert.deepStrictEqual(byLine(18).classic!.cmd, ['/bin/sh', '-ec', '#(nop) ', 'SHELL [/bin/sh -ec]']);
        assert.deepStrictEqual(byLine(19).classic!.cmd, ['|1', 'VERSION=1.0', '/bin/sh', '-ec', 'echo shell']);
        assert.deepStrictEqual(byLine(19).classic!.entrypoint, null);
      });

      it('produces the BuildKit history lines a real build left', () => {
        const stages = evaluateStages({ model, buildArgs: {}, baseConfig: () => null });
        const texts = stages[0]!.steps.slice(1).map((x) => x.buildkitHistory);
        // `docker history --no-trunc` of the same Dockerfile built with BuildKit, normalised.
        const observed = [
          'ARG VERSION=1.0',
          'ENV A=1 B=two words',
          'LABEL org.x=y z simple=1',
          'WORKDIR /app',
          'COPY a.txt /app/ # buildkit',
          'COPY src/ ./src/ # buildkit',
          'RUN |1 VERSION=1.0 /bin/sh -c echo $VERSION > /v     && echo done # buildkit',
          'EXPOSE map[80/tcp:{}]',
          'VOLUME [/data]',
          'ENTRYPOINT ["/bin/sh" "-c"]',
          'CMD ["/bin/sh" "-c" "echo hi"]',
          'SHELL [/bin/sh -ec]',
          'RUN |1 VERSION=1.0 /bin/sh -ec echo shell # buildkit',
        ].map(normaliseHistory);
        assert.deepStrictEqual(texts, observed);
      });

      it('applies build args and the target stage', () => {
        const stages = evaluateStages({ model, buildArgs: { VERSION: '2.0', BASE: 'other:2' }, baseConfig: () => null });
        assert.strictEqual(stages[0]!.steps[0]!.from!.ref, 'other:2');
        const run = stages[0]!.steps.find((x) => x.inst.keyword === 'RUN')!;
        assert.deepStrictEqual(run.classic!.cmd.slice(0, 2), ['|1', 'VERSION=2.0']);
        assert.strictEqual(stages[1]!.steps[0]!.from!.stage, 0);
        assert.strictEqual(stages[1]!.steps[1]!.copy!.fromStage, 0);
        const needed = stagesNeeded(model, 'build', (s) => stages[s.index]!.steps[0]!.from!.ref);
        assert.ok(!('error' in needed));
        if (!('error' in needed)) assert.deepStrictEqual([...needed.needed], [0]);
        const bad = stagesNeeded(model, 'nope', (s) => stages[s.index]!.steps[0]!.from!.ref);
        assert.ok('error' in bad);
      });
    });
  }

  it('keeps the base image env and does not add PATH when the base has one', () => {
    const model = parseDockerfile('FROM x\nRUN true\n');
    const stages = evaluateStages({
      model,
      buildArgs: {},
      baseConfig: () => ({
        cmd: null,
        env: ['PATH=/bin', 'X=1'],
        entrypoint: ['/e'],
        user: 'u',
        labels: { a: 'b' },
        exposedPorts: [],
        volumes: [],
        tty: false,
        openStdin: false,
        attachStdout: false,
        attachStderr: false,
        workingDir: '/w',
      }),
    });
    const run = stages[0]!.steps[1]!;
    assert.deepStrictEqual(run.classic!.env, ['PATH=/bin', 'X=1']);
    assert.strictEqual(run.classic!.user, 'u');
    assert.strictEqual(run.workdir, '/w');
  });

  it('handles the backtick escape directive', () => {
    const model = parseDockerfile('# escape=`\nFROM x\nRUN echo a `\n  b\nCOPY C:\\src\\ /dst/\n');
    assert.strictEqual(model.escape, '`');
    const run = model.instructions.find((i) => i.keyword === 'RUN')!;
    assert.strictEqual(run.args, 'echo a   b');
    assert.deepStrictEqual([run.line, run.endLine], [3, 4]);
  });

  it('parses heredocs without losing lines and reports problems instead of throwing', () => {
    const model = parseDockerfile('FROM x\nRUN <<EOF\necho a\necho b\nEOF\nCOPY a /b\n');
    const run = model.instructions.find((i) => i.keyword === 'RUN')!;
    assert.strictEqual(run.hasHeredoc, true);
    assert.strictEqual(run.endLine, 5);
    assert.ok(run.text.includes('echo b'));
    assert.deepStrictEqual(parseDockerfile('RUN x\n').problems.length > 0, true);
    assert.strictEqual(parseDockerfile('').stages.length, 0);
  });
});

describe('Docker word processing', () => {
  const vars: Record<string, string> = { A: 'a', EMPTY: '', SP: 'x y' };
  const lookup = (n: string) => vars[n];
  const cases: [string, string][] = [
    ['$A', 'a'],
    ['${A}b', 'ab'],
    ['${MISSING:-def}', 'def'],
    ['${EMPTY:-def}', 'def'],
    ['${EMPTY-def}', ''],
    ['${A:+alt}', 'alt'],
    ['${MISSING:+alt}', ''],
    ["'$A'", '$A'],
    ['"$A b"', 'a b'],
    ['\\$A', '$A'],
    ['"\\"q\\""', '"q"'],
    ['$', '$'],
    ['a$MISSING.b', 'a.b'],
  ];
  for (const [input, want] of cases) {
    it(`${input} → ${JSON.stringify(want)}`, () => assert.strictEqual(processWord(input, lookup), want));
  }
  it('splits words on unquoted whitespace only', () => {
    assert.deepStrictEqual(processWords('a "b c" $SP', lookup), ['a', 'b c', 'x y']);
  });
});
