// Which documents Layer Lens serves. The extension activates on `onLanguage:dockerfile` only (and on its commands):
// VS Code gives the `dockerfile` language to these names by itself; the patterns catch files another extension or a
// `files.associations` setting mapped elsewhere, once Layer Lens is active.
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
