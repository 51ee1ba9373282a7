// Which documents Layer Lens serves. Kept in one place: the language client's selector, and the manifest's
// activation events (package.json `activationEvents`) list the same file-name patterns.
import type { DocumentFilter } from 'vscode-languageclient';

/** File-name patterns of Dockerfiles that editors may not have given the `dockerfile` language id. */
export const DOCKERFILE_NAME_PATTERNS: readonly string[] = ['**/Dockerfile', '**/*.Dockerfile', '**/Dockerfile.*', '**/Containerfile'];

/** Saved files and untitled buffers in the `dockerfile` language, plus saved files matched by name. */
export function dockerfileDocumentSelector(): DocumentFilter[] {
  return [
    { scheme: 'file', language: 'dockerfile' },
    { scheme: 'untitled', language: 'dockerfile' },
    ...DOCKERFILE_NAME_PATTERNS.map((pattern) => ({ scheme: 'file', pattern })),
  ];
}
