// Tests of the real-daemon test harness: its output parsers (on recorded output, no daemon needed) and
// its helpers against the real daemon (base images, builds with both builders, contexts, images).

import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import {
  BASE_IMAGE,
  BASE_IMAGE_2,
  BUILDERS,
  DockerBuildError,
  assertStaticElf,
  docker,
  BUSYBOX_BIN,
  cacheSummary,
  cachedFlags,
  checkDaemon,
  chmod,
  daemonRequired,
  describeDocker,
  dockerBuild,
  dockerBuildArgs,
  dockerfileStages,
  ensureBaseImage,
  findStep,
  imageHistory,
  imageIdOf,
  inspectImage,
  makeContext,
  nonce,
  openContext,
  parseBuildKitOutput,
  parseClassicOutput,
  remove,
  removeImage,
  tagExists,
  tagImage,
  touch,
  uniqueTag,
  useDockerScope,
  writeFile,
} from './harness';

// ------------------------------------------------------------------------------------------------
// Recorded output (Debian docker.io 20.10.24, /usr/bin/docker, this machine)
// ------------------------------------------------------------------------------------------------

const CLASSIC_FIRST = `Sending build context to Docker daemon  3.072kB
Step 1/5 : FROM exp/busybox:1
 ---> ea722ee15e00
Step 2/5 : COPY a.txt /a.txt
 ---> 76836524922d
Step 3/5 : RUN echo built > /b.txt
 ---> Running in df3c6eb7db81
Removing intermediate container df3c6eb7db81
 ---> 5422fa25981a
Step 4/5 : ENV X=1
 ---> Running in b06d3d573c9f
Removing intermediate container b06d3d573c9f
 ---> d5a07ae1d87a
Step 5/5 : CMD ["sh"]
 ---> Running in 125f0a203439
Removing intermediate container 125f0a203439
 ---> 3a584a3f4d95
Successfully built 3a584a3f4d95
Successfully tagged exp/c1:latest
`;

const CLASSIC_SECOND = `Sending build context to Docker daemon  3.072kB
Step 1/5 : FROM exp/busybox:1
 ---> ea722ee15e00
Step 2/5 : COPY a.txt /a.txt
 ---> Using cache
 ---> 76836524922d
Step 3/5 : RUN echo built > /b.txt
 ---> Using cache
 ---> 5422fa25981a
Step 4/5 : ENV X=1
 ---> Using cache
 ---> d5a07ae1d87a
Step 5/5 : CMD ["sh"]
 ---> Using cache
 ---> 3a584a3f4d95
Successfully built 3a584a3f4d95
Successfully tagged exp/c1:latest
`;

// A RUN whose output imitates the builder, a multi-stage file, and a failing last step.
const CLASSIC_TRICKY_FAILED = `Sending build context to Docker daemon  3.072kB
Step 1/6 : FROM exp/busybox:1 AS build
 ---> ea722ee15e00
Step 2/6 : RUN echo "Step 9/9 : fake"; echo " ---> Using cache"
 ---> Running in 1dfa9e19722c
Step 9/9 : fake
 ---> Using cache
Removing intermediate container 1dfa9e19722c
 ---> 03ea4e80a371
Step 3/6 : FROM exp/busybox:1
 ---> ea722ee15e00
Step 4/6 : RUN echo two
 ---> Using cache
 ---> da8707850c0d
Step 5/6 : FROM build AS final
 ---> 03ea4e80a371
Step 6/6 : RUN false
 ---> Running in ee13de395247
`;

