// Command-line parsing for `layerlens`, kept apart from running so that it is unit-testable.
// Bad input is a UsageError: the CLI prints its one-line message and exits 2.

import type { TarModeVariant } from './context/types';
import type { Builder } from './engine/report';

export class UsageError extends Error {}

export interface AnalyzeCommand {
  readonly command: 'analyze';
  readonly dockerfile: string;
  readonly context: string | null;
  readonly target: string | null;
  readonly buildArgs: Readonly<Record<string, string>>;
  readonly builder: Builder;
  readonly json: boolean;
  readonly color: boolean | null;
}

export interface HelpCommand {
  readonly command: 'help';
}

/** `layerlens lsp --stdio`: the language server; vscode-languageserver reads the transport flag from argv. */
export interface LspCommand {
  readonly command: 'lsp';
}

/** `layerlens layers IMAGE`: the image's layers, files and waste, like `docker history` + dive's CI mode. */
export interface LayersCommand {
  readonly command: 'layers';
  readonly image: string;
  readonly json: boolean;
  readonly color: boolean | null;
  /** Fail (exit 1) when dive's efficiency score is below this (0..1). */
  readonly minEfficiency: number | null;
  /** Fail (exit 1) when the removable bytes exceed this. */
  readonly maxWastedBytes: number | null;
  /** Offenders listed (default 10). */
  readonly top: number;
}


/** `layerlens build`: a real build, then per step predicted vs actual. */
export interface BuildCommand extends Omit<AnalyzeCommand, 'command'> {
  readonly command: 'build';
  readonly tag: string;
  /** `--network`; '' = the daemon's default. */
  readonly network: string;
  /** Tar header mode field like docker CLI ≥ 24 ('perm', default) or ≤ 23 ('full'); the classic cache keys on it. */
  readonly tarMode: TarModeVariant;
}

export type Command = AnalyzeCommand | BuildCommand | HelpCommand | LspCommand | LayersCommand;

const LSP_TRANSPORTS = /^--(stdio|node-ipc|socket(=\d+)?|pipe(=.+)?|clientProcessId(=\d+)?)$/;

export const USAGE = `Usage:
  layerlens analyze [DOCKERFILE] [--context DIR] [--target STAGE] [--build-arg K=V]...
                    [--builder buildkit|classic] [--json] [--no-color]
  layerlens build [DOCKERFILE] -t TAG [--context DIR] [--target STAGE] [--build-arg K=V]...
                  [--builder buildkit|classic] [--network MODE] [--tar-mode perm|full] [--json]
                             builds through the Docker Engine API, showing per step what Layer Lens predicted
                             and what the builder did (exit 1 when the build fails)
  layerlens layers IMAGE [--json] [--min-efficiency X] [--max-wasted-bytes N] [--top N] [--no-color]
                    the image's layers (like docker history), dive's efficiency and the bytes later layers
                    hid; exits 1 when a threshold fails (X in 0..1; N in bytes, or with kB/MB/GB/KiB/MiB/GiB)
  layerlens lsp --stdio      the language server, for any LSP client (Neovim, Helix, Emacs …)

Predicts, for every instruction, the layer size and whether the next build hits the cache.
Defaults: ./Dockerfile; context = the Dockerfile's folder; builder buildkit unless DOCKER_BUILDKIT=0.
Exit status: 0 on success (analyze: also when the daemon is unreachable), 1 when a build fails or a layers
threshold fails, 2 on bad input (layers: also an unknown image or an unreachable daemon).`;

export function parseArgs(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): Command {
  if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') return { command: 'help' };
  const [command, ...rest] = argv;
  if (command === 'lsp') return parseLsp(rest);
  if (command === 'layers') return parseLayers(rest);
  if (command !== 'analyze' && command !== 'build') throw new UsageError(`unknown command "${command}" (try: layerlens --help)`);
  const isBuild = command === 'build';
  let tag: string | null = null;
  let network = '';
  let tarMode: TarModeVariant = 'perm';
  let dockerfile: string | null = null;
  let context: string | null = null;
  let target: string | null = null;
  let builder: Builder = env['DOCKER_BUILDKIT'] === '0' ? 'classic' : 'buildkit';
  let json = false;
  let color: boolean | null = null;
  const buildArgs: Record<string, string> = {};
  for (const { arg, flag, value } of options(rest)) {
    switch (flag) {
      case '--help':
      case '-h':
        return { command: 'help' };
      case '--context':
        context = value();
        break;
      case '--target':
        target = value();
        break;
      case '--build-arg': {
        const kv = value();
        const eq = kv.indexOf('=');
        if (eq <= 0) throw new UsageError(`malformed --build-arg "${kv}": expected KEY=VALUE`);
        buildArgs[kv.slice(0, eq)] = kv.slice(eq + 1);
        break;
      }
      case '--builder': {
        const b = value();
        if (b !== 'buildkit' && b !== 'classic') throw new UsageError(`--builder must be buildkit or classic, not "${b}"`);
        builder = b;
        break;
      }
      case '--json':
        json = true;
        break;
      case '-t':
      case '--tag':
        if (!isBuild) throw new UsageError(`${flag} is an option of layerlens build`);
        tag = value();
        break;
      case '--network':
        if (!isBuild) throw new UsageError(`${flag} is an option of layerlens build`);
        network = value();
        break;
      case '--tar-mode': {
        if (!isBuild) throw new UsageError(`${flag} is an option of layerlens build`);
        const m = value();
        if (m !== 'perm' && m !== 'full' && m !== 'windows') throw new UsageError(`--tar-mode must be perm, full or windows, not "${m}"`);
        tarMode = m;
        break;
      }
      case '--no-color':
        color = false;
        break;
      case '--color':
        color = true;
        break;
      default:
        if (arg.startsWith('-')) throw new UsageError(`unknown option ${arg}`);
        if (dockerfile !== null) throw new UsageError(`unexpected argument "${arg}" (one Dockerfile at a time)`);
        dockerfile = arg;
    }
  }
  const common = { dockerfile: dockerfile ?? 'Dockerfile', context, target, buildArgs, builder, json, color };
  if (!isBuild) return { command: 'analyze', ...common };
  if (tag === null || tag.trim() === '') throw new UsageError('build needs a tag: -t NAME[:TAG]');
  return { command: 'build', ...common, tag: tag.trim(), network, tarMode };
}

