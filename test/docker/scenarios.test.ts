// Real-daemon scenarios: build, change something, predict, rebuild, and check that every predicted hit/miss is
// what the daemon then did, and that exact sizes equal the daemon's history sizes. Each scenario runs with both
// builders. Dockerfiles carry a per-run nonce so that scenarios do not hit each other's cache by accident
// (BuildKit's cache is shared across projects; that sharing is tested on purpose where it matters).

import * as assert from 'assert';
import { promises as fs } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Analyzer } from '../../server/src/analyze';
import type { AnalysisReport, StepReport } from '../../server/src/engine/report';
import {
  builderPrune,
  dockerBuild,
  ensureBaseImage,
  imageHistory,
  makeContext,
  removeImage,
  requireDaemon,
  tagImage,
  type BuildResult,
  type BuilderKind,
} from './harness';

const BASE = 'layerlens-test/busybox:1';
const BASE2 = 'layerlens-test/busybox:2';

interface Ctx {
  readonly dir: string;
  readonly builder: BuilderKind;
  readonly nonce: string;
  readonly tag: string;
  readonly baseTag: string;
  write(rel: string, content: string | Buffer): Promise<void>;
  remove(rel: string): Promise<void>;
}

interface Scenario {
  readonly name: string;
  readonly files: (nonce: string, base: string) => Record<string, string>;
  /** Build args for the first build and for the prediction + second build (`after`). */
  readonly buildArgs?: { readonly before?: Record<string, string>; readonly after?: Record<string, string> };
  readonly target?: string;
  /** Skip the first build (a never-built Dockerfile). */
  readonly neverBuilt?: boolean;
  readonly change: (c: Ctx) => Promise<void>;
  /** Lines (1-based) whose prediction may be `unknown`, with the reason it must give. */
  readonly unknownAllowed?: Readonly<Record<number, RegExp>>;
  /** Extra checks on the prediction, so that a scenario cannot pass by predicting nothing. */
  readonly expect: (r: AnalysisReport, builder: BuilderKind) => void;
}

const step = (r: AnalysisReport, line: number): StepReport => {
  const s = r.steps.find((x) => x.line === line);
  assert.ok(s, `no step at line ${line}`);
  return s;
};
const expectMiss = (r: AnalysisReport, line: number, reason?: RegExp): void => {
  const s = step(r, line);
  assert.strictEqual(s.cache, 'miss', `line ${line} (${s.text}) should rebuild: ${s.reason}`);
  if (reason) assert.match(s.reason, reason);
};
const expectAllHit = (r: AnalysisReport): void => {
  for (const s of r.steps) if (!s.skipped) assert.strictEqual(s.cache, 'hit', `line ${s.line} (${s.text}): ${s.cache} — ${s.reason}`);
};

/** A small Python-like project: manifest first, sources after. */
const app = (nonce: string, base: string, dockerignore = 'Dockerfile\n.dockerignore\n*.log\n'): Record<string, string> => ({
  Dockerfile: [
    `FROM ${base}`,
    `WORKDIR /srv/${nonce}`,
    'COPY requirements.txt .',
    `RUN cat requirements.txt > /deps && echo ${nonce} >> /deps`,
    'COPY . .',
    'RUN ls -R . > /listing',
    'CMD ["cat", "/listing"]',
    '',
  ].join('\n'),
  '.dockerignore': dockerignore,
  'requirements.txt': 'flask==3.0\n',
  'src/app.py': 'print("hello")\n',
  'src/util.py': 'X = 1\n',
  'debug.log': 'noise\n',
});

/** A builder stage whose output the final stage copies, next to a file of the final stage's own. */
const builderAndFinal = (n: string, b: string): Record<string, string> => ({
  Dockerfile: [
    `FROM ${b} AS builder`,
    'COPY src/ /src/',
    `RUN cat /src/* > /out && echo ${n} >> /out`,
    `FROM ${b}`,
    'COPY site.txt /site.txt',
    'COPY --from=builder /out /out',
    'RUN cat /out',
    '',
  ].join('\n'),
  '.dockerignore': 'Dockerfile\n',
  'src/a.txt': `a ${n}\n`,
  'site.txt': `s ${n}\n`,
});

