// Walks each stage the way the builders do, tracking ARG/ENV scope, SHELL, WORKDIR, USER and the image config,
// and produces for every instruction what the cache keys are made of:
//  - the classic builder's probe config (`Cmd` plus the config fields its compare() checks), verified against
//    ContainerConfig of real classic builds (docker-build-cache.md §1);
//  - the BuildKit history line the instruction leaves (§2), used to line up image history with the Dockerfile.
// Pure: the base images' configs come in as data.

import type { ContainerConfigView } from '../docker/types';
import { flagValue, stageRef, type DockerfileModel, type ParsedInstruction } from './dockerfileModel';
import { processWord, processWords, type VarLookup } from './shellWords';

export const DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** The container-config fields the classic builder's cache compare() looks at (moby image/cache/compare.go). */
export interface ProbeConfig {
  readonly cmd: readonly string[];
  readonly env: readonly string[];
  readonly labels: Readonly<Record<string, string>>;
  readonly exposedPorts: readonly string[];
  readonly volumes: readonly string[];
  readonly user: string;
  readonly entrypoint: readonly string[] | null;
}

export interface CopySpec {
  /** Source arguments after variable expansion, in written order. */
  readonly sources: readonly string[];
  /** Destination as written (expanded): the classic key uses it verbatim. */
  readonly dest: string;
  /** Absolute destination directory or file path inside the image. */
  readonly destAbs: string;
  /** `--from` stage index, when it names an earlier stage. */
  readonly fromStage: number | null;
  /** `--from` naming an image (not a stage). */
  readonly fromImage: string | null;
  readonly chown: string | null;
  readonly chmod: string | null;
}

export interface BuildArgUse {
  readonly name: string;
  readonly value: string | null;
  /** Set by --build-arg rather than by the ARG default. */
  readonly overridden: boolean;
}

export interface EvaluatedStep {
  readonly inst: ParsedInstruction;
  readonly stageIndex: number;
  /** For FROM: the image reference after ARG expansion, or the stage it builds on. */
  readonly from?: { readonly ref: string; readonly stage: number | null };
  readonly copy?: CopySpec;
  /** Classic probe config; for COPY/ADD `cmd` holds `{{HASH}}` where the source hash goes. */
  readonly classic: ProbeConfig | null;
  /** Why the classic key could not be modelled (HEALTHCHECK, ONBUILD, heredocs…), when `classic` is null. */
  readonly classicUnmodelled?: string;
  /** The BuildKit history `CreatedBy` this step leaves, normalised (see normaliseHistory). */
  readonly buildkitHistory: string;
  /** Build args visible to a RUN (in declared order, with values). */
  readonly runArgs: readonly BuildArgUse[];
  readonly workdir: string;
  /** Env (K=V, ordered) in force after this step. */
  readonly env: readonly string[];
}

export interface EvaluatedStage {
  readonly index: number;
  readonly name: string | null;
  readonly steps: readonly EvaluatedStep[]; // steps[0] is FROM
}

export interface EvaluateInput {
  readonly model: DockerfileModel;
  readonly buildArgs: Readonly<Record<string, string>>;
  /** Config of a base image by reference, null when not known (daemon down, image absent, scratch). */
  readonly baseConfig: (ref: string) => ContainerConfigView | null;
}

export const HASH_PLACEHOLDER = '{{HASH}}';

/** Predefined build args Docker accepts without an ARG declaration (proxy settings). */
const BUILTIN_ARGS = new Set([
  'HTTP_PROXY',
  'http_proxy',
  'HTTPS_PROXY',
  'https_proxy',
  'FTP_PROXY',
  'ftp_proxy',
  'NO_PROXY',
  'no_proxy',
  'ALL_PROXY',
  'all_proxy',
]);

export interface GlobalScope {
  readonly values: ReadonlyMap<string, string | null>;
}

