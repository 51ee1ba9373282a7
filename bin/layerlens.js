#!/usr/bin/env node
'use strict';
// Runs the bundled CLI when present (packaged builds), else the compiled sources (a checkout after `npm run build`).
const path = require('path');
const fs = require('fs');
const bundled = path.join(__dirname, '..', 'dist', 'cli.js');
const compiled = path.join(__dirname, '..', 'out', 'server', 'src', 'cli.js');
const entry = fs.existsSync(bundled) ? bundled : compiled;
if (!fs.existsSync(entry)) {
  process.stderr.write('layerlens: not built yet: run `npm run build` first\n');
  process.exit(2);
}
require(entry).main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (e) => { process.stderr.write(`layerlens: internal error: ${(e && e.stack) || e}\n`); process.exitCode = 1; },
);
