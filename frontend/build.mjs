// Bundle the front end into parvis/static/dist/ (never hand-edited). Names are stable; the
// static files storage adds content hashes at collectstatic time.
import * as esbuild from "esbuild";

await esbuild.build({
  entryPoints: ["frontend/src/parvis.js", "frontend/src/parvis.css"],
  bundle: true,
  minify: true,
  target: ["es2020"],
  outdir: "parvis/static/dist",
  legalComments: "none",
  logLevel: "info",
});
