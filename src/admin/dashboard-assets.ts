// The dashboard's built front end (dashboard/, built by Vite on `npm ci` and into the package by
// `npm run build`), read into memory once at start: a few small files, served from a fixed table,
// so no request path ever reaches the file system.
import { readdirSync, readFileSync } from "node:fs";
import { extname, join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";

export interface DashboardAsset {
  readonly contentType: string;
  readonly body: Buffer;
  /** Vite names everything under assets/ by content hash: cacheable for good. */
  readonly immutable: boolean;
}

/** URL path (`/`, `/assets/index-abc.js`) → file. */
export type DashboardAssets = ReadonlyMap<string, DashboardAsset>;

/**
 * Where the built front end is: `dashboard/dist` beside `src/` in a clone, and the same relative
 * place in the package (`dist/src/admin` → `dist/dashboard/dist`).
 */
export const builtDashboardDir = fileURLToPath(new URL("../../dashboard/dist/", import.meta.url));

const contentTypes: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
};

/** The front end is missing: meshplane was not installed with its build step. */
export class DashboardNotBuiltError extends Error {
  constructor(dir: string, cause: unknown) {
    super(
      `the dashboard's front end is not built (no ${join(dir, "index.html")}): ` +
        "run `npm run dashboard` in the meshplane checkout (npm ci does it), or serve without --dashboard-address",
      { cause },
    );
    this.name = "DashboardNotBuiltError";
  }
}

export function loadDashboardAssets(dir: string = builtDashboardDir): DashboardAssets {
  const assets = new Map<string, DashboardAsset>();
  let files: string[];
  try {
    files = readdirSync(dir, { recursive: true, withFileTypes: true })
      .filter((entry) => entry.isFile())
      .map((entry) => join(entry.parentPath, entry.name));
  } catch (error) {
    throw new DashboardNotBuiltError(dir, error);
  }
  for (const file of files) {
    const contentType = contentTypes[extname(file)];
    if (contentType === undefined) continue;
    const path = "/" + relative(dir, file).split(sep).join("/");
    const asset = { contentType, body: readFileSync(file), immutable: path.startsWith("/assets/") };
    assets.set(path === "/index.html" ? "/" : path, asset);
  }
  if (!assets.has("/")) throw new DashboardNotBuiltError(dir, undefined);
  return assets;
}