const SCENARIOS: Scenario[] = [
  {
    name: 'source edit',
    files: app,
    change: (c) => c.write('src/app.py', 'print("hello, world")\n'),
    expect: (r) => {
      assert.strictEqual(step(r, 4).cache, 'hit');
      expectMiss(r, 5, /src\/app\.py/);
    },
  },
  {
    name: 'manifest edit',
    files: app,
    change: (c) => c.write('requirements.txt', 'flask==3.1\n'),
    expect: (r) => expectMiss(r, 3, /requirements\.txt/),
  },
  {
    name: 'file added',
    files: app,
    change: (c) => c.write('src/new.py', 'Y = 2\n'),
    expect: (r, b) => expectMiss(r, 5, b === 'buildkit' ? /src\/new\.py.*added/ : /./),
  },
  {
    name: 'file deleted',
    files: app,
    change: (c) => c.remove('src/util.py'),
    expect: (r, b) => expectMiss(r, 5, b === 'buildkit' ? /util\.py.*removed/ : /./),
  },
  {
    name: 'mtime-only touch',
    files: app,
    change: async (c) => {
      const future = new Date(Date.now() + 60_000);
      await fs.utimes(path.join(c.dir, 'src/app.py'), future, future);
    },
    expect: expectAllHit,
  },
  {
    name: 'chmod',
    files: app,
    change: (c) => fs.chmod(path.join(c.dir, 'src/app.py'), 0o755),
    expect: (r, b) => expectMiss(r, 5, b === 'buildkit' ? /src\/app\.py.*mode/ : /./),
  },
  {
    name: 'ignored file edited',
    files: app,
    change: (c) => c.write('debug.log', 'more noise\n'),
    expect: expectAllHit,
  },
  {
    name: '! re-include edited',
    files: (n, b) => ({ ...app(n, b, 'Dockerfile\n.dockerignore\ndocs/\n!docs/keep.md\n'), 'docs/keep.md': 'keep\n', 'docs/drop.md': 'drop\n' }),
    change: (c) => c.write('docs/keep.md', 'keep, edited\n'),
    expect: (r) => expectMiss(r, 5, /docs\/keep\.md/),
  },
  {
    name: 'excluded file next to a re-include edited',
    files: (n, b) => ({ ...app(n, b, 'Dockerfile\n.dockerignore\ndocs/\n!docs/keep.md\n'), 'docs/keep.md': 'keep\n', 'docs/drop.md': 'drop\n' }),
    change: (c) => c.write('docs/drop.md', 'drop, edited\n'),
    expect: expectAllHit,
  },
  {
    name: 'RUN text edited',
    files: app,
    change: async (c) => {
      const df = await fs.readFile(path.join(c.dir, 'Dockerfile'), 'utf8');
      await c.write('Dockerfile', df.replace('ls -R . > /listing', 'ls -R . > /listing && echo edited'));
    },
    expect: (r) => {
      assert.strictEqual(step(r, 5).cache, 'hit');
      expectMiss(r, 6, /instruction changed/);
    },
  },
  {
    name: 'comment-only Dockerfile edit with COPY . . (Dockerfile not ignored)',
    files: (n, b) => app(n, b, '*.log\n'),
    change: async (c) => {
      const df = await fs.readFile(path.join(c.dir, 'Dockerfile'), 'utf8');
      await c.write('Dockerfile', `# just a comment\n${df}`);
    },
    // The comment shifts every line by one.
    expect: (r) => {
      assert.strictEqual(step(r, 5).cache, 'hit');
      expectMiss(r, 6, /Dockerfile/);
    },
  },
  {
    name: 'comment-only Dockerfile edit, Dockerfile ignored',
    files: app,
    change: async (c) => {
      const df = await fs.readFile(path.join(c.dir, 'Dockerfile'), 'utf8');
      await c.write('Dockerfile', `# just a comment\n${df}`);
    },
    expect: expectAllHit,
  },
  {
    name: 'base image changed',
    files: app,
    change: async (c) => {
      await tagImage(BASE2, c.baseTag);
    },
    expect: (r) => {
      assert.strictEqual(step(r, 1).cache, 'hit');
      expectMiss(r, 2, /base image/);
    },
  },
  {
    name: 'ENV inserted',
    files: app,
    change: async (c) => {
      const df = await fs.readFile(path.join(c.dir, 'Dockerfile'), 'utf8');
      await c.write('Dockerfile', df.replace('COPY . .\n', 'COPY . .\nENV MODE=prod\n'));
    },
    expect: (r, b) => {
      assert.strictEqual(step(r, 5).cache, 'hit');
      if (b === 'classic') expectMiss(r, 6);
      else expectMiss(r, 7, /environment/);
    },
  },
  {
    name: 'build arg changed',
    files: (n, b) => ({
      Dockerfile: [`FROM ${b}`, 'ARG VERSION=1', 'COPY a.txt /a.txt', `RUN echo $VERSION ${n} > /version`, 'RUN cat /version', ''].join('\n'),
      '.dockerignore': 'Dockerfile\n',
      'a.txt': `a ${n}\n`,
    }),
    buildArgs: { before: { VERSION: '1' }, after: { VERSION: '2' } },
    change: async () => undefined,
    expect: (r) => {
      assert.strictEqual(step(r, 3).cache, 'hit');
      expectMiss(r, 4, /build arg VERSION changed \(1 → 2\)/);
    },
  },
  {
    name: 'comment edited inside line continuations',
    files: (n, b) => ({
      Dockerfile: [`FROM ${b}`, 'COPY a.txt /a.txt', 'RUN echo one \\', '    # first comment', `    && echo ${n} \\`, '    && cat /a.txt', ''].join('\n'),
      '.dockerignore': 'Dockerfile\n',
      'a.txt': `a ${n}\n`,
    }),
    change: async (c) => {
      const df = await fs.readFile(path.join(c.dir, 'Dockerfile'), 'utf8');
      await c.write('Dockerfile', df.replace('# first comment', '# a different comment'));
    },
    expect: expectAllHit,
  },
  {
    name: 'whitespace changed inside line continuations',
    files: (n, b) => ({
      Dockerfile: [`FROM ${b}`, 'COPY a.txt /a.txt', 'RUN echo one \\', `    && echo ${n} \\`, '    && cat /a.txt', ''].join('\n'),
      '.dockerignore': 'Dockerfile\n',
      'a.txt': `a ${n}\n`,
    }),
    change: async (c) => {
      const df = await fs.readFile(path.join(c.dir, 'Dockerfile'), 'utf8');
      await c.write('Dockerfile', df.replace('    && cat', '  && cat'));
    },
    expect: (r) => expectMiss(r, 3, /instruction changed/),
  },
  {
    name: 'multi-stage: builder input edited',
    files: builderAndFinal,
    change: (c) => c.write('src/a.txt', `a, edited ${c.nonce}\n`),
    unknownAllowed: { 6: /depends on the output of stage builder/, 7: /depends on the output of stage builder/ },
    expect: (r) => {
      expectMiss(r, 2, /src\/a\.txt/);
      assert.strictEqual(step(r, 5).cache, 'hit');
    },
  },
  {
    name: 'multi-stage: only the final stage edited',
    files: builderAndFinal,
    change: (c) => c.write('site.txt', `s, edited ${c.nonce}\n`),
    expect: (r) => {
      assert.strictEqual(step(r, 2).cache, 'hit');
      assert.strictEqual(step(r, 3).cache, 'hit');
      expectMiss(r, 5, /site\.txt/);
    },
  },
  {
    name: 'multi-stage: rebuilt stage with identical output',
    files: (n, b) => ({
      Dockerfile: [
        `FROM ${b} AS builder`,
        'COPY in.txt /in.txt',
        `RUN head -c 3 /in.txt > /out && echo ${n} >> /out`,
        `FROM ${b}`,
        'COPY --from=builder /out /out',
        'COPY site.txt /site.txt',
        '',
      ].join('\n'),
      '.dockerignore': 'Dockerfile\n',
      'in.txt': `abc-first ${n}\n`,
      'site.txt': `s ${n}\n`,
    }),
    change: (c) => c.write('in.txt', `abc-second ${c.nonce}\n`),
    unknownAllowed: { 5: /identical files/, 6: /identical files/ },
    expect: (r) => expectMiss(r, 2, /in\.txt/),
  },
  {
    name: 'multi-stage: FROM an earlier stage, only the last stage edited',
    files: (n, b) => ({
      Dockerfile: [`FROM ${b} AS common`, `WORKDIR /n/${n}`, 'COPY a.txt ./', 'FROM common', 'COPY b.txt ./', 'RUN cat a.txt b.txt > /ab', ''].join('\n'),
      '.dockerignore': 'Dockerfile\n',
      'a.txt': `a ${n}\n`,
      'b.txt': `b ${n}\n`,
    }),
    change: (c) => c.write('b.txt', `b, edited ${c.nonce}\n`),
    expect: (r) => {
      assert.strictEqual(step(r, 3).cache, 'hit');
      assert.strictEqual(step(r, 4).cache, 'hit');
      expectMiss(r, 5, /b\.txt/);
    },
  },
  {
    name: 'many files, one edited',
    files: (n, b) => {
      const files: Record<string, string> = {
        Dockerfile: [`FROM ${b}`, 'COPY . /data/', `RUN echo ${n} > /n`, ''].join('\n'),
        '.dockerignore': 'Dockerfile\n',
      };
      for (let i = 0; i < 400; i++) files[`tree/d${i % 20}/f${i}.txt`] = `file ${i}\n`;
      files['tree/nonce.txt'] = `${n}\n`;
      return files;
    },
    change: (c) => c.write('tree/d7/f187.txt', 'file 187, edited\n'),
    expect: (r) => expectMiss(r, 2, /tree\/d7\/f187\.txt/),
  },
  {
    name: 'wildcard gains a match',
    files: (n, b) => ({
      Dockerfile: [`FROM ${b}`, 'COPY *.txt /t/', `RUN echo ${n} > /n`, ''].join('\n'),
      '.dockerignore': 'Dockerfile\n',
      'a.txt': `a ${n}\n`,
      'b.md': 'b\n',
    }),
    change: (c) => c.write('c.txt', 'c\n'),
    expect: (r) => expectMiss(r, 2),
  },
  {
    name: 'never-built Dockerfile',
    files: app,
    neverBuilt: true,
    change: async () => undefined,
    expect: (r) => expectMiss(r, 2, /no earlier build|never built/),
  },
  {
    name: 'image removed, cache kept',
    files: app,
    change: (c) => removeImage(c.tag),
    expect: (r, b) => {
      if (b === 'buildkit') expectAllHit(r);
      else expectMiss(r, 2);
    },
  },
  {
    name: 'cache pruned, image kept',
    files: app,
    change: (c) => (c.builder === 'buildkit' ? builderPrune() : Promise.resolve()),
    expect: (r, b) => {
      if (b === 'buildkit') expectMiss(r, 2, /pruned|build cache/);
      else expectAllHit(r);
    },
  },
];

