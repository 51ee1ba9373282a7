// The language server process: `node server.js --stdio` (or `--node-ipc`, as the VS Code client starts it; also
// `--socket=N`, `--pipe=NAME`). Only an entry point — importing it starts a server — so nothing else imports it:
// `layerlens lsp` and the tests use lsp/languageServer.ts, which a bundle can include without starting anything.

import { runServer } from './lsp/languageServer';

runServer();
