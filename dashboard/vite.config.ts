// Builds the dashboard's front end into dist/, which meshplane serves (src/admin/dashboard-assets.ts).
// Preact's JSX through Vite's own transform: no framework plugin to keep in step with Vite.
import { defineConfig } from "vite";

export default defineConfig({
  oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
  build: {
    target: "es2022",
    outDir: "dist",
    emptyOutDir: true,
    // Served with a script-src 'self' policy: no inline code, and no polyfill for old browsers.
    modulePreload: { polyfill: false },
  },
});