/** Lines of the build output's steps: classic by order, BuildKit by stage and per-stage step number. */
function mapOutcomes(report: AnalysisReport, build: BuildResult, builder: BuilderKind): Map<number, boolean> {
  const byLine = new Map<number, boolean>();
  const steps = report.steps.filter((s) => !s.skipped && s.stage !== 'global');
  if (builder === 'classic') {
    // Classic prints every instruction of the stages it builds, in file order ("Step N/M : …").
    const ours = steps.filter((s) => s.instruction !== 'ARG' || s.stage !== 'global');
    assert.strictEqual(build.steps.length, ours.length, `classic printed ${build.steps.length} steps, we have ${ours.length}`);
    build.steps.forEach((b, i) => {
      const s = ours[i]!;
      assert.strictEqual(b.instruction, s.instruction, `step ${i + 1}: ${b.text} vs ${s.text}`);
      if (s.instruction !== 'FROM') byLine.set(s.line, b.cached);
    });
  } else {
    // BuildKit numbers FROM and the layer steps (RUN/COPY/ADD/WORKDIR) of each stage: "[stage k/n]"; a named
    // stage is labelled by its name, an unnamed one `stage-N`, and a single-stage build not at all.
    const groups = [...new Set(steps.map((s) => s.stage))].map((stage) => ({
      stage,
      layers: steps.filter((s) => s.stage === stage && ['FROM', 'RUN', 'COPY', 'ADD', 'WORKDIR'].includes(s.instruction)),
    }));
    for (const b of build.steps) {
      if (b.isFrom) continue; // a local base prints DONE or CACHED at random: nothing to compare
      const group = b.stage === null ? (groups.length === 1 ? groups[0] : undefined) : groups.find((g) => g.stage === b.stage || `stage-${g.stage}` === b.stage);
      // A stage that starts FROM another stage has no FROM vertex: its numbering starts at its first layer step.
      const list = group && b.stepCount === group.layers.length ? group.layers : group?.layers.slice(1);
      const ours = list?.[b.stepIndex - 1];
      assert.ok(ours, `cannot place BuildKit step [${b.stage ?? ''} ${b.stepIndex}/${b.stepCount}] ${b.text}`);
      byLine.set(ours.line, b.cached);
    }
  }
  return byLine;
}

