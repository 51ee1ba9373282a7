import * as assert from 'assert';
import { parseArgs, UsageError } from '../../server/src/cliArgs';

describe('CLI arguments', () => {
  it('defaults: ./Dockerfile, buildkit, text', () => {
    const c = parseArgs(['analyze'], {});
    assert.deepStrictEqual(c, {
      command: 'analyze',
      dockerfile: 'Dockerfile',
      context: null,
      target: null,
      buildArgs: {},
      builder: 'buildkit',
      json: false,
      color: null,
    });
  });

  it('DOCKER_BUILDKIT=0 selects the classic builder; --builder wins', () => {
    assert.strictEqual(parseArgs(['analyze'], { DOCKER_BUILDKIT: '0' }).command === 'analyze' && (parseArgs(['analyze'], { DOCKER_BUILDKIT: '0' }) as { builder: string }).builder, 'classic');
    const c = parseArgs(['analyze', '--builder', 'buildkit'], { DOCKER_BUILDKIT: '0' });
    assert.strictEqual((c as { builder: string }).builder, 'buildkit');
  });

  it('reads every option, in both --k v and --k=v forms', () => {
    const c = parseArgs(
      ['analyze', 'dir/Dockerfile.dev', '--context=ctx', '--target', 'final', '--build-arg', 'A=1', '--build-arg=B=x=y', '--json'],
      {},
    );
    assert.deepStrictEqual(c, {
      command: 'analyze',
      dockerfile: 'dir/Dockerfile.dev',
      context: 'ctx',
      target: 'final',
      buildArgs: { A: '1', B: 'x=y' },
      builder: 'buildkit',
      json: true,
      color: null,
    });
  });

  const bad: [string[], RegExp][] = [
    [['analyze', '--build-arg', 'NOVALUE'], /malformed --build-arg/],
    [['analyze', '--build-arg', '=x'], /malformed --build-arg/],
    [['analyze', '--builder', 'podman'], /buildkit or classic/],
    [['analyze', '--context'], /needs a value/],
    [['analyze', '--frobnicate'], /unknown option/],
    [['analyze', 'a', 'b'], /unexpected argument/],
    [['build'], /needs a tag/],
    [['deploy'], /unknown command/],
  ];
  for (const [argv, re] of bad) {
    it(`rejects ${argv.join(' ')}`, () => {
      assert.throws(() => parseArgs(argv, {}), (e: unknown) => e instanceof UsageError && re.test(e.message));
    });
  }

  it('help', () => {
    assert.deepStrictEqual(parseArgs([], {}), { command: 'help' });
    assert.deepStrictEqual(parseArgs(['analyze', '--help'], {}), { command: 'help' });
  });
});