/** Walks the words: each with its flag name and a reader for the flag's value (`--f=v` or the next word). */
function* options(rest: readonly string[]): Generator<{ arg: string; flag: string; value: () => string }> {
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i]!;
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const flag = eq > 0 ? arg.slice(0, eq) : arg;
    const inline = eq > 0 ? arg.slice(eq + 1) : undefined;
    yield {
      arg,
      flag,
      value: () => {
        if (inline !== undefined) return inline;
        const v = rest[++i];
        if (v === undefined) throw new UsageError(`${flag} needs a value`);
        return v;
      },
    };
  }
}

function parseLayers(rest: readonly string[]): LayersCommand {
  let image: string | null = null;
  let json = false;
  let color: boolean | null = null;
  let minEfficiency: number | null = null;
  let maxWastedBytes: number | null = null;
  let top = 10;
  for (const { arg, flag, value } of options(rest)) {
    switch (flag) {
      case '--json':
        json = true;
        break;
      case '--no-color':
        color = false;
        break;
      case '--color':
        color = true;
        break;
      case '--min-efficiency': {
        const v = value();
        const n = /^\d+(\.\d+)?$|^\.\d+$/.test(v) ? Number(v) : NaN;
        if (!(n >= 0 && n <= 1)) throw new UsageError(`--min-efficiency must be a number from 0 to 1, not "${v}"`);
        minEfficiency = n;
        break;
      }
      case '--max-wasted-bytes':
        maxWastedBytes = parseByteCount(value(), flag);
        break;
      case '--top': {
        const v = value();
        if (!/^\d+$/.test(v) || Number(v) > 1000) throw new UsageError(`--top must be a whole number up to 1000, not "${v}"`);
        top = Number(v);
        break;
      }
      default:
        if (arg.startsWith('-')) throw new UsageError(`unknown option ${arg} for layers`);
        if (image !== null) throw new UsageError(`unexpected argument "${arg}" (one image at a time)`);
        image = arg;
    }
  }
  if (image === null) throw new UsageError('layers needs an image: layerlens layers IMAGE (a name:tag or an ID)');
  return { command: 'layers', image, json, color, minEfficiency, maxWastedBytes, top };
}

const BYTE_UNITS: Readonly<Record<string, number>> = {
  '': 1, b: 1, kb: 1e3, mb: 1e6, gb: 1e9, tb: 1e12, k: 1024, kib: 1024, m: 1024 ** 2, mib: 1024 ** 2, g: 1024 ** 3, gib: 1024 ** 3, tib: 1024 ** 4,
};

/** `1048576`, `512kB`, `1.5 GiB`… (k/m/g alone are binary, like docker's sizes). */
export function parseByteCount(v: string, flag: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(v);
  const unit = m ? BYTE_UNITS[m[2]!.toLowerCase()] : undefined;
  if (!m || unit === undefined) throw new UsageError(`${flag} must be a byte count like 1000000, 20MB or 1.5GiB, not "${v}"`);
  const n = Math.round(Number(m[1]) * unit);
  if (!Number.isSafeInteger(n)) throw new UsageError(`${flag} is too large: "${v}"`);
  return n;
}

function parseLsp(rest: readonly string[]): LspCommand {
  if (rest.includes('--help') || rest.includes('-h')) throw new UsageError('usage: layerlens lsp --stdio (or --node-ipc, --socket=PORT, --pipe=NAME)');
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i]!;
    // `--socket N` / `--pipe NAME` / `--clientProcessId N` take their value as the next word.
    if (/^--(socket|pipe|clientProcessId)$/.test(a) && rest[i + 1] !== undefined) i++;
    else if (!LSP_TRANSPORTS.test(a)) throw new UsageError(`unknown option ${a} for lsp (expected --stdio, --node-ipc, --socket=PORT or --pipe=NAME)`);
  }
  if (!rest.some((a) => /^--(stdio|node-ipc|socket|pipe)/.test(a))) throw new UsageError('lsp needs a transport: --stdio, --node-ipc, --socket=PORT or --pipe=NAME');
  return { command: 'lsp' };
}
