// The image tag a build is given: a default drawn from the Dockerfile's folder, and a check of what the user types.
// Pure (no `vscode` import): unit-tested directly.

/** One path component of a repository name, as the docker reference grammar allows it. */
const NAME_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
/** A registry host (`localhost`, `registry.example.com`, `[::1]`) with an optional port. */
const REGISTRY_HOST = /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\[[0-9a-fA-F:]+\])(?::[0-9]+)?$/;
const TAG = /^[\w][\w.-]{0,127}$/;
/** docker refuses references longer than this (the name part). */
const MAX_NAME_LENGTH = 255;

/**
 * `<folder>:latest`, the folder name turned into a valid repository name (lower case, runs of other characters
 * become one `-`), or `image:latest` when nothing usable is left. `folderName` is the base name of the Dockerfile's folder.
 */
export function defaultImageTag(folderName: string): string {
  const name = folderName
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 128)
    .replace(/-+$/, '');
  return `${name || 'image'}:latest`;
}

/**
 * Null when `ref` is a tag `docker build -t` accepts (`name`, `name:tag`, `host:5000/team/name:tag`), otherwise one
 * sentence saying what is wrong (shown under the input box).
 */
export function imageTagProblem(ref: string): string | null {
  if (ref.trim() === '') return 'Enter an image name, e.g. my-app:latest.';
  if (/\s/.test(ref)) return 'An image name cannot contain spaces.';
  if (ref.includes('@')) return 'Give a tag, not a digest (@sha256:…).';
  // The tag is after the last ':' that follows the last '/' (a ':' before it belongs to a registry port).
  const slash = ref.lastIndexOf('/');
  const colon = ref.lastIndexOf(':');
  const name = colon > slash ? ref.slice(0, colon) : ref;
  const tag = colon > slash ? ref.slice(colon + 1) : null;
  if (tag !== null && !TAG.test(tag)) return `"${tag}" is not a valid tag: letters, digits, '_', '.' and '-', at most 128, not starting with '.' or '-'.`;
  if (name.length > MAX_NAME_LENGTH) return `The image name is longer than ${MAX_NAME_LENGTH} characters.`;
  const parts = name.split('/');
  // Like docker: the first part is a registry host only when it has a '.' or a ':', or is `localhost`.
  const first = parts[0]!;
  const hasHost = parts.length > 1 && (first.includes('.') || first.includes(':') || first === 'localhost');
  if (hasHost && !REGISTRY_HOST.test(first)) return `"${first}" is not a valid registry host.`;
  for (const part of hasHost ? parts.slice(1) : parts) {
    if (!NAME_COMPONENT.test(part)) {
      return /[A-Z]/.test(part)
        ? 'An image name must be lower case.'
        : `"${part}" is not a valid name part: lower-case letters and digits, separated by '.', '_', '__' or '-'.`;
    }
  }
  return null;
}
