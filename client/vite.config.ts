/// <reference types="vitest/config" />
import { fileURLToPath } from 'node:url';
import vue from '@vitejs/plugin-vue';
import { defineConfig } from 'vite';

const serverPort = process.env.PORT ?? '3000';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  plugins: [vue()],
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