export function evaluateGlobalArgs(model: DockerfileModel, buildArgs: Readonly<Record<string, string>>): GlobalScope {
  const values = new Map<string, string | null>();
  const lookup: VarLookup = (n) => values.get(n) ?? undefined;
  for (const inst of model.globalArgs) {
    for (const [name, dflt] of argDeclarations(inst, lookup, model.escape)) {
      values.set(name, name in buildArgs ? buildArgs[name]! : dflt);
    }
  }
  return { values };
}

/** `ARG a=1 b` → [['a','1'],['b',null]], defaults expanded. */
function argDeclarations(inst: ParsedInstruction, lookup: VarLookup, escape: string): [string, string | null][] {
  const out: [string, string | null][] = [];
  for (const word of splitRawWords(inst.args)) {
    const eq = word.indexOf('=');
    if (eq < 0) out.push([word, null]);
    else out.push([word.slice(0, eq), processWord(word.slice(eq + 1), lookup, escape)]);
  }
  return out;
}

/** Whitespace split that keeps quoted sections together (raw: quotes kept for later processing). */
export function splitRawWords(s: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quote: string | null = null;
  for (let i = 0; i < s.length; i++) {
    const ch = s[i]!;
    if (quote) {
      cur += ch;
      if (ch === quote) quote = null;
      else if (ch === '\\' && quote === '"' && i + 1 < s.length) cur += s[++i];
      continue;
    }
    if (ch === '"' || ch === "'") {
      quote = ch;
      cur += ch;
      continue;
    }
    if (ch === '\\' && i + 1 < s.length) {
      cur += ch + s[++i];
      continue;
    }
    if (/\s/.test(ch)) {
      if (cur !== '') out.push(cur);
      cur = '';
      continue;
    }
    cur += ch;
  }
  if (cur !== '') out.push(cur);
  return out;
}

/** `ENV a=1 b="x y"` or legacy `ENV a 1 2` → ordered pairs with values expanded. */
function keyValuePairs(inst: ParsedInstruction, lookup: VarLookup, escape: string): [string, string][] {
  const words = splitRawWords(inst.args);
  if (words.length > 0 && !words[0]!.includes('=')) {
    // Legacy `ENV key value with spaces`: everything after the first word is the value.
    const key = words[0]!;
    const rest = inst.args.slice(inst.args.indexOf(key) + key.length).trim();
    return [[key, processWord(rest, lookup, escape)]];
  }
  return words.map((w) => {
    const eq = w.indexOf('=');
    const key = processWord(w.slice(0, eq), lookup, escape);
    return [key, processWord(w.slice(eq + 1), lookup, escape)];
  });
}

function goSlice(items: readonly string[]): string {
  return `[${items.join(' ')}]`;
}

function goQuoteSlice(items: readonly string[]): string {
  return `[${items.map((s) => JSON.stringify(s)).join(' ')}]`;
}

export function normalisePath(p: string): string {
  const parts: string[] = [];
  for (const seg of p.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') parts.pop();
    else parts.push(seg);
  }
  return '/' + parts.join('/');
}

function resolveWorkdir(current: string, next: string): string {
  return normalisePath(next.startsWith('/') ? next : `${current}/${next}`);
}

function envLookup(env: readonly string[], key: string): string | undefined {
  for (let i = env.length - 1; i >= 0; i--) {
    const e = env[i]!;
    const eq = e.indexOf('=');
    if ((eq < 0 ? e : e.slice(0, eq)) === key) return eq < 0 ? '' : e.slice(eq + 1);
  }
  return undefined;
}

function setEnv(env: string[], key: string, value: string): void {
  const i = env.findIndex((e) => e.split('=', 1)[0] === key);
  if (i >= 0) env[i] = `${key}=${value}`;
  else env.push(`${key}=${value}`);
}

