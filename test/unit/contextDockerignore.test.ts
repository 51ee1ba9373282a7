import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import {
  excludesToRules,
  findDockerignore,
  IgnoreFlavor,
  IgnoreMatcher,
  parseDockerignore,
  rulesToExcludes,
} from '../../server/src/context/dockerignore';
import { BadPatternError, compareGo, compareWalkOrder, containsWildcards, goClean, goMatch, goTrimSpace } from '../../server/src/context/goPath';
import { goRegexToJs } from '../../server/src/context/goRegex';
import { tmpDir } from './contextFixtures.test';

function matcher(lines: string[], flavor: IgnoreFlavor): IgnoreMatcher {
  return new IgnoreMatcher(parseDockerignore(lines.join('\n')), { flavor });
}

describe('context/dockerignore: parsing (ignorefile.ReadAll semantics)', function () {
  this.timeout(60_000);
  const cases: Array<[string, string, string[]]> = [
    ['LF', '*.log\n!keep.log\n', ['*.log', '!keep.log']],
    ['CRLF', '*.log\r\n!keep.log\r\n', ['*.log', '!keep.log']],
    ['no final newline', 'a\nb', ['a', 'b']],
    ['blank and whitespace-only lines', '\n   \n\t\na\n\n', ['a']],
    ['comment in column 0 only', '# c\n  # not a comment\n#x', ['# not a comment']],
    ['trimmed', '  spaced.txt  \t', ['spaced.txt']],
    ['UTF-8 BOM on the first line', '\ufeff*.tmp\n\ufeffsecond', ['*.tmp', '\ufeffsecond']],
    ['BOM before a comment', '\ufeff# comment\nx', ['x']],
    ['leading slash removed', '/abs.txt\n/dir/sub/', ['abs.txt', 'dir/sub']],
    ['filepath.Clean', './a/./b//c/../d\nx/\n../up\na/..', ['a/b/d', 'x', '../up', '.']],
    ['exception with spaces after !', '!  keep \n! /root.txt', ['!keep', '!root.txt']],
    ['lone slash kept', '/', ['/']],
    ['double !', '!!x', ['!!x']],
    ['lone CR inside a line kept', 'a\rb\n', ['a\rb']],
  ];
  for (const [name, text, want] of cases) {
    it(name, () => assert.deepStrictEqual(rulesToExcludes(parseDockerignore(text)), want));
  }

  it('records line numbers and raw text', () => {
    const rules = parseDockerignore('# c\n\n*.log\r\n  !keep.log\n');
    assert.deepStrictEqual(
      rules.map((r) => [r.line, r.pattern, r.exclusion, r.text]),
      [
        [3, '*.log', false, '*.log'],
        [4, 'keep.log', true, '  !keep.log'],
      ],
    );
  });

  it('reports patterns Docker rejects', () => {
    const m = new IgnoreMatcher(parseDockerignore('ok\n!\n[\na\\\n'));
    assert.strictEqual(m.errors.length, 3, m.errors.join('; '));
    assert.match(m.errors[0], /line 2: illegal exclusion pattern/);
    assert.ok(!m.isExcluded('['));
    assert.ok(m.isExcluded('ok'));
  });

  it('excludesToRules round-trips', () => {
    assert.deepStrictEqual(rulesToExcludes(excludesToRules(['a', ' !b ', '', 'c/'])), ['a', '!b', 'c']);
  });
});

