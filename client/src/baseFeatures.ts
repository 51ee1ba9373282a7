// `layerLens.baseLanguageFeatures: auto` resolved where it can be: only the extension host sees which other
// extensions are installed. The server receives `on` or `off` (see the configuration middleware in serverSession.ts).
// Pure: no `vscode` import, so it is unit-tested as it is.
import type { BaseFeaturesSetting } from '../../server/src/protocol';

/**
 * Extensions that run a Dockerfile language server with completion, hover docs and validation of their own:
 * Microsoft's Container Tools, the older Docker extension, Docker DX.
 */
export const DOCKERFILE_LANGUAGE_EXTENSIONS: readonly string[] = ['ms-azuretools.vscode-containers', 'ms-azuretools.vscode-docker', 'docker.docker'];

export interface BaseFeaturesDecision {
  readonly value: 'on' | 'off';
  /** For the log: why. */
  readonly because: string;
}

/** `on`/`off` as set; `auto`: off when one of DOCKERFILE_LANGUAGE_EXTENSIONS is installed, else on. */
export function resolveBaseFeatures(setting: BaseFeaturesSetting | undefined, installedExtensionIds: readonly string[]): BaseFeaturesDecision {
  if (setting === 'on' || setting === 'off') return { value: setting, because: `layerLens.baseLanguageFeatures is ${setting}` };
  const ids = new Set(installedExtensionIds.map((id) => id.toLowerCase()));
  const other = DOCKERFILE_LANGUAGE_EXTENSIONS.find((id) => ids.has(id));
  return other
    ? { value: 'off', because: `${other} provides them` }
    : { value: 'on', because: 'no other Dockerfile language extension is installed' };
}

/** The `layerLens` section as VS Code returns it, with `baseLanguageFeatures` resolved. */
export function withResolvedBaseFeatures(section: unknown, decision: BaseFeaturesDecision): unknown {
  if (typeof section !== 'object' || section === null || Array.isArray(section)) return section;
  return { ...(section as Record<string, unknown>), baseLanguageFeatures: decision.value };
}
