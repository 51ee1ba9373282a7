// Boundary validation: raw JSON from the Engine API -> the plain shapes of types.ts.
// Unknown fields are ignored; fields absent in older API versions get neutral defaults; a field that is present
// with the wrong type is a ValidationError naming its JSON path.

import { ValidationError } from './errors';
import type {
  BuildCacheRecord, ContainerConfigView, HistoryEntry, ImageInspect, ImageSummary,
} from './types';

type Obj = Record<string, unknown>;

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return `a string (${JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v)})`;
  return `a ${typeof v}`;
}

function fail(at: string, expected: string, v: unknown): never {
  throw new ValidationError(at, `expected ${expected}, got ${describe(v)}`);
}

export function obj(v: unknown, at: string): Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(at, 'an object', v);
  return v as Obj;
}

export function arr(v: unknown, at: string): unknown[] {
  if (!Array.isArray(v)) fail(at, 'an array', v);
  return v;
}

function key(at: string, k: string): string {
  return at === '' ? k : `${at}.${k}`;
}

/** Required string. */
export function reqStr(o: Obj, k: string, at: string): string {
  const v = o[k];
  if (typeof v !== 'string') fail(key(at, k), 'a string', v);
  return v;
}

/** Optional string: missing/null -> dflt. */
export function optStr(o: Obj, k: string, at: string, dflt = ''): string {
  const v = o[k];
  if (v === undefined || v === null) return dflt;
  if (typeof v !== 'string') fail(key(at, k), 'a string', v);
  return v;
}

export function optNum(o: Obj, k: string, at: string, dflt = 0): number {
  const v = o[k];
  if (v === undefined || v === null) return dflt;
  if (typeof v !== 'number' || !Number.isFinite(v)) fail(key(at, k), 'a number', v);
  return v;
}

export function optBool(o: Obj, k: string, at: string, dflt = false): boolean {
  const v = o[k];
  if (v === undefined || v === null) return dflt;
  if (typeof v !== 'boolean') fail(key(at, k), 'a boolean', v);
  return v;
}

/** string[] | null (null/missing stays null). */
export function strArrOrNull(o: Obj, k: string, at: string): string[] | null {
  const v = o[k];
  if (v === undefined || v === null) return null;
  const a = arr(v, key(at, k));
  return a.map((x, i) => {
    if (typeof x !== 'string') fail(`${key(at, k)}[${i}]`, 'a string', x);
    return x;
  });
}

/** Docker sometimes sends a string where a string slice is expected (old Entrypoint/Cmd); accept both. */
function strSliceOrNull(o: Obj, k: string, at: string): string[] | null {
  const v = o[k];
  if (typeof v === 'string') return [v];
  return strArrOrNull(o, k, at);
}

function keySet(o: Obj, k: string, at: string): string[] {
  const v = o[k];
  if (v === undefined || v === null) return [];
  return Object.keys(obj(v, key(at, k)));
}

function labels(o: Obj, k: string, at: string): Record<string, string> | null {
  const v = o[k];
  if (v === undefined || v === null) return null;
  const m = obj(v, key(at, k));
  const out: Record<string, string> = {};
  for (const [lk, lv] of Object.entries(m)) {
    if (typeof lv !== 'string') fail(`${key(at, k)}[${JSON.stringify(lk)}]`, 'a string', lv);
    out[lk] = lv;
  }
  return out;
}

function tags(o: Obj, k: string, at: string): string[] {
  // Old daemons report '<none>:<none>' for untagged images.
  return (strArrOrNull(o, k, at) ?? []).filter((t) => t !== '<none>:<none>' && t !== '<none>@<none>');
}

function id(o: Obj, k: string, at: string): string {
  const v = reqStr(o, k, at);
  if (v.length === 0) throw new ValidationError(key(at, k), 'expected a non-empty ID');
  return v;
}

export function parseImageSummaries(json: unknown): ImageSummary[] {
  return arr(json, '').map((raw, i) => {
    const at = `[${i}]`;
    const o = obj(raw, at);
    return {
      id: id(o, 'Id', at),
      parentId: optStr(o, 'ParentId', at),
      repoTags: tags(o, 'RepoTags', at),
      created: optNum(o, 'Created', at),
      size: optNum(o, 'Size', at),
    };
  });
}

export function parseContainerConfig(v: unknown, at: string): ContainerConfigView {
  const o = obj(v, at);
  return {
    cmd: strSliceOrNull(o, 'Cmd', at),
    env: strArrOrNull(o, 'Env', at),
    entrypoint: strSliceOrNull(o, 'Entrypoint', at),
    user: optStr(o, 'User', at),
    labels: labels(o, 'Labels', at),
    exposedPorts: keySet(o, 'ExposedPorts', at),
    volumes: keySet(o, 'Volumes', at),
    tty: optBool(o, 'Tty', at),
    openStdin: optBool(o, 'OpenStdin', at),
    attachStdout: optBool(o, 'AttachStdout', at),
    attachStderr: optBool(o, 'AttachStderr', at),
    workingDir: optStr(o, 'WorkingDir', at),
  };
}

const EMPTY_CONFIG: ContainerConfigView = {
  cmd: null, env: null, entrypoint: null, user: '', labels: null, exposedPorts: [], volumes: [],
  tty: false, openStdin: false, attachStdout: false, attachStderr: false, workingDir: '',
};

