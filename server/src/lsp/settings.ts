// `layerLens.*` settings: validated (they come from user JSON), and the decisions they drive — which build context a
// Dockerfile uses and which builder predictions are made for.

import * as path from 'path';
import type { Builder } from '../engine/report';
import { DEFAULT_SETTINGS, type BaseFeaturesSetting, type BuilderSetting, type DaemonStatusParams, type LayerLensSettings, type SeveritySetting } from '../protocol';

const SEVERITIES: readonly SeveritySetting[] = ['error', 'warning', 'information', 'hint', 'off'];

function obj(v: unknown): Record<string, unknown> | null {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
}

function stringMap(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(obj(v) ?? {})) {
    if (typeof x === 'string') out[k] = x;
    else if (typeof x === 'number' || typeof x === 'boolean') out[k] = String(x);
  }
  return out;
}

/** Anything malformed falls back to its default rather than failing the server. */
export function normaliseSettings(raw: unknown): LayerLensSettings {
  const o = obj(raw) ?? {};
  const str = (v: unknown, d: string): string => (typeof v === 'string' ? v.trim() : d);
  const builder = ['auto', 'buildkit', 'classic'].includes(o['builder'] as string) ? (o['builder'] as BuilderSetting) : DEFAULT_SETTINGS.builder;
  const hints = obj(o['inlayHints']);
  const sev: Record<string, SeveritySetting> = {};
  for (const [k, v] of Object.entries(obj(obj(o['diagnostics'])?.['severity']) ?? {})) {
    if (SEVERITIES.includes(v as SeveritySetting)) sev[k.toUpperCase()] = v as SeveritySetting;
  }
  return {
    dockerHost: str(o['dockerHost'], DEFAULT_SETTINGS.dockerHost),
    builder,
    buildArgs: stringMap(o['buildArgs']),
    target: str(o['target'], DEFAULT_SETTINGS.target),
    contextFolders: stringMap(o['contextFolders']),
    buildNetwork: str(o['buildNetwork'], DEFAULT_SETTINGS.buildNetwork),
    inlayHints: { enabled: typeof hints?.['enabled'] === 'boolean' ? (hints['enabled'] as boolean) : DEFAULT_SETTINGS.inlayHints.enabled },
    diagnostics: { severity: sev },
    baseLanguageFeatures: ['auto', 'on', 'off'].includes(o['baseLanguageFeatures'] as string) ? (o['baseLanguageFeatures'] as BaseFeaturesSetting) : DEFAULT_SETTINGS.baseLanguageFeatures,
  };
}

/** `**` any depth, `*` within a segment, `?` one character; everything else literal. */
export function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*' && glob[i + 1] === '*') {
      const slash = glob[i + 2] === '/';
      re += slash ? '(?:.*/)?' : '.*';
      i += slash ? 2 : 1;
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

const toSlash = (p: string): string => p.split(path.sep).join('/');

/**
 * The build context of a Dockerfile: the first `contextFolders` entry whose key (glob or path, relative to the
 * workspace folder holding the Dockerfile, or absolute) matches it; else the Dockerfile's own folder.
 */
export function contextFolderFor(settings: LayerLensSettings, dockerfile: string, workspaceFolders: readonly string[]): string {
  const folder = workspaceFolders
    .filter((f) => dockerfile === f || dockerfile.startsWith(f.endsWith(path.sep) ? f : f + path.sep))
    .sort((a, b) => b.length - a.length)[0];
  const base = folder ?? path.dirname(dockerfile);
  const rel = toSlash(path.relative(base, dockerfile));
  for (const [key, dir] of Object.entries(settings.contextFolders)) {
    const k = key.replace(/^\.\//, '');
    const matches = path.isAbsolute(k) ? globToRegExp(toSlash(k)).test(toSlash(dockerfile)) : globToRegExp(k).test(rel);
    if (matches && dir.trim() !== '') {
      const d = dir.replace(/^\$\{workspaceFolder\}/, base);
      return path.resolve(base, d);
    }
  }
  return path.dirname(dockerfile);
}

export interface BuilderChoice {
  readonly builder: Builder;
  readonly source: DaemonStatusParams['builderSource'];
}

/**
 * Which builder `docker build` would use: the setting when explicit; else DOCKER_BUILDKIT like the CLI; else the
 * daemon's major version (BuildKit is the default from Docker 23 on); BuildKit when the daemon is unknown.
 */
export function chooseBuilder(setting: BuilderSetting, env: Readonly<Record<string, string | undefined>>, daemonVersion: string | null): BuilderChoice {
  if (setting !== 'auto') return { builder: setting, source: 'setting' };
  const flag = env['DOCKER_BUILDKIT'];
  if (flag !== undefined && flag !== '') return { builder: flag === '0' || flag.toLowerCase() === 'false' ? 'classic' : 'buildkit', source: 'environment' };
  const major = daemonVersion ? Number(/^(\d+)/.exec(daemonVersion)?.[1]) : NaN;
  if (Number.isFinite(major)) return { builder: major >= 23 ? 'buildkit' : 'classic', source: 'daemon' };
  return { builder: 'buildkit', source: 'default' };
}

/** Dockerfiles by language id or by name: `Dockerfile`, `*.Dockerfile`, `Dockerfile.*`, `Containerfile` (any case). */
export function isDockerfileDocument(uri: string, languageId: string): boolean {
  if (languageId === 'dockerfile') return true;
  const name = decodeURIComponent(uri.slice(uri.lastIndexOf('/') + 1));
  if (/\.dockerignore$/i.test(name)) return false;
  return /^(Dockerfile|Containerfile)$/i.test(name) || /\.(Dockerfile|Containerfile)$/i.test(name) || /^(Dockerfile|Containerfile)\.[^/]+$/i.test(name);
}
