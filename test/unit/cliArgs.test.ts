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

describe('cli args: layers', () => {
  it('reads the image, thresholds (byte units) and output flags', () => {
    assert.deepStrictEqual(parseArgs(['layers', 'app:1', '--json', '--min-efficiency', '0.95', '--max-wasted-bytes=20MB', '--top', '3'], {}), {
      command: 'layers', image: 'app:1', json: true, color: null, minEfficiency: 0.95, maxWastedBytes: 20_000_000, top: 3,
    });
    assert.strictEqual((parseArgs(['layers', 'x', '--max-wasted-bytes', '1.5GiB'], {}) as { maxWastedBytes: number }).maxWastedBytes, 1.5 * 1024 ** 3);
    assert.strictEqual((parseArgs(['layers', 'x', '--max-wasted-bytes', '123'], {}) as { maxWastedBytes: number }).maxWastedBytes, 123);
  });

  it('rejects bad input with one-line messages', () => {
    const bad = (argv: string[], msg: RegExp): void => assert.throws(() => parseArgs(argv, {}), (e: unknown) => e instanceof UsageError && msg.test(e.message));
    bad(['layers'], /layers needs an image/);
    bad(['layers', 'x', '--min-efficiency', '1.5'], /from 0 to 1/);
    bad(['layers', 'x', '--min-efficiency', 'abc'], /from 0 to 1/);
    bad(['layers', 'x', '--max-wasted-bytes', '10 parsecs'], /byte count/);
    bad(['layers', 'x', '--max-wasted-bytes'], /needs a value/);
    bad(['layers', 'x', 'y'], /one image at a time/);
    bad(['layers', 'x', '--frobnicate'], /unknown option --frobnicate for layers/);
  });
});