function isZeroConfig(raw: Obj, c: ContainerConfigView): boolean {
  const emptyList = (l: readonly string[] | null): boolean => l === null || l.length === 0;
  return emptyList(c.cmd) && emptyList(c.env) && emptyList(c.entrypoint) && c.user === '' &&
    (c.labels === null || Object.keys(c.labels).length === 0) && c.exposedPorts.length === 0 &&
    c.volumes.length === 0 && !c.tty && !c.openStdin && !c.attachStdout && !c.attachStderr && c.workingDir === '' &&
    (raw.Image === undefined || raw.Image === null || raw.Image === '') &&
    (raw.Hostname === undefined || raw.Hostname === null || raw.Hostname === '');
}

export function parseImageInspect(json: unknown): ImageInspect {
  const o = obj(json, '');
  const rootfs = o.RootFS === undefined || o.RootFS === null ? {} : obj(o.RootFS, 'RootFS');
  const cfgRaw = o.Config;
  const config = cfgRaw === undefined || cfgRaw === null ? EMPTY_CONFIG : parseContainerConfig(cfgRaw, 'Config');
  let containerConfig: ContainerConfigView | null = null;
  if (o.ContainerConfig !== undefined && o.ContainerConfig !== null) {
    const cc = parseContainerConfig(o.ContainerConfig, 'ContainerConfig');
    // Imported and BuildKit images carry an all-zero ContainerConfig: that means "absent".
    if (!isZeroConfig(o.ContainerConfig as Obj, cc)) containerConfig = cc;
  }
  return {
    id: id(o, 'Id', ''),
    parentId: optStr(o, 'Parent', ''),
    repoTags: tags(o, 'RepoTags', ''),
    created: optStr(o, 'Created', ''),
    size: optNum(o, 'Size', ''),
    config,
    containerConfig,
    layers: strArrOrNull(rootfs, 'Layers', 'RootFS') ?? [],
  };
}

export function parseHistory(json: unknown): HistoryEntry[] {
  return arr(json, '').map((raw, i) => {
    const at = `[${i}]`;
    const o = obj(raw, at);
    return {
      id: optStr(o, 'Id', at, '<missing>'),
      created: optNum(o, 'Created', at),
      createdBy: optStr(o, 'CreatedBy', at),
      size: optNum(o, 'Size', at),
      comment: optStr(o, 'Comment', at),
      tags: tags(o, 'Tags', at),
    };
  });
}

/** `GET /system/df` -> BuildCache records (Parent on API <= 1.41, Parents[] from 1.42). */
export function parseBuildCache(json: unknown): BuildCacheRecord[] {
  const o = obj(json, '');
  const bc = o.BuildCache;
  if (bc === undefined || bc === null) return [];
  return arr(bc, 'BuildCache').map((raw, i) => {
    const at = `BuildCache[${i}]`;
    const r = obj(raw, at);
    const parents = strArrOrNull(r, 'Parents', at);
    const parent = parents && parents.length > 0 ? parents[0]! : optStr(r, 'Parent', at);
    const lastUsed = r.LastUsedAt;
    if (lastUsed !== undefined && lastUsed !== null && typeof lastUsed !== 'string') fail(`${at}.LastUsedAt`, 'a string or null', lastUsed);
    return {
      id: id(r, 'ID', at),
      parent: parent === '' ? null : parent,
      type: optStr(r, 'Type', at),
      description: optStr(r, 'Description', at),
      inUse: optBool(r, 'InUse', at),
      shared: optBool(r, 'Shared', at),
      size: optNum(r, 'Size', at),
      createdAt: optStr(r, 'CreatedAt', at),
      lastUsedAt: typeof lastUsed === 'string' ? lastUsed : null,
      usageCount: optNum(r, 'UsageCount', at),
    };
  });
}

export interface VersionView {
  readonly version: string;
  readonly apiVersion: string;
  readonly os: string;
  readonly arch: string;
}

export function parseVersion(json: unknown): VersionView {
  const o = obj(json, '');
  return {
    version: reqStr(o, 'Version', ''),
    apiVersion: reqStr(o, 'ApiVersion', ''),
    os: optStr(o, 'Os', ''),
    arch: optStr(o, 'Arch', ''),
  };
}

/** One message of `GET /events`. */
export interface DaemonEvent {
  readonly type: string; // 'image', 'container', 'builder', …
  readonly action: string; // 'tag', 'delete', 'untag', 'prune', …
  /** Actor.ID (image ID, container ID, …); '' when absent. */
  readonly actorId: string;
  readonly attributes: Readonly<Record<string, string>>;
  readonly scope: string;
  readonly time: number; // unix seconds
  readonly timeNano: number;
}

export function parseEvent(json: unknown): DaemonEvent {
  const o = obj(json, '');
  const actor = o.Actor === undefined || o.Actor === null ? {} : obj(o.Actor, 'Actor');
  const attrsRaw = actor.Attributes === undefined || actor.Attributes === null ? {} : obj(actor.Attributes, 'Actor.Attributes');
  const attributes: Record<string, string> = {};
  for (const [k, v] of Object.entries(attrsRaw)) attributes[k] = typeof v === 'string' ? v : JSON.stringify(v);
  return {
    type: optStr(o, 'Type', ''),
    action: optStr(o, 'Action', '') || optStr(o, 'status', ''),
    actorId: optStr(actor, 'ID', 'Actor') || optStr(o, 'id', ''),
    attributes,
    scope: optStr(o, 'scope', ''),
    time: optNum(o, 'time', ''),
    timeNano: optNum(o, 'timeNano', ''),
  };
}
