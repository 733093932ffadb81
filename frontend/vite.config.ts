import react from '@vitejs/plugin-react';
import { defineConfig } from 'vitest/config';

// The dashboard is served by the API at the site root, so assets use base '/'.
// In development the API runs separately (`gradsight-server serve`) and /api is proxied to it.
export default defineConfig({
  base: '/',
  plugins: [react()],
  server: {
    proxy: { '/api': 'http://127.0.0.1:8000' },
  },
  build: { outDir: 'dist', emptyOutDir: true },
  test: {
    environment: 'node',
    include: ['src/**/*.test.ts'],
  },
});
