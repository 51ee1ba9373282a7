#!/usr/bin/env node
'use strict';
// Runs the compiled sources in a checkout (`npm run build` keeps them current), else the bundle a package ships.
// A checkout may also hold an older bundle in dist/: the sources win so that it never shadows them.
const path = require('path');
const fs = require('fs');
const bundled = path.join(__dirname, '..', 'dist', 'cli.js');
const compiled = path.join(__dirname, '..', 'out', 'server', 'src', 'cli.js');
const entry = fs.existsSync(compiled) ? compiled : bundled;
if (!fs.existsSync(entry)) {
  process.stderr.write('layerlens: not built yet: run `npm run build` first\n');
  process.exit(2);
}
require(entry).main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (e) => { process.stderr.write(`layerlens: internal error: ${(e && e.stack) || e}\n`); process.exitCode = 1; },
);
