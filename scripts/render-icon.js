#!/usr/bin/env node
// Renders images/icon.svg to images/icon.png (128x128, the Marketplace icon) with headless Chromium through
// playwright-core — the same browser the end-to-end tests drive, so no image tool has to be installed.
// Usage: node scripts/render-icon.js   (LAYERLENS_CHROMIUM overrides /usr/bin/chromium)
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { chromium } = require('playwright-core');

async function main() {
  const root = path.resolve(__dirname, '..');
  const svg = fs.readFileSync(path.join(root, 'images', 'icon.svg'), 'utf8');
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'layerlens-icon-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.LAYERLENS_CHROMIUM || '/usr/bin/chromium',
    headless: true,
    viewport: { width: 128, height: 128 },
    deviceScaleFactor: 1,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    const page = context.pages()[0] || (await context.newPage());
    // The SVG inline in a transparent page: the rounded corners stay transparent in the PNG.
    await page.setContent(`<html><body style="margin:0;background:transparent">${svg}</body></html>`);
    const out = path.join(root, 'images', 'icon.png');
    await page.locator('svg').screenshot({ path: out, omitBackground: true });
    console.log(`${path.relative(root, out)}: ${fs.statSync(out).size} bytes`);
  } finally {
    await context.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