async function checkSizes(report: AnalysisReport, tag: string, baseEntries: number): Promise<number> {
  const all = (await imageHistory(tag)).slice().reverse().slice(baseEntries); // oldest first, after the base image
  const target = report.steps.filter((s) => !s.skipped && s.stage === report.steps.filter((x) => !x.skipped).at(-1)!.stage);
  const body = target.filter((s) => s.instruction !== 'FROM');
  // A stage built FROM another stage carries that stage's entries first.
  assert.ok(all.length >= body.length, `history has ${all.length} entries for ${body.length} instructions`);
  const history = all.slice(all.length - body.length);
  let checked = 0;
  body.forEach((s, i) => {
    if (s.size.bytes === null || !s.size.exact) return;
    assert.strictEqual(s.size.bytes, history[i]!.size, `size of line ${s.line} (${s.text})`);
    checked++;
  });
  return checked;
}

describe('real daemon: predictions match what the daemon does', function () {
  this.timeout(240_000);
  let baseEntries = 0;
  const created: string[] = [];
  const cacheDir = path.join(os.tmpdir(), `layerlens-scen-cache-${process.pid}`);

  before(async function () {
    await requireDaemon(this);
    await ensureBaseImage(BASE);
    await ensureBaseImage(BASE2, { variant: 2 });
    baseEntries = (await imageHistory(BASE)).length;
  });

  after(async () => {
    for (const t of created) await removeImage(t).catch(() => undefined);
    await fs.rm(cacheDir, { recursive: true, force: true });
  });

  for (const builder of ['classic', 'buildkit'] as const) {
    describe(builder, () => {
      for (const sc of SCENARIOS) {
        it(sc.name, async () => {
          const nonce = `${builder}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
          const tag = `layerlens-scen/${nonce}:latest`;
          const baseTag = `layerlens-scen/base-${nonce}:1`;
          await tagImage(BASE, baseTag);
          created.push(tag, baseTag);
          const dir = makeContext(sc.files(nonce, baseTag));
          const c: Ctx = {
            dir,
            builder,
            nonce,
            tag,
            baseTag,
            write: async (rel, content) => {
              await fs.mkdir(path.dirname(path.join(dir, rel)), { recursive: true });
              await fs.writeFile(path.join(dir, rel), content);
            },
            remove: (rel) => fs.rm(path.join(dir, rel), { force: true }),
          };
          const common = { dir, tag, builder, ...(sc.target ? { target: sc.target } : {}) };
          if (!sc.neverBuilt) await dockerBuild({ ...common, buildArgs: sc.buildArgs?.before ?? {} });
          await sc.change(c);

          const analyzer = new Analyzer({ cacheDir });
          let report: AnalysisReport;
          try {
            report = (
              await analyzer.analyze({
                dockerfile: path.join(dir, 'Dockerfile'),
                builder,
                buildArgs: sc.buildArgs?.after ?? {},
                target: sc.target ?? null,
              })
            ).report;
          } finally {
            await analyzer.dispose();
          }
          assert.ok(report.daemon.reachable, `daemon unreachable: ${report.daemon.error}`);
          sc.expect(report, builder);

          const rebuilt = await dockerBuild({ ...common, buildArgs: sc.buildArgs?.after ?? {} });
          const actual = mapOutcomes(report, rebuilt, builder);
          assert.ok(actual.size > 0, 'no build steps were compared');
          const wrong: string[] = [];
          for (const [line, cached] of actual) {
            const s = step(report, line);
            if (s.cache === 'unknown') {
              const allowed = sc.unknownAllowed?.[line];
              if (!allowed || !allowed.test(s.reason)) wrong.push(`line ${line} ${s.text}: predicted unknown (${s.reason}), daemon ${cached ? 'hit' : 'built'}`);
              continue;
            }
            if ((s.cache === 'hit') !== cached) {
              wrong.push(`line ${line} ${s.text}: predicted ${s.cache} (${s.reason}), daemon ${cached ? 'used the cache' : 'built it'}`);
            }
          }
          assert.deepStrictEqual(wrong, [], `mispredictions:\n${wrong.join('\n')}`);
          const sized = await checkSizes(report, tag, baseEntries);
          assert.ok(sized > 0, 'no exact size was checked against history');
        });
      }
    });
  }
});