describe('context/dockerignore: matching', function () {
  this.timeout(60_000);
  // [patterns, path, excluded with patternmatcher (CLI ≥ 23, BuildKit), excluded with legacy (CLI ≤ 22)]
  const table: Array<[string[], string, boolean, boolean]> = [
    [['*.log'], 'a.log', true, true],
    [['*.log'], 'dir/a.log', false, false],
    [['**/*.log'], 'dir/sub/a.log', true, true],
    [['**/*.log'], 'a.log', true, true],
    [['dir'], 'dir', true, true],
    [['dir'], 'dir/sub/file', true, true],
    [['dir'], 'dirx/file', false, false],
    [['dir/'], 'dir/x', true, true],
    [['/dir'], 'dir/x', true, true],
    [['./dir'], 'dir/x', true, true],
    [['dir/*/c'], 'dir/b/c/d', true, true],
    [['*', '!keep'], 'keep', false, false],
    [['*', '!keep'], 'other', true, true],
    [['*', '!keep'], 'keep/inner', false, false],
    [['a?c'], 'abc', true, true],
    [['a?c'], 'a/c', false, false],
    [['[a-c]x'], 'bx', true, true],
    [['[a-c]x'], 'dx', false, false],
    [['[^a-c]x'], 'dx', true, true],
    [['[!a]x'], '!x', true, true],
    [['[!a]x'], 'bx', false, false],
    [['\\*x'], '*x', true, true],
    [['\\*x'], 'ax', false, false],
    [['a+b'], 'a+b', true, false],
    [['a+b'], 'aab', false, true],
    [['**foo'], 'barfoo', true, false],
    [['**foo'], 'x/foo', true, true],
    [['**/foo'], 'foo', true, true],
    [['**/foo'], 'a/b/foo', true, true],
    // legacy only tests the ancestor at the pattern's depth (the CLI would have skipped a/b/foo before reaching this)
    [['**/foo'], 'a/b/foo/c', true, false],
    [['**/foo'], 'barfoo', false, false],
    [['foo/**'], 'foo', false, false],
    [['foo/**'], 'foo/a/b', true, true],
    [['foo**'], 'foobar', true, true],
    [['**'], 'any/thing', true, true],
    [['a/**/b'], 'a/b', true, true],
    [['a/**/b'], 'a/x/y/b', true, true],
    [['a/**/b'], 'a/xb', false, false],
    [['x/y', '!x'], 'x/y/f', true, false],
    [['x/y', '!x'], 'x/y', true, false],
    [['docs', '!docs/README.md'], 'docs/README.md', false, false],
    [['docs', '!docs/README.md'], 'docs/other.md', true, true],
    [['*.md', '!README*.md', 'README-secret.md'], 'README.md', false, false],
    [['*.md', '!README*.md', 'README-secret.md'], 'README-secret.md', true, true],
    [['*.md', '!README*.md', 'README-secret.md'], 'x.md', true, true],
    [['  # not a comment'], '# not a comment', true, true],
    [['a{b'], 'a{b', true, true],
    [['a|b'], 'a|b', true, true],
    [['a|b'], 'axx', false, true],
    [['\\d'], '5', true, true],
    [['\\d'], 'd', false, false],
    [['a.b'], 'aXb', false, false],
    [['$x'], '$x', true, true],
    [['**/b'], 'x/y/b/c', true, false],
    [['ünï*'], 'ünïcode', true, true],
    [['?'], '😀', true, true],
  ];
  for (const [patterns, p, pm, legacy] of table) {
    it(`${JSON.stringify(patterns)} ${p} → ${pm}/${legacy}`, () => {
      assert.strictEqual(matcher(patterns, 'patternmatcher').isExcluded(p), pm, 'patternmatcher');
      assert.strictEqual(matcher(patterns, 'legacy').isExcluded(p), legacy, 'legacy');
    });
  }

  it('the same table works with CRLF files', () => {
    for (const [patterns, p, pm] of table) {
      const m = new IgnoreMatcher(parseDockerignore(patterns.join('\r\n') + '\r\n'));
      assert.strictEqual(m.isExcluded(p), pm, `${JSON.stringify(patterns)} ${p}`);
    }
  });

  it('legacy: a pattern that does not compile as a Go regexp is reported and never matches', () => {
    const m = matcher(['a(b'], 'legacy');
    assert.strictEqual(m.errors.length, 1);
    assert.ok(!m.isExcluded('a(b'));
    assert.ok(matcher(['a(b'], 'patternmatcher').isExcluded('a(b'));
  });

  it('MatchesUsingParentResults (walk) differs from MatchesOrParentMatches (daemon) for re-included parents', () => {
    const m = matcher(['x/y', '!x'], 'patternmatcher');
    assert.strictEqual(m.isExcluded('x/y/f'), true);
    assert.strictEqual(m.matchesOrParentMatches('x/y/f'), false);
  });

  it('legacyMatches checks only the ancestor at the pattern depth', () => {
    const m = matcher(['**/b'], 'patternmatcher');
    assert.strictEqual(m.legacyMatches('x/y/b/c'), false);
    assert.strictEqual(m.matchesOrParentMatches('x/y/b/c'), true);
    assert.strictEqual(matcher(['dir/*'], 'legacy').legacyMatches('dir/a/b'), true);
    assert.strictEqual(m.legacyMatches('.'), false);
  });

  it('matchChild carries per-pattern state down the walk', () => {
    const m = matcher(['x/y', '!x'], 'patternmatcher');
    const x = m.matchChild('x', undefined);
    assert.strictEqual(x.excluded, false);
    const xy = m.matchChild('x/y', x.state);
    assert.strictEqual(xy.excluded, true);
    assert.strictEqual(m.matchChild('x/y/f', xy.state).excluded, true);
  });

  it('mayReincludeUnder: literal prefix test of exception patterns (CLI walker rule)', () => {
    const m = matcher(['dir', '!dir/keep', 'other'], 'patternmatcher');
    assert.ok(m.mayReincludeUnder('dir'));
    assert.ok(!m.mayReincludeUnder('other'));
    assert.ok(!m.mayReincludeUnder('di'));
    assert.ok(matcher(['a/b', '!a/b/c/d'], 'patternmatcher').mayReincludeUnder('a/b/c'));
    assert.ok(!matcher(['dir', '!**/keep'], 'patternmatcher').mayReincludeUnder('dir'));
    assert.ok(matcher(['a', '!a'], 'patternmatcher').mayReincludeUnder('a'));
    assert.ok(!matcher(['dir'], 'patternmatcher').mayReincludeUnder('dir'));
  });

  it('withExceptions appends CLI-style exceptions', () => {
    const m = matcher(['*'], 'patternmatcher').withExceptions(['Dockerfile', '.dockerignore']);
    assert.ok(!m.isExcluded('Dockerfile'));
    assert.ok(!m.isExcluded('.dockerignore'));
    assert.ok(m.isExcluded('src'));
  });

  it('an empty matcher excludes nothing', () => {
    const m = new IgnoreMatcher([]);
    assert.ok(m.isEmpty);
    assert.ok(!m.isExcluded('a/b'));
    assert.ok(!m.mayReincludeUnder('a'));
  });
});

