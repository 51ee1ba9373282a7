// `layerlens` from a terminal: the same engine the language server runs.
// stdout carries only the result (text or exactly one JSON object); messages go to stderr.

import { AnalyzeError, Analyzer } from './analyze';
import { parseArgs, USAGE, UsageError } from './cliArgs';
import { renderText } from './renderText';

export async function main(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  let cmd;
  try {
    cmd = parseArgs(argv, env);
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`layerlens: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
  if (cmd.command === 'help') {
    process.stdout.write(USAGE + '\n');
    return 0;
  }
  if (cmd.command === 'lsp') {
    // Loaded only here: `analyze` never pays for the LSP libraries. The server owns the process from now on and
    // exits on the client's `exit` notification, so this promise never settles.
    (await import('./lsp/languageServer.js')).runServer();
    return new Promise<number>(() => undefined);
  }
  const analyzer = new Analyzer({ env });
  try {
    const { report, dockerfileText, contextProblems } = await analyzer.analyze({
      dockerfile: cmd.dockerfile,
      context: cmd.context,
      target: cmd.target,
      buildArgs: cmd.buildArgs,
      builder: cmd.builder,
    });
    process.stderr.write(problemLines(contextProblems));
    if (cmd.json) process.stdout.write(JSON.stringify(report, null, 2) + '\n');
    else process.stdout.write(renderText(report, dockerfileText, cmd.color ?? (process.stdout.isTTY === true && !env['NO_COLOR'])));
    return 0;
  } catch (e) {
    if (e instanceof AnalyzeError) {
      process.stderr.write(`layerlens: ${e.message}\n`);
      return 2;
    }
    throw e;
  } finally {
    await analyzer.dispose();
  }
}

const MAX_PROBLEM_LINES = 10;

/** Unreadable context entries as warnings on stderr (names JSON-quoted: they may hold newlines or escapes). */
export function problemLines(problems: readonly { readonly rel: string; readonly message: string }[]): string {
  const shown = problems.slice(0, MAX_PROBLEM_LINES).map((p) => `layerlens: warning: ${JSON.stringify(p.rel === '' ? '.' : p.rel)}: ${p.message}\n`);
  const more = problems.length > MAX_PROBLEM_LINES ? [`layerlens: warning: ${problems.length - MAX_PROBLEM_LINES} more context entries could not be read\n`] : [];
  return [...shown, ...more].join('');
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      process.stderr.write(`layerlens: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      process.exitCode = 1;
    },
  );
}
