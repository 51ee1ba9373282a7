// Typed errors of the docker/ layer. Messages are one readable sentence that names the host and the call.

export type DaemonErrorKind =
  /** The configuration cannot be used (bad DOCKER_HOST, missing context, …). */
  | 'config'
  /** Could not connect (no socket, refused, DNS, TLS handshake, ssh). */
  | 'unreachable'
  /** The call did not finish within its time budget. */
  | 'timeout'
  /** The daemon closed the connection before the response was complete. */
  | 'disconnected'
  /** HTTP 404 from the daemon (no such image, …). */
  | 'not-found'
  /** Any other non-2xx status. */
  | 'http'
  /** The response was not the JSON / tar we expect. */
  | 'invalid-response'
  /** The call was cancelled by the caller. */
  | 'cancelled';

export class DaemonError extends Error {
  override readonly name = 'DaemonError';
  constructor(
    readonly kind: DaemonErrorKind,
    message: string,
    readonly host: string,
    /** 'GET /images/json' etc.; '' when not tied to one call. */
    readonly endpoint: string = '',
    readonly statusCode: number | null = null,
    readonly cause?: unknown,
  ) {
    super(message);
  }
}

/** A value from the daemon did not have the expected shape; `at` is a JSON path like `[3].RepoTags[0]`. */
export class ValidationError extends Error {
  override readonly name = 'ValidationError';
  constructor(readonly at: string, readonly problem: string) {
    super(`${at === '' ? 'response' : at}: ${problem}`);
  }
}

export function errorText(e: unknown): string {
  if (e instanceof Error) return e.message;
  return String(e);
}