const BUILDKIT_MULTI = `#1 [internal] load build definition from Dockerfile
#1 sha256:0d9b0a06029fe3f105ba8de8d399ef9689ba1adc493778640968aea798bf80e9
#1 transferring dockerfile: 413B done
#1 DONE 0.0s

#2 [internal] load .dockerignore
#2 sha256:4bd1f68e363b488293f0175cd0259d8d98d4f507118cb0b13ff86ee6a65b2d33
#2 transferring context: 2B done
#2 DONE 0.0s

#3 [internal] load metadata for docker.io/exp/busybox:1
#3 sha256:c127937629794b4119e17c6fe61cee78df1c16511a35a05292f3c4735808e077
#3 DONE 0.0s

#4 [final 1/3] FROM docker.io/exp/busybox:1
#4 sha256:335ae2c058124ed96600c8d759bc31ad1fe2189e9587aecc48039c217db54795
#4 CACHED

#7 [internal] load build context
#7 sha256:64a90eb5b65b03c4a14f26edd0fcc135373f77396f0bb097c56a7c4e1aa62d28
#7 transferring context: 38B done
#7 DONE 0.0s

#6 [build 2/3] RUN echo building 1 && sleep 1 && echo line2 > /out.txt
#6 sha256:36cfff37acdd2e57174bfbe8111ecbaabfd9ea4b4b5fc77b0847d438b457b4d1
#6 0.191 building 1
#6 ...

#5 [stage-1 2/3] RUN echo other stage; sleep 1; echo done
#5 sha256:b25be206be8849ccca9b4ab8bd01ba3482afae6e6c98ed621df047f0debffaa4
#5 0.195 other stage
#5 1.201 done
#5 DONE 1.2s

#6 [build 2/3] RUN echo building 1 && sleep 1 && echo line2 > /out.txt
#6 sha256:36cfff37acdd2e57174bfbe8111ecbaabfd9ea4b4b5fc77b0847d438b457b4d1
#6 1.183 aaaa
#6 DONE 1.2s

#8 [build 3/3] COPY a.txt /a.txt
#8 sha256:84552bd0f8225ed0e4124d364b0819b029aba053a15fb9aea8b560b027324255
#8 CACHED

#9 [stage-1 3/3] COPY --from=build /out.txt /o.txt
#9 sha256:8211d97876afc56cb4202cb86e945d98f04c577c159acae5c0d692f85abbde5b
#9 DONE 0.0s

#10 [final 2/3] COPY --from=1 /o.txt /final.txt
#10 sha256:ca61750ea6c852a0ed380420eb0b8cf87aa87e58b98d715581a7c27a8d729104
#10 DONE 0.0s

#11 [final 3/3] RUN cat /final.txt
#11 sha256:2ea39bdfb06db130bc2ed39e012766beb78e96e300ae4373dfaac0b671cb5522
#11 ERROR: executor failed running [/bin/sh -c cat /final.txt]: exit code: 1

#12 exporting to image
#12 sha256:e8c613e07b0b7ff33893b694f7759a10d42e180f2b4dc349fb57dc6b71dcab00
#12 exporting layers 0.0s done
#12 writing image sha256:5476bdbd3ff633fe9b8c793ea9163c52ba0284654a51dac04cdee605923ffa0c done
#12 naming to docker.io/exp/m1 done
#12 DONE 0.0s
`;

const MULTI_DOCKERFILE = `# syntax comment, not a directive after the first line
FROM exp/busybox:1 AS Build
RUN echo building $V && sleep 1 && \\
    echo line2 > /out.txt
COPY a.txt /a.txt

FROM --platform=linux/amd64 exp/busybox:1
RUN echo other stage; sleep 1; echo done
COPY --from=build /out.txt /o.txt

from exp/busybox:1 as final
COPY --from=1 /o.txt /final.txt
RUN cat /final.txt
`;

