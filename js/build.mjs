// Bundles the widget front end into the Python package (src/nbchat/static/).
// Prints the gzipped size so a growing bundle is noticed at build time.
import { build } from "esbuild";
import { readFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const outdir = resolve(here, "../src/nbchat/static");

// KaTeX's stylesheet loads its fonts with @font-face url()s; the widget fetches nothing, so the
// rules are dropped and math uses the system's serif fonts.
const noKatexFonts = {
  name: "no-katex-fonts",
  setup(b) {
    b.onLoad({ filter: /katex[\\/]dist[\\/]katex(\.min)?\.css$/ }, (args) => ({
      contents: readFileSync(args.path, "utf8").replace(/@font-face\{[^}]*\}/g, ""),
      loader: "css",
    }));
  },
};

// widget.js is the front end; loader.js is the widget's `_esm`, which fetches it from the kernel
// (see src/loader.ts), so saved notebooks stay small.
await build({
  entryPoints: { widget: resolve(here, "src/widget.ts"), loader: resolve(here, "src/loader.ts") },
  bundle: true,
  format: "esm",
  target: "es2020",
  minify: true,
  legalComments: "eof",
  outdir,
  entryNames: "[name]",
  logLevel: "warning",
  plugins: [noKatexFonts],
});

for (const name of ["widget.js", "widget.css", "loader.js"]) {
  const bytes = readFileSync(resolve(outdir, name));
  const kb = (n) => (n / 1024).toFixed(1);
  console.log(`${name}: ${kb(bytes.length)} KB, ${kb(gzipSync(bytes).length)} KB gzipped`);
}
