/// <reference types="vitest/config" />
import { fileURLToPath } from 'node:url';
import vue from '@vitejs/plugin-vue';
import { defineConfig } from 'vite';
import { pluginNames } from '../plugins/names.ts';
import { outsidePlugins } from './outside-plugins.ts';

const serverPort = process.env.PORT ?? '3000';
const shippedPlugins = fileURLToPath(new URL('../plugins', import.meta.url));
/** The client's unit tests run with a plugin kept outside `plugins/`, as an installation naming one by path in PLUGINS does. */
const outsideFixture = fileURLToPath(new URL('../test/fixtures/plugin-outside/index.ts', import.meta.url));
const plugins = process.env.VITEST ? [...pluginNames(undefined), outsideFixture] : pluginNames(process.env.PLUGINS);

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  plugins: [vue(), outsidePlugins(plugins, shippedPlugins)],
  build: { outDir: 'dist', emptyOutDir: true },
  // Unit tests of the client's own logic (client/test, `npm test`), in a simulated browser;
  // `npm run coverage` reports their coverage into coverage/client.
  test: {
    environment: 'happy-dom',
    include: ['test/**/*.test.ts'],
    // The field kinds as the browser finds them (Vite's glob), not by reading their folder.
    alias: { '#field-kinds': fileURLToPath(new URL('../card-types/kernel/kinds.browser.ts', import.meta.url)) },
    coverage: { provider: 'v8', include: ['src/**'], reporter: ['text-summary', 'html'], reportsDirectory: '../coverage/client' },
  },
  server: {
    port: 5173,
    proxy: {
      '/graphql': { target: `http://localhost:${serverPort}`, changeOrigin: false },
      '/healthz': `http://localhost:${serverPort}`,
    },
  },
});
