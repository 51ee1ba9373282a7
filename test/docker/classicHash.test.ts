// Daemon-verified: the classic builder's COPY source hashes (and layer sizes) that server/src/context computes
// must equal what a real daemon records in image history, for each docker CLI variant installed here
// (/usr/bin/docker 20.10 → 'full' modes + legacy .dockerignore matcher; /usr/local/bin/docker ≥ 24 → 'perm' modes +
// patternmatcher). Fails when the daemon is unreachable and CI or LAYERLENS_REQUIRE_DAEMON is set; skips otherwise.

import * as assert from 'assert';
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ContextIndex } from '../../server/src/context/contextIndex';
import { IgnoreFlavor } from '../../server/src/context/dockerignore';
import { classicSourceHash, layerBytes, resolveSources } from '../../server/src/context/sources';
import { TarModeVariant } from '../../server/src/context/types';
import { daemonRequired } from './harness';
import { DAEMON_VERIFIED, makeScenario, SCENARIOS } from '../unit/contextFixtures.test';

interface Cli {
  bin: string;
  version: string;
  variant: TarModeVariant;
  flavor: IgnoreFlavor;
}


const CANDIDATES = ['/usr/bin/docker', '/usr/local/bin/docker'];

function run(bin: string, args: string[], env: NodeJS.ProcessEnv = {}): string {
  return execFileSync(bin, args, { encoding: 'utf8', env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000 });
}

function major(v: string): number {
  return parseInt(v.split('.')[0], 10);
}

describe('classic builder COPY hash against a real daemon', function () {
  this.timeout(300_000);
  let clis: Cli[] = [];
  let daemonFlavor: IgnoreFlavor = 'patternmatcher';
  const tmpRoots: string[] = [];
  const tags: string[] = [];
  let cacheDir = '';

  before(function () {
    cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'layerlens-daemon-cache-'));
    let serverVersion = '';
    try {
      serverVersion = run(CANDIDATES.find((b) => fs.existsSync(b)) ?? 'docker', ['version', '--format', '{{.Server.Version}}']).trim();
    } catch (e) {
      if (daemonRequired()) throw new Error(`Docker daemon unreachable (CI or LAYERLENS_REQUIRE_DAEMON is set, so this fails): ${(e as Error).message}`);
      this.skip();
    }
    daemonFlavor = major(serverVersion) <= 22 ? 'legacy' : 'patternmatcher';
    for (const bin of CANDIDATES) {
      if (!fs.existsSync(bin)) continue;
      const version = run(bin, ['version', '--format', '{{.Client.Version}}']).trim();
      clis.push({
        bin,
        version,
        variant: major(version) <= 23 ? 'full' : 'perm',
        flavor: major(version) <= 22 ? 'legacy' : 'patternmatcher',
      });
    }
    if (clis.length === 0) {
      if (daemonRequired()) throw new Error('no docker CLI found');
      this.skip();
    }
    if (daemonRequired() && !(clis.some((c) => c.variant === 'full') && clis.some((c) => c.variant === 'perm'))) {
      throw new Error(`both CLI variants are required in CI; found ${clis.map((c) => `${c.bin} ${c.version}`).join(', ')}`);
    }
  });

  after(function () {
    for (const t of tags) {
      try {
        run(CANDIDATES.find((b) => fs.existsSync(b)) ?? 'docker', ['rmi', '-f', t]);
      } catch {
        // already gone
      }
    }
    for (const d of [...tmpRoots, cacheDir]) if (d) fs.rmSync(d, { recursive: true, force: true });
    clis = [];
  });

  for (const sc of SCENARIOS) {
    it(sc.name, async function () {
      const root = fs.mkdtempSync(path.join(os.tmpdir(), 'layerlens-daemon-'));
      tmpRoots.push(root);
      const ctx = makeScenario(sc, root);
      const dfRel = sc.dockerfile ?? 'Dockerfile';
      for (const cli of clis) {
        const tag = `layerlens-test-ctx:${process.pid}-${tags.length}`;
        tags.push(tag);
        try {
          run(cli.bin, ['build', '-q', '--network', 'none', '-f', path.join(ctx, dfRel), '-t', tag, ctx], { DOCKER_BUILDKIT: '0' });
        } catch (e) {
          const err = e as { stderr?: string; message: string };
          throw new Error(`${cli.bin} build failed: ${err.stderr ?? err.message}`);
        }
        const history = run(cli.bin, ['history', '--no-trunc', '--human=false', '--format', '{{.Size}}\t{{.CreatedBy}}', tag])
          .split('\n')
          .filter((l) => l !== '')
          .reverse();
        const actual = new Map<number, { hash: string; size: number }>();
        for (const line of history) {
          const [size, createdBy] = line.split('\t');
          const m = /#\(nop\) COPY (\S+) in \/c(\d+)\/ $/.exec(createdBy ?? '');
          if (m) actual.set(Number(m[2]), { hash: m[1], size: Number(size) });
        }
        assert.strictEqual(actual.size, sc.copies.length, `history of ${tag}:\n${history.join('\n')}`);

        const idx = await ContextIndex.open(ctx, dfRel, {
          builder: 'classic',
          ignoreFlavor: cli.flavor,
          daemonIgnoreFlavor: daemonFlavor,
          cacheDir,
        });
        for (let i = 0; i < sc.copies.length; i++) {
          const matches = resolveSources(idx, sc.copies[i]);
          const ours = await classicSourceHash(idx, matches, cli.variant);
          const label = `${cli.bin} (${cli.version}, ${cli.variant}/${cli.flavor}) COPY ${sc.copies[i].join(' ')}`;
          assert.strictEqual(ours, actual.get(i)!.hash, `${label}: hash`);
          assert.strictEqual(layerBytes(matches), actual.get(i)!.size, `${label}: layer size`);
          // The unit tests pin these daemon values; keep the table honest.
          const pinned = cli.variant === 'full' || cli.variant === 'perm' ? DAEMON_VERIFIED[sc.name]?.[cli.variant]?.[i] : undefined;
          if (pinned && (cli.variant === 'full') === (cli.flavor === 'legacy') && daemonFlavor === 'legacy') {
            assert.deepStrictEqual([actual.get(i)!.hash, actual.get(i)!.size], pinned, `${label}: DAEMON_VERIFIED table`);
          }
        }
        await idx.persist();
      }
    });
  }
});
