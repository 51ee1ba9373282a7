// Where the "Open Layer Explorer" code lens goes: the FROM of the stage `docker build` would produce (the
// `layerLens.target` setting, else the last stage). Pure: the engine's own Dockerfile model decides what a stage is.
import { parseDockerfile } from '../../../server/src/engine/dockerfileModel';

/** 0-based line of the target stage's FROM; null when the file has no FROM or names a target it does not have. */
export function targetFromLine(text: string, target: string): number | null {
  const model = parseDockerfile(text);
  if (model.stages.length === 0) return null;
  const wanted = target.trim().toLowerCase();
  const stage = wanted === '' ? model.stages[model.stages.length - 1]! : model.stages.find((s) => s.name === wanted);
  return stage ? stage.from.line - 1 : null;
}
