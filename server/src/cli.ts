// `layerlens` from a terminal: the same engine the language server runs.
// stdout carries only the result (text or exactly one JSON object); messages go to stderr.

import { AnalyzeError, Analyzer } from './analyze';
import { parseArgs, USAGE, UsageError, type BuildCommand, type LayersCommand } from './cliArgs';
import { runBuild } from './build/runBuild';
import { renderBuildResult, renderLiveStep } from './renderBuild';
import { randomUUID } from 'crypto';
import * as path from 'path';
import { promises as fs } from 'fs';
import { renderText } from './renderText';
import type { WalkProgress } from './context/contextIndex';

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
  if (cmd.command === 'layers') return runLayers(cmd, env);
  const progress = walkProgressLine(process.stderr);
  const analyzer = new Analyzer({ env, ...(progress ? { onContextWalk: progress } : {}) });
  if (cmd.command === 'build') {
    try {
      return await build(analyzer, cmd, env);
    } finally {
      await analyzer.dispose();
    }
  }
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

/**
 * On a terminal, a walk of the build context that lasts more than a moment shows one line on stderr, rewritten in
 * place with the entries found so far and erased when the walk ends. Nothing when stderr is a file or a pipe (CI
 * logs, `2>err.txt`): those keep only the messages that matter.
 */
export function walkProgressLine(stderr: NodeJS.WriteStream): ((p: WalkProgress) => void) | null {
  if (stderr.isTTY !== true) return null;
  return (p) => {
    if (p.done) stderr.write('\r\x1b[K');
    else stderr.write(`\r\x1b[Klayerlens: reading the build context: ${p.entries.toLocaleString('en-US')} entries (${(p.elapsedMs / 1000).toFixed(1)} s)`);
  };
}

const MAX_PROBLEM_LINES = 10;

/** Unreadable context entries as warnings on stderr (names JSON-quoted: they may hold newlines or escapes). */
export function problemLines(problems: readonly { readonly rel: string; readonly message: string }[]): string {
  const shown = problems.slice(0, MAX_PROBLEM_LINES).map((p) => `layerlens: warning: ${JSON.stringify(p.rel === '' ? '.' : p.rel)}: ${p.message}\n`);
  const more = problems.length > MAX_PROBLEM_LINES ? [`layerlens: warning: ${problems.length - MAX_PROBLEM_LINES} more context entries could not be read\n`] : [];
  return [...shown, ...more].join('');
}

/** `layerlens layers`: 0 = shown (thresholds hold), 1 = a threshold failed, 2 = the image could not be read. */
async function runLayers(cmd: LayersCommand, env: NodeJS.ProcessEnv): Promise<number> {
  // Loaded here: `analyze` does not pay for the explorer.
  const { DaemonClient, closeAllConnections, defaultCacheRoot } = await import('./docker/index.js');
  const { EXPLORER_TIMEOUT_MS, ExplorerService } = await import('./explorer/service.js');
  const { renderLayers, thresholdFailures } = await import('./renderLayers.js');
  const client = DaemonClient.fromEnvironment({ env, timeoutMs: EXPLORER_TIMEOUT_MS });
  const service = new ExplorerService({ client, cacheDir: defaultCacheRoot(env) });
  try {
    const opened = await service.open(cmd.image, null);
    if (opened.error || !opened.image) {
      process.stderr.write(`layerlens: ${opened.error?.message ?? 'cannot open the image'}\n`);
      return 2;
    }
    const image = opened.image;
    await service.files(image.id);
    const w = await service.waste(image.id, cmd.top);
    if (w.error || w.state !== 'ready') {
      process.stderr.write(`layerlens: cannot read the layers of ${cmd.image}: ${w.error?.message ?? 'the export did not finish'}\n`);
      return 2;
    }
    const thresholds = { minEfficiency: cmd.minEfficiency, maxWastedBytes: cmd.maxWastedBytes };
    const failures = thresholdFailures(w, thresholds);
    if (cmd.json) {
      const { state: _s, error: _e, ...waste } = w;
      process.stdout.write(JSON.stringify({ image, layers: opened.layers, waste, thresholds: { ...thresholds, passed: failures.length === 0, failures } }, null, 2) + '\n');
    } else {
      process.stdout.write(renderLayers(image, opened.layers, w, thresholds, cmd.color ?? (process.stdout.isTTY === true && !env['NO_COLOR'])));
    }
    return failures.length > 0 ? 1 : 0;
  } finally {
    service.dispose();
    closeAllConnections();
  }
}

/** `layerlens build`: live lines on a TTY (stderr), the result on stdout; Ctrl-C cancels the build in the daemon. */
async function build(analyzer: Analyzer, cmd: BuildCommand, env: NodeJS.ProcessEnv): Promise<number> {
  const dockerfile = path.resolve(cmd.dockerfile);
  const live = process.stderr.isTTY === true && !cmd.json;
  // The live lines quote the Dockerfile line itself (read once; a missing file is reported by runBuild).
  const lines = (await fs.readFile(dockerfile, 'utf8').catch(() => '')).split(/\r?\n/);
  const shown = new Set<number>();
  const abort = new AbortController();
  const onSigint = (): void => abort.abort();
  process.once('SIGINT', onSigint);
  try {
    const result = await runBuild(analyzer, {
      buildId: randomUUID(),
      dockerfile,
      contextDir: path.resolve(cmd.context ?? path.dirname(dockerfile)),
      tag: cmd.tag,
      builder: cmd.builder,
      buildArgs: cmd.buildArgs,
      target: cmd.target,
      network: cmd.network,
      tarMode: cmd.tarMode,
    }, {
      steps: (steps) => {
        for (const p of steps) {
          if (live && (p.state === 'cached' || p.state === 'built' || p.state === 'failed') && !shown.has(p.index)) {
            shown.add(p.index);
            process.stderr.write(renderLiveStep(p, (lines[p.line - 1] ?? '').trim().slice(0, 100)));
          }
        }
      },
      mismatch: (line) => process.stderr.write(`layerlens: ${line}\n`),
    }, abort.signal);
    if (cmd.json) process.stdout.write(JSON.stringify(result, null, 2) + '\n');
    else if (result.outcome !== 'invalid') process.stdout.write(renderBuildResult(result, cmd.color ?? (process.stdout.isTTY === true && !env['NO_COLOR'])));
    if (result.outcome === 'invalid') {
      if (!cmd.json) process.stderr.write(`layerlens: ${result.error?.message ?? 'invalid build request'}\n`);
      return 2;
    }
    return result.outcome === 'succeeded' ? 0 : 1;
  } finally {
    process.removeListener('SIGINT', onSigint);
  }
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