export function evaluateStages(input: EvaluateInput): EvaluatedStage[] {
  const { model, buildArgs } = input;
  const escape = model.escape;
  const globals = evaluateGlobalArgs(model, buildArgs);
  const globalLookup: VarLookup = (n) => globals.values.get(n) ?? undefined;
  const stages: EvaluatedStage[] = [];
  const finalConfigs: MutableState[] = [];

  for (const stage of model.stages) {
    const fromInst = stage.from;
    const baseWord = fromInst.args.split(/\s+/)[0] ?? '';
    const ref = processWord(baseWord, globalLookup, escape);
    const fromStage = stageRef(model, ref, stage.index);
    const state: MutableState =
      fromStage !== null && finalConfigs[fromStage]
        ? cloneState(finalConfigs[fromStage]!)
        : initialState(ref.toLowerCase() === 'scratch' ? null : input.baseConfig(ref));
    const steps: EvaluatedStep[] = [
      {
        inst: fromInst,
        stageIndex: stage.index,
        from: { ref, stage: fromStage },
        classic: null,
        buildkitHistory: '',
        runArgs: [],
        workdir: state.workdir,
        env: [...state.env],
      },
    ];
    // Per-stage ARG scope: declared names with their values.
    const args: { name: string; value: string | null; overridden: boolean }[] = [];
    const lookup: VarLookup = (n) => {
      const fromEnv = envLookup(state.env, n);
      if (fromEnv !== undefined) return fromEnv;
      const a = args.find((x) => x.name === n);
      return a ? (a.value ?? undefined) : undefined;
    };
    const shellWord = (w: string): string => processWord(w, lookup, escape);

    for (const inst of stage.body) {
      let unmodelled: string | undefined;
      let copy: CopySpec | undefined;
      let cmd: string[];
      let history: string;
      let runArgs: BuildArgUse[] = [];
      let entrypointForProbe: readonly string[] | null = state.entrypoint;
      const nop = (text: string): string[] => [...state.shell, '#(nop) ', text];

      switch (inst.keyword) {
        case 'ARG': {
          const declared = argDeclarations(inst, lookup, escape);
          for (const [name, dflt] of declared) {
            const overridden = name in buildArgs;
            const globalValue = globals.values.get(name);
            const value = overridden ? buildArgs[name]! : (dflt ?? globalValue ?? null);
            const existing = args.findIndex((a) => a.name === name);
            const entry = { name, value, overridden };
            if (existing >= 0) args[existing] = entry;
            else args.push(entry);
          }
          const text = `ARG ${declared
            .map(([n, d]) => (d === null ? n : `${n}=${d}`))
            .join(' ')}`;
          cmd = nop(text);
          history = text;
          break;
        }
        case 'ENV': {
          const pairs = keyValuePairs(inst, lookup, escape);
          for (const [k, v] of pairs) setEnv(state.env, k, v);
          const text = `ENV ${pairs.map(([k, v]) => `${k}=${v}`).join(' ')}`;
          cmd = nop(text);
          history = text;
          break;
        }
        case 'LABEL': {
          const pairs = keyValuePairs(inst, lookup, escape);
          for (const [k, v] of pairs) state.labels[k] = v;
          const text = `LABEL ${pairs.map(([k, v]) => `${k}=${v}`).join(' ')}`;
          cmd = nop(text);
          history = text;
          break;
        }
        case 'MAINTAINER': {
          const text = `MAINTAINER ${inst.args}`;
          cmd = nop(text);
          history = text;
          break;
        }
        case 'WORKDIR': {
          state.workdir = resolveWorkdir(state.workdir, shellWord(inst.args));
          cmd = [...state.shell, `#(nop) WORKDIR ${state.workdir}`];
          history = `WORKDIR ${state.workdir}`;
          break;
        }
        case 'USER': {
          state.user = shellWord(inst.args);
          cmd = nop(`USER ${state.user}`);
          history = `USER ${state.user}`;
          break;
        }
        case 'EXPOSE': {
          const ports = processWords(inst.args, lookup, escape);
          for (const p of ports) {
            const key = p.includes('/') ? p : `${p}/tcp`;
            if (!state.exposedPorts.includes(key)) state.exposedPorts.push(key);
          }
          cmd = nop(`EXPOSE ${ports.join(' ')}`);
          history = `EXPOSE map[${[...state.exposedPorts].sort().map((p) => `${p}:{}`).join(' ')}]`;
          break;
        }
        case 'VOLUME': {
          const vols = inst.json ?? processWords(inst.args, lookup, escape);
          for (const v of vols) if (!state.volumes.includes(v)) state.volumes.push(v);
          cmd = nop(`VOLUME ${goSlice(vols)}`);
          history = `VOLUME ${goSlice(vols)}`;
          break;
        }
        case 'STOPSIGNAL': {
          const sig = shellWord(inst.args);
          cmd = nop(`STOPSIGNAL ${sig}`);
          history = `STOPSIGNAL ${sig}`;
          break;
        }
        case 'SHELL': {
          state.shell = inst.json ? [...inst.json] : state.shell;
          cmd = nop(`SHELL ${goSlice(state.shell)}`);
          history = `SHELL ${goSlice(state.shell)}`;
          break;
        }
        case 'CMD':
        case 'ENTRYPOINT': {
          const value = inst.json ? [...inst.json] : [...state.shell, inst.args];
          if (inst.keyword === 'ENTRYPOINT') {
            state.entrypoint = value;
            entrypointForProbe = value;
          }
          const text = `${inst.keyword} ${goQuoteSlice(value)}`;
          cmd = nop(text);
          history = text;
          break;
        }
        case 'RUN': {
          runArgs = args.map((a) => ({ ...a }));
          const body = inst.json ? [...inst.json] : [...state.shell, inst.args];
          // Classic: declared args with a value, not shadowed by ENV, sorted (moby buildargs FilterAllowed).
          const classicArgs = args
            .filter((a) => a.value !== null && envLookup(state.env, a.name) === undefined)
            .map((a) => `${a.name}=${a.value}`);
          for (const [k, v] of Object.entries(buildArgs)) {
            if (BUILTIN_ARGS.has(k) && envLookup(state.env, k) === undefined) classicArgs.push(`${k}=${v}`);
          }
          classicArgs.sort();
          cmd = classicArgs.length > 0 ? [`|${classicArgs.length}`, ...classicArgs, ...body] : body;
          entrypointForProbe = null;
          // BuildKit: all declared args in declared order, the ENV value winning (dockerfile2llb runCommandString).
          const bkArgs = args.map((a) => `${a.name}=${envLookup(state.env, a.name) ?? a.value ?? ''}`);
          history = `RUN ${[...(bkArgs.length > 0 ? [`|${bkArgs.length}`, ...bkArgs] : []), ...body].join(' ')}`;
          if (inst.hasHeredoc) unmodelled = 'RUN with a heredoc';
          break;
        }
        case 'COPY':
        case 'ADD': {
          const words = inst.json ? inst.json.map((w) => processWord(w, lookup, escape)) : processWords(inst.args, lookup, escape);
          const dest = words[words.length - 1] ?? '';
          const sources = words.slice(0, -1);
          const fromFlag = flagValue(inst, 'from');
          const fromStageIdx = fromFlag !== null ? stageRef(model, processWord(fromFlag, lookup, escape), stage.index) : null;
          const chown = flagValue(inst, 'chown');
          const destAbs = dest.startsWith('/') ? normalisePath(dest) : resolveWorkdir(state.workdir, dest);
          copy = {
            sources,
            dest,
            destAbs: dest.endsWith('/') && destAbs !== '/' ? destAbs + '/' : destAbs,
            fromStage: fromStageIdx,
            fromImage: fromFlag !== null && fromStageIdx === null ? fromFlag : null,
            chown: chown === null ? null : processWord(chown, lookup, escape),
            chmod: flagValue(inst, 'chmod'),
          };
          const chownPart = copy.chown !== null ? `--chown=${copy.chown}` : '';
          cmd = [...state.shell, `#(nop) ${inst.keyword} ${chownPart}${HASH_PLACEHOLDER} in ${dest} `];
          history = `${inst.keyword} ${[...sources, dest].join(' ')}`;
          if (inst.hasHeredoc) unmodelled = `${inst.keyword} with a heredoc`;
          if (copy.chmod !== null) unmodelled = `${inst.keyword} --chmod (needs BuildKit)`;
          break;
        }
        case 'HEALTHCHECK':
        case 'ONBUILD':
        default: {
          cmd = nop(`${inst.keyword} ${inst.args}`);
          history = `${inst.keyword} ${inst.args}`;
          unmodelled = `${inst.keyword} (its classic cache key is not modelled)`;
          break;
        }
      }

      const classic: ProbeConfig = {
        cmd,
        env: [...state.env],
        labels: { ...state.labels },
        exposedPorts: [...state.exposedPorts],
        volumes: [...state.volumes],
        user: state.user,
        entrypoint: entrypointForProbe,
      };
      steps.push({
        inst,
        stageIndex: stage.index,
        ...(copy ? { copy } : {}),
        classic: unmodelled ? null : classic,
        ...(unmodelled ? { classicUnmodelled: unmodelled } : {}),
        buildkitHistory: normaliseHistory(history),
        runArgs,
        workdir: state.workdir,
        env: [...state.env],
      });
    }
    finalConfigs[stage.index] = state;
    stages.push({ index: stage.index, name: stage.name, steps });
  }
  return stages;
}