describe('context/dockerignore: findDockerignore', function () {
  this.timeout(60_000);
  let dir = '';
  beforeEach(() => {
    dir = tmpDir('layerlens-ignore-');
    fs.mkdirSync(path.join(dir, 'docker'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('null when there is none', async () => {
    assert.strictEqual(await findDockerignore(dir, path.join(dir, 'Dockerfile')), null);
  });

  it('<Dockerfile>.dockerignore next to the Dockerfile wins over <context>/.dockerignore (BuildKit)', async () => {
    fs.writeFileSync(path.join(dir, '.dockerignore'), 'a');
    fs.writeFileSync(path.join(dir, 'docker', 'app.Dockerfile.dockerignore'), 'b');
    const df = path.join(dir, 'docker', 'app.Dockerfile');
    assert.deepStrictEqual(await findDockerignore(dir, df), { path: df + '.dockerignore', kind: 'dockerfile' });
    assert.deepStrictEqual(await findDockerignore(dir, 'docker/app.Dockerfile'), { path: df + '.dockerignore', kind: 'dockerfile' });
    // The classic builder's CLI reads only the context's file.
    assert.deepStrictEqual(await findDockerignore(dir, df, { builder: 'classic' }), { path: path.join(dir, '.dockerignore'), kind: 'context' });
    assert.deepStrictEqual(await findDockerignore(dir, path.join(dir, 'Dockerfile')), { path: path.join(dir, '.dockerignore'), kind: 'context' });
  });

  it('a directory named .dockerignore is not an ignore file', async () => {
    fs.mkdirSync(path.join(dir, '.dockerignore'));
    assert.strictEqual(await findDockerignore(dir, null), null);
  });
});

describe('context/goPath: Go path semantics', function () {
  this.timeout(60_000);
  it('goClean', () => {
    const cases: Array<[string, string]> = [
      ['', '.'],
      ['.', '.'],
      ['a//b', 'a/b'],
      ['a/./b/', 'a/b'],
      ['/../a', '/a'],
      ['../a', '../a'],
      ['a/../..', '..'],
      ['/', '/'],
      ['a/b/../../../c', '../c'],
      ['//x//', '/x'],
    ];
    for (const [i, o] of cases) assert.strictEqual(goClean(i), o, i);
  });

  it('goTrimSpace trims Go whitespace, not the BOM', () => {
    assert.strictEqual(goTrimSpace('\u0085 x \u00a0'), 'x');
    assert.strictEqual(goTrimSpace('\ufeffx'), '\ufeffx');
  });

  it('compareGo orders by UTF-8 bytes, compareWalkOrder puts children before siblings with larger names', () => {
    assert.ok(compareGo('\uffff', '😀') < 0);
    assert.ok('\uffff' > '😀'); // JS code-unit order disagrees
    const paths = ['a-b', 'a/x', 'a', 'B', 'b', 'a/x/y', 'a.c'];
    assert.deepStrictEqual(paths.sort(compareWalkOrder), ['B', 'a', 'a/x', 'a/x/y', 'a-b', 'a.c', 'b']);
  });

  it('containsWildcards honours backslash escapes', () => {
    assert.ok(containsWildcards('*.go'));
    assert.ok(containsWildcards('a[b]'));
    assert.ok(containsWildcards('a?'));
    assert.ok(!containsWildcards('a\\*b'));
    assert.ok(!containsWildcards('plain/path'));
  });

  // Go's path/filepath Match test vectors (Unix).
  const BAD = 'bad';
  const vectors: Array<[string, string, boolean | typeof BAD]> = [
    ['abc', 'abc', true],
    ['*', 'abc', true],
    ['*c', 'abc', true],
    ['a*', 'a', true],
    ['a*', 'abc', true],
    ['a*', 'ab/c', false],
    ['a*/b', 'abc/b', true],
    ['a*/b', 'a/c/b', false],
    ['a*b*c*d*e*/f', 'axbxcxdxe/f', true],
    ['a*b*c*d*e*/f', 'axbxcxdxexxx/f', true],
    ['a*b*c*d*e*/f', 'axbxcxdxe/xxx/f', false],
    ['a*b*c*d*e*/f', 'axbxcxdxexxx/fff', false],
    ['a*b?c*x', 'abxbbxdbxebxczzx', true],
    ['a*b?c*x', 'abxbbxdbxebxczzy', false],
    ['ab[c]', 'abc', true],
    ['ab[b-d]', 'abc', true],
    ['ab[e-g]', 'abc', false],
    ['ab[^c]', 'abc', false],
    ['ab[^b-d]', 'abc', false],
    ['ab[^e-g]', 'abc', true],
    ['a\\*b', 'a*b', true],
    ['a\\*b', 'ab', false],
    ['a?b', 'a☺b', true],
    ['a[^a]b', 'a☺b', true],
    ['a???b', 'a☺b', false],
    ['a[^a][^a][^a]b', 'a☺b', false],
    ['[a-ζ]*', 'α', true],
    ['*[a-ζ]', 'A', false],
    ['a?b', 'a/b', false],
    ['a*b', 'a/b', false],
    ['[\\]a]', ']', true],
    ['[\\-]', '-', true],
    ['[x\\-]', 'x', true],
    ['[x\\-]', '-', true],
    ['[x\\-]', 'z', false],
    ['[\\-x]', 'x', true],
    ['[\\-x]', '-', true],
    ['[\\-x]', 'a', false],
    ['[]a]', ']', BAD],
    ['[-]', '-', BAD],
    ['[x-]', 'x', BAD],
    ['[x-]', '-', BAD],
    ['[x-]', 'z', BAD],
    ['[-x]', 'x', BAD],
    ['[-x]', '-', BAD],
    ['[-x]', 'a', BAD],
    ['\\', 'a', BAD],
    ['[a-b-c]', 'a', BAD],
    ['[', 'a', BAD],
    ['[^', 'a', BAD],
    ['[^bc', 'a', BAD],
    ['a[', 'a', BAD],
    ['a[', 'ab', BAD],
    ['a[', 'x', BAD],
    ['a/b[', 'x', BAD],
    ['*x', 'xxx', true],
  ];
  for (const [pattern, name, want] of vectors) {
    it(`goMatch(${JSON.stringify(pattern)}, ${JSON.stringify(name)}) → ${want}`, () => {
      if (want === BAD) assert.throws(() => goMatch(pattern, name), BadPatternError);
      else assert.strictEqual(goMatch(pattern, name), want);
    });
  }
});

describe('context/goRegex: RE2 → JS translation', function () {
  this.timeout(60_000);
  const cases: Array<[string, string, boolean]> = [
    ['^a[^/]*$', 'abc', true],
    ['^a[^/]*$', 'a/c', false],
    ['^(.*/)?b$', 'x/y/b', true],
    ['^a{2}$', 'aa', true],
    ['^a{$', 'a{', true],
    ['^a.b$', 'a\nb', false],
    ['^[[:digit:]]+$', '123', true],
    ['^\\s$', '\u00a0', false],
    ['^[]a]$', ']', true],
    ['^\\Qa.b\\E$', 'a.b', true],
    ['^\\x41$', 'A', true],
  ];
  for (const [re, s, want] of cases) {
    it(`${re} on ${JSON.stringify(s)} → ${want}`, () => assert.strictEqual(goRegexToJs(re).test(s), want));
  }
  it('rejects what Go rejects or we cannot model', () => {
    for (const re of ['a(b', 'a)b', '[a', '\\', '(?i)a', '\\pL', '[[:bogus:]]']) assert.throws(() => goRegexToJs(re), re);
  });
});
