// Child process of bench/explorerBench.ts: opens one image in the layer explorer service and reads all of its
// layers, as the language server would, and prints one JSON line of timings and its own peak RSS. Run alone so
// that its peak memory is the analysis's (no bench bookkeeping in the same heap).
//   node out/bench/explorerProbe.js IMAGE CACHE_DIR

import { DaemonClient, closeAllConnections } from '../server/src/docker';
import { EXPLORER_TIMEOUT_MS, ExplorerService } from '../server/src/explorer/service';

async function main(): Promise<void> {
  const [image, cacheDir] = process.argv.slice(2);
  if (!image || !cacheDir) throw new Error('usage: explorerProbe IMAGE CACHE_DIR');
  const client = DaemonClient.fromEnvironment({ cacheDir, timeoutMs: EXPLORER_TIMEOUT_MS });
  const service = new ExplorerService({ client, cacheDir });
  const t0 = performance.now();
  const opened = await service.open(image, null);
  const tTable = performance.now();
  if (!opened.image) throw new Error(opened.error?.message ?? 'open failed');
  await service.files(opened.image.id);
  const tFiles = performance.now();
  const waste = await service.waste(opened.image.id, 10);
  const tWaste = performance.now();
  if (waste.state !== 'ready') throw new Error(waste.error?.message ?? 'files not read');
  // One tree query as the panel makes on a click: the biggest layer's changes, default cut.
  const biggest = opened.layers.filter((r) => !r.empty).sort((a, b) => b.size - a.size)[0]!;
  const tree = await service.layerFiles({ imageId: opened.image.id, layerIndex: biggest.index, view: 'changes' });
  const tTree = performance.now();
  process.stdout.write(JSON.stringify({
    tableMs: tTable - t0,
    filesMs: tFiles - tTable,
    wasteMs: tWaste - tFiles,
    analysisMs: tWaste - tTable,
    treeMs: tTree - tWaste,
    cachedAtOpen: opened.files === 'ready',
    exports: client.stats.exports,
    rows: opened.layers.length,
    files: tree.matched,
    removableBytes: waste.removableBytes,
    efficiency: waste.efficiency,
    maxRssBytes: process.resourceUsage().maxRSS * 1024,
  }) + '\n');
  service.dispose();
  closeAllConnections();
}

main().catch((e: unknown) => {
  process.stderr.write(`explorerProbe: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 1;
});
