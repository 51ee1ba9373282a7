// Mocha root hooks (load with `"require": ["out/test/mochaHooks.js"]` in .mocharc.json).
// Removes the images and temp dirs the docker harness tracked, once all tests have run. Without this file
// the harness still removes them when the process exits; with it they go before mocha prints its summary.
import { cleanupAll } from './docker/harness';

export const mochaHooks = {
  async afterAll(this: Mocha.Context): Promise<void> {
    this.timeout(120_000);
    await cleanupAll();
  },
};
