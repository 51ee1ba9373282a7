// Public surface of the docker/ layer. Only this folder imports dockerode; everything else imports from here.

export * from './types';
export { DaemonError, ValidationError } from './errors';
export type { DaemonErrorKind } from './errors';
export {
  resolveConnection, nodeFileReader, contextDirName, configDir, DEFAULT_HOST,
} from './connection';
export type { ConnectionResolution, ConnectionSource, DockerodeOptions, FileReader, ResolveInput, TlsView } from './connection';
export { DaemonClient, closeAllConnections } from './daemonClient';
export type { DaemonClientOptions, DaemonClientStats, DaemonEvent, Disposable, EventStreamStatus } from './daemonClient';
export { loadDaemonSnapshot } from './snapshot';
export type { DaemonSnapshot, SnapshotOptions } from './snapshot';
export { defaultCacheRoot, LayerDiskCache, LayerHeaderDiskCache } from './layerCache';
