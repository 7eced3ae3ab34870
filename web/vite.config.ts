import { defineConfig } from 'vite';

// The console (`vigil console`) serves web/dist at '/', so absolute asset paths are used.
// `npm run dev` proxies the API to a console on 127.0.0.1:8800.
export default defineConfig({
  base: '/',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    assetsInlineLimit: 0,
    chunkSizeWarningLimit: 200,
  },
  server: {
    proxy: { '/api': { target: 'http://127.0.0.1:8800', changeOrigin: false } },
  },
});