describe('docker harness: output parsers (recorded output)', () => {
  it('parses classic misses, hits, FROM and the image ID', () => {
    const first = parseClassicOutput(CLASSIC_FIRST);
    assert.strictEqual(first.shortImageId, '3a584a3f4d95');
    assert.deepStrictEqual(
      first.steps.map((s) => [s.index, s.stepCount, s.instruction, s.cached, s.resultId]),
      [
        [1, 5, 'FROM', false, 'ea722ee15e00'],
        [2, 5, 'COPY', false, '76836524922d'],
        [3, 5, 'RUN', false, '5422fa25981a'],
        [4, 5, 'ENV', false, 'd5a07ae1d87a'],
        [5, 5, 'CMD', false, '3a584a3f4d95'],
      ],
    );
    assert.ok(first.steps[0].isFrom);
    assert.strictEqual(first.steps[2].text, 'RUN echo built > /b.txt');
    assert.ok(first.steps.every((s) => s.stage === null && s.stageIndex === 0 && !s.failed));
    const second = parseClassicOutput(CLASSIC_SECOND);
    assert.deepStrictEqual(second.steps.map((s) => s.cached), [false, true, true, true, true]);
  });

  it('ignores RUN output that imitates the builder and marks the failed step', () => {
    const p = parseClassicOutput(CLASSIC_TRICKY_FAILED);
    assert.strictEqual(p.shortImageId, null);
    assert.deepStrictEqual(
      p.steps.map((s) => [s.index, s.text.split(' ')[0], s.cached, s.stageIndex, s.stageName, s.stage, s.failed]),
      [
        [1, 'FROM', false, 0, 'build', 'build', false],
        [2, 'RUN', false, 0, 'build', 'build', false],
        [3, 'FROM', false, 1, null, 'stage-1', false],
        [4, 'RUN', true, 1, null, 'stage-1', false],
        [5, 'FROM', false, 2, 'final', 'final', false],
        [6, 'RUN', false, 2, 'final', 'final', true],
      ],
    );
  });

  it('lists Dockerfile stages like BuildKit labels them', () => {
    const stages = dockerfileStages(MULTI_DOCKERFILE);
    assert.deepStrictEqual(
      stages.map((s) => [s.index, s.name, s.label, s.from]),
      [
        [0, 'build', 'build', 'exp/busybox:1'],
        [1, null, 'stage-1', 'exp/busybox:1'],
        [2, 'final', 'final', 'exp/busybox:1'],
      ],
    );
    assert.deepStrictEqual(dockerfileStages('# escape=`\nFROM a `\n  AS x\nRUN y\n').map((s) => s.label), ['x']);
  });

  it('parses BuildKit plain progress: stages, order, CACHED/DONE/ERROR, re-printed headers', () => {
    const p = parseBuildKitOutput(BUILDKIT_MULTI, dockerfileStages(MULTI_DOCKERFILE));
    assert.strictEqual(p.imageId, 'sha256:5476bdbd3ff633fe9b8c793ea9163c52ba0284654a51dac04cdee605923ffa0c');
    assert.strictEqual(p.vertices.length, 12);
    assert.deepStrictEqual(
      p.steps.map((s) => [s.index, s.stage, s.stageIndex, s.stepIndex, s.stepCount, s.instruction, s.cached, s.status]),
      [
        [1, 'build', 0, 2, 3, 'RUN', false, 'done'],
        [2, 'build', 0, 3, 3, 'COPY', true, 'cached'],
        [3, 'stage-1', 1, 2, 3, 'RUN', false, 'done'],
        [4, 'stage-1', 1, 3, 3, 'COPY', false, 'done'],
        [5, 'final', 2, 1, 3, 'FROM', true, 'cached'],
        [6, 'final', 2, 2, 3, 'COPY', false, 'done'],
        [7, 'final', 2, 3, 3, 'RUN', false, 'error'],
      ],
    );
    const run = p.steps[0];
    assert.strictEqual(run.text, 'RUN echo building 1 && sleep 1 && echo line2 > /out.txt');
    assert.strictEqual(run.durationSec, 1.2);
    assert.deepStrictEqual(p.vertices.find((v) => v.vertex === 6)!.logs, ['building 1', 'aaaa']);
    assert.match(p.steps[6].error!, /exit code: 1/);
  });

  it('handles a single-stage build (no stage label) and sorts by step', () => {
    const out = [
      '#4 [1/3] FROM docker.io/exp/busybox:1', '#4 DONE 0.0s', '',
      '#7 [3/3] RUN echo built > /b.txt', '#7 CACHED', '',
      '#6 [2/3] COPY a.txt /a.txt', '#6 CACHED', '',
      '#8 exporting to image', '#8 writing image sha256:' + 'b'.repeat(64) + ' done', '#8 DONE 0.0s',
    ].join('\n');
    const p = parseBuildKitOutput(out);
    assert.deepStrictEqual(p.steps.map((s) => [s.stage, s.stageIndex, s.stepIndex, s.instruction, s.cached]), [
      [null, 0, 1, 'FROM', false],
      [null, 0, 2, 'COPY', true],
      [null, 0, 3, 'RUN', true],
    ]);
    assert.strictEqual(p.imageId, 'sha256:' + 'b'.repeat(64));
  });

  it('builds the docker argument array (no shell)', () => {
    const args = dockerBuildArgs(
      { dir: '/ctx', tag: 't:1', builder: 'buildkit', buildArgs: { A: 'x y' }, target: 'build', noCache: true, dockerfile: 'sub/Dockerfile' },
      '/tmp/iid',
    );
    assert.deepStrictEqual(args, [
      'build', '--network', 'none', '--progress=plain', '-t', 't:1', '--iidfile', '/tmp/iid',
      '-f', '/ctx/sub/Dockerfile', '--build-arg', 'A=x y', '--target', 'build', '--no-cache', '/ctx',
    ]);
    assert.deepStrictEqual(dockerBuildArgs({ dir: '/ctx', tag: 't:1', builder: 'classic' }), [
      'build', '--network', 'none', '--force-rm', '-t', 't:1', '/ctx',
    ]);
  });

  it('makes contexts with exact modes and edits them', () => {
    const dir = makeContext({
      Dockerfile: 'FROM x\n',
      'src/a.txt': 'a\n',
      'bin/run.sh': { content: '#!/bin/sh\n', mode: 0o755 },
      'blob.bin': Buffer.from([0, 1, 2]),
      link: { symlink: 'src/a.txt' },
      empty: { dir: true },
    });
    assert.strictEqual(typeof dir, 'string');
    const mode = (rel: string): number => fs.statSync(path.join(dir, rel)).mode & 0o7777;
    assert.strictEqual(mode('.'), 0o755);
    assert.strictEqual(mode('src'), 0o755);
    assert.strictEqual(mode('src/a.txt'), 0o644);
    assert.strictEqual(mode('bin/run.sh'), 0o755);
    assert.strictEqual(fs.readlinkSync(path.join(dir, 'link')), 'src/a.txt');
    assert.ok(fs.statSync(path.join(dir, 'empty')).isDirectory());
    assert.deepStrictEqual([...fs.readFileSync(path.join(dir, 'blob.bin'))], [0, 1, 2]);

    const before = fs.statSync(path.join(dir, 'src/a.txt'));
    touch(dir, 'src/a.txt');
    const after = fs.statSync(path.join(dir, 'src/a.txt'));
    assert.ok(after.mtimeMs > before.mtimeMs, 'mtime moved');
    assert.ok(Math.abs(after.atimeMs - before.atimeMs) < 1, 'atime kept (to the millisecond)');
    assert.strictEqual(fs.readFileSync(path.join(dir, 'src/a.txt'), 'utf8'), 'a\n', 'content kept');

    chmod(dir, 'src/a.txt', 0o600);
    assert.strictEqual(mode('src/a.txt'), 0o600);
    writeFile(dir, 'deep/er/b.txt', 'b');
    assert.strictEqual(mode('deep/er'), 0o755);
    remove(dir, 'deep');
    assert.ok(!fs.existsSync(path.join(dir, 'deep')));
    assert.throws(() => writeFile(dir, '../escape.txt', 'x'), /escapes/);

    const ctx = openContext(dir);
    ctx.writeFile('c.txt', 'c', 0o640);
    assert.strictEqual(mode('c.txt'), 0o640);
    ctx.cleanup();
    assert.ok(!fs.existsSync(dir));
  });

  it('makes unique, valid tags', () => {
    const a = uniqueTag('My Label!');
    const b = uniqueTag('My Label!');
    assert.notStrictEqual(a, b);
    assert.match(a, /^layerlens-test\/my-label:[a-z0-9]+-\d+$/);
    assert.notStrictEqual(nonce(), nonce());
  });

  it('knows when a missing daemon must fail instead of skip', () => {
    const saved = { CI: process.env.CI, R: process.env.LAYERLENS_REQUIRE_DAEMON };
    try {
      delete process.env.CI;
      delete process.env.LAYERLENS_REQUIRE_DAEMON;
      assert.strictEqual(daemonRequired(), false);
      process.env.CI = 'false';
      assert.strictEqual(daemonRequired(), false);
      process.env.CI = 'true';
      assert.strictEqual(daemonRequired(), true);
      delete process.env.CI;
      process.env.LAYERLENS_REQUIRE_DAEMON = '1';
      assert.strictEqual(daemonRequired(), true);
    } finally {
      if (saved.CI === undefined) delete process.env.CI; else process.env.CI = saved.CI;
      if (saved.R === undefined) delete process.env.LAYERLENS_REQUIRE_DAEMON; else process.env.LAYERLENS_REQUIRE_DAEMON = saved.R;
    }
  });
});