interface MutableState {
  env: string[];
  labels: Record<string, string>;
  exposedPorts: string[];
  volumes: string[];
  user: string;
  entrypoint: string[] | null;
  shell: string[];
  workdir: string;
}

function initialState(base: ContainerConfigView | null): MutableState {
  const env = [...(base?.env ?? [])];
  // The classic builder adds a default PATH when the base image has none (dispatchers.go): without it nothing
  // matches on a minimal base image.
  if (envLookup(env, 'PATH') === undefined) env.push(DEFAULT_PATH);
  return {
    env,
    labels: { ...(base?.labels ?? {}) },
    exposedPorts: [...(base?.exposedPorts ?? [])],
    volumes: [...(base?.volumes ?? [])],
    user: base?.user ?? '',
    entrypoint: base?.entrypoint ? [...base.entrypoint] : null,
    shell: ['/bin/sh', '-c'],
    workdir: base?.workingDir || '/',
  };
}

function cloneState(s: MutableState): MutableState {
  return {
    env: [...s.env],
    labels: { ...s.labels },
    exposedPorts: [...s.exposedPorts],
    volumes: [...s.volumes],
    user: s.user,
    entrypoint: s.entrypoint ? [...s.entrypoint] : null,
    shell: [...s.shell],
    workdir: s.workdir,
  };
}

/**
 * One normal form for history lines from either builder, so that lines up with our own: drops `/bin/sh -c #(nop) `,
 * the ` # buildkit` suffix, flags BuildKit leaves out (`--from`, `--chown`, `--chmod`, `--mount`, `--network`,
 * `--security`), and folds whitespace. RUN keeps its `|N K=V` prefix and shell: those are part of the key.
 */
export function normaliseHistory(createdBy: string): string {
  let s = createdBy.trim();
  s = s.replace(/ # buildkit$/, '');
  const nopMatch = /^(?:\S+ )*?-c #\(nop\) {1,2}(.*)$/s.exec(s);
  if (nopMatch) s = nopMatch[1]!;
  s = s.replace(/^(COPY|ADD)( --(from|chown|chmod|link)=\S+)+/, '$1');
  s = s.replace(/^RUN( --(mount|network|security)=\S+)+/, 'RUN');
  // RUN keeps its inner whitespace: Docker keeps it in the command, so it is part of the cache key.
  return s.startsWith('RUN ') ? s.trim() : s.replace(/\s+/g, ' ').trim();
}
