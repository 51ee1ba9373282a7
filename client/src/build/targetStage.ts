// Where the "Build Image" code lens goes: the FROM line of the stage a build makes (the `target`, else the last
// stage). Pure: the server's own Dockerfile model decides (escape directive, continuations, heredocs, `AS` names),
// so the lens sits where the builder's idea of the target stage is.
import { parseDockerfile } from '../../../server/src/engine/dockerfileModel';

/**
 * 0-based line of the target stage's FROM, or null when there is no FROM or the named target is not a stage (the
 * build would fail; the command still explains why when run from the palette).
 */
export function targetFromLine(text: string, target: string): number | null {
  const { stages } = parseDockerfile(text);
  if (stages.length === 0) return null;
  const wanted = target.trim().toLowerCase();
  const stage = wanted === '' ? stages[stages.length - 1] : stages.find((s) => s.name === wanted);
  return stage ? stage.from.line - 1 : null;
}