// ------------------------------------------------------------------------------------------------
// Against the real daemon
// ------------------------------------------------------------------------------------------------

describeDocker('docker harness: real daemon', function () {
  const scope = useDockerScope('harness');

  it('reports the daemon version', async () => {
    const s = await checkDaemon();
    assert.ok(s.ok, s.reason);
    assert.match(s.serverVersion!, /^\d+\.\d+/);
  });

  it('uses a static busybox', () => {
    assertStaticElf(BUSYBOX_BIN);
  });

  it('creates the base images once, with different IDs', async () => {
    const id1 = await ensureBaseImage();
    assert.match(id1, /^sha256:[0-9a-f]{64}$/);
    assert.strictEqual(await ensureBaseImage(), id1, 'second call reuses the image');
    assert.strictEqual(await imageIdOf(BASE_IMAGE), id1);
    const id2 = await ensureBaseImage(BASE_IMAGE_2, { variant: 2 });
    assert.notStrictEqual(id2, id1);
    assert.strictEqual(await ensureBaseImage(BASE_IMAGE_2, { variant: 2 }), id2);
    const h = await imageHistory(BASE_IMAGE);
    assert.strictEqual(h.length, 1);
    assert.strictEqual(h[0].comment, 'layerlens-test base image variant 1');
    assert.ok(h[0].size > 500_000, `busybox layer size ${h[0].size}`);
    const j = await inspectImage(BASE_IMAGE);
    assert.strictEqual(j!.Config.Env, null, 'no Env: classic adds the default PATH itself');
    assert.strictEqual(await inspectImage('layerlens-test/no-such-image:0'), null);
  });

  for (const builder of BUILDERS) {
    it(`builds a 3-step Dockerfile twice: all built, then all cached (${builder})`, async () => {
      await ensureBaseImage();
      const n = nonce();
      // The nonce is in the first step's input: an identical first step from any earlier build would hit.
      const ctx = scope.context({
        Dockerfile: `FROM ${BASE_IMAGE}\nCOPY a.txt /a.txt\nRUN echo one > /n && ls /bin/sh /tmp /etc/passwd\nRUN cat /a.txt /n > /both\n`,
        '.dockerignore': 'Dockerfile\n.dockerignore\n',
        'a.txt': `${n}\n`,
      });
      const tag = scope.tag();
      const first = await dockerBuild({ dir: ctx.dir, tag, builder });
      assert.ok(first.ok);
      assert.strictEqual(first.builder, builder);
      assert.deepStrictEqual(cacheSummary(first), [
        { text: 'COPY a.txt /a.txt', cached: false },
        { text: 'RUN echo one > /n && ls /bin/sh /tmp /etc/passwd', cached: false },
        { text: 'RUN cat /a.txt /n > /both', cached: false },
      ]);
      assert.strictEqual(first.steps[0].isFrom, true);
      assert.match(first.imageId!, /^sha256:[0-9a-f]{64}$/);
      assert.strictEqual(await imageIdOf(tag), first.imageId);

      ctx.touch('a.txt'); // mtime only: still all cached
      const second = await dockerBuild({ dir: ctx.dir, tag, builder });
      assert.deepStrictEqual(cachedFlags(second), [true, true, true], JSON.stringify(cacheSummary(second)));
      assert.strictEqual(second.imageId, first.imageId);

      const h = await imageHistory(tag, { oldestFirst: true });
      assert.deepStrictEqual(h.map((e) => e.size).slice(1), [17, 4, 21], JSON.stringify(h));
      // Both number these 4 steps 1..4 (classic: "Step i/4", BuildKit: "[i/4]"; no stage label).
      assert.deepStrictEqual(second.steps.map((s) => [s.stage, s.stepIndex, s.stepCount]), [[null, 1, 4], [null, 2, 4], [null, 3, 4], [null, 4, 4]]);

      const noCache = await dockerBuild({ dir: ctx.dir, tag, builder, noCache: true });
      assert.deepStrictEqual(cachedFlags(noCache), [false, false, false]);
    });

    it(`parses a multi-stage build with stage names, build args and a target (${builder})`, async () => {
      await ensureBaseImage();
      const n = nonce();
      const ctx = scope.context({
        Dockerfile: [
          `FROM ${BASE_IMAGE} AS build`,
          `ARG V=${n}`,
          `RUN echo ${n} $V > /out.txt`,
          'COPY a.txt /a.txt',
          '',
          `FROM ${BASE_IMAGE}`,
          `RUN echo other ${n} > /other.txt`,
          'COPY --from=build /out.txt /o.txt',
          '',
          `FROM ${BASE_IMAGE} AS final`,
          'COPY --from=1 /o.txt /final.txt',
          'ENV X=1',
          'RUN cat /final.txt',
          '',
        ].join('\n'),
        '.dockerignore': 'Dockerfile\n',
        'a.txt': 'a\n',
      });
      const tag = scope.tag();
      const r = await dockerBuild({ dir: ctx.dir, tag, builder, buildArgs: { V: '7' } });
      const body = r.steps.filter((s) => !s.isFrom).map((s) => [s.stage, s.instruction, s.cached]);
      const expected = [
        ['build', 'RUN', false], ['build', 'COPY', false],
        ['stage-1', 'RUN', false], ['stage-1', 'COPY', false],
        ['final', 'COPY', false], ['final', 'RUN', false],
      ];
      if (builder === 'classic') {
        // Classic also prints ARG and ENV as steps.
        expected.splice(0, 0, ['build', 'ARG', false]);
        expected.splice(6, 0, ['final', 'ENV', false]);
        assert.deepStrictEqual(r.steps.filter((s) => s.isFrom).map((s) => s.stage), ['build', 'stage-1', 'final']);
      } else {
        // BuildKit shows build args expanded, numbers steps per stage, and FROM is 1/n.
        assert.strictEqual(findStep(r, `RUN echo ${n}`).text, `RUN echo ${n} 7 > /out.txt`);
        assert.deepStrictEqual(
          r.steps.filter((s) => !s.isFrom).map((s) => `${s.stage} ${s.stepIndex}/${s.stepCount}`),
          ['build 2/3', 'build 3/3', 'stage-1 2/3', 'stage-1 3/3', 'final 2/3', 'final 3/3'],
        );
      }
      assert.deepStrictEqual(body, expected);

      const again = await dockerBuild({ dir: ctx.dir, tag, builder, buildArgs: { V: '7' } });
      assert.ok(cachedFlags(again).every(Boolean), JSON.stringify(cacheSummary(again)));

      // Only the target stage is built.
      const t = await dockerBuild({ dir: ctx.dir, tag: scope.tag(), builder, buildArgs: { V: '8' }, target: 'build' });
      assert.deepStrictEqual([...new Set(t.steps.map((s) => s.stage))], ['build']);
      assert.strictEqual(findStep(t, /^RUN echo/).cached, false, 'V changed: RUN rebuilt');
      assert.strictEqual(findStep(t, 'COPY a.txt').cached, false, 'after a miss');
    });

    it(`throws on a failed build, or reports it with allowFailure (${builder})`, async () => {
      await ensureBaseImage();
      const ctx = scope.context({ Dockerfile: `FROM ${BASE_IMAGE}\nRUN echo ${nonce()}\nRUN exit 3\n` });
      await assert.rejects(
        dockerBuild({ dir: ctx.dir, tag: scope.tag(), builder }),
        (e: unknown) => e instanceof DockerBuildError && /exit/.test(e.message) && e.result.ok === false,
      );
      const r = await dockerBuild({ dir: ctx.dir, tag: scope.tag(), builder, allowFailure: true });
      assert.strictEqual(r.ok, false);
      assert.strictEqual(r.imageId, null);
      const last = r.steps[r.steps.length - 1];
      assert.strictEqual(last.text, 'RUN exit 3');
      if (r.builder === 'classic') {
        assert.strictEqual(r.steps[r.steps.length - 1].failed, true);
        const left = await docker(['ps', '-a', '--filter', `ancestor=${r.steps[r.steps.length - 2].resultId}`, '--format', '{{.ID}}']);
        assert.strictEqual(left.stdout.trim(), '', 'no container left behind (--force-rm)');
      } else {
        assert.strictEqual(r.steps[r.steps.length - 1].status, 'error');
      }
    });
  }

  it('tags, checks and removes images', async () => {
    await ensureBaseImage();
    const t = scope.tag('alias');
    assert.strictEqual(await tagExists(t), false);
    await tagImage(BASE_IMAGE, t);
    assert.strictEqual(await tagExists(t), true);
    assert.strictEqual(await imageIdOf(t), await imageIdOf(BASE_IMAGE));
    await removeImage(t);
    assert.strictEqual(await tagExists(t), false);
    await removeImage(t); // missing is fine
    assert.strictEqual(await tagExists(BASE_IMAGE), true, 'removing an alias keeps the base');
  });
});
