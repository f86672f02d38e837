// Compile the OpenZeppelin 5 baselines for bench/ with the npm `solc` package (solcjs).
//
// Usage: node bench/solidity/compile.js <settings.json> <source.sol>...   (paths relative to the repo root)
// Prints solc's standard-JSON output on stdout. `@openzeppelin/contracts/...` imports resolve to
// node_modules/@openzeppelin/contracts; the optimizer runs and EVM version come from settings.json,
// which bench/_harness.py writes so that one Python constant sets them for every benchmark.
"use strict";

const fs = require("fs");
const path = require("path");

const repoRoot = path.resolve(__dirname, "..", "..");
const solc = require(path.join(repoRoot, "node_modules", "solc"));

function findImports(unitName) {
  const candidates = [path.join(repoRoot, "node_modules", unitName), path.join(repoRoot, unitName)];
  for (const file of candidates) {
    if (fs.existsSync(file)) {
      return { contents: fs.readFileSync(file, "utf8") };
    }
  }
  return { error: `bench/solidity/compile.js: cannot resolve import ${unitName}` };
}

const [settingsFile, ...sourceFiles] = process.argv.slice(2);
if (!settingsFile || sourceFiles.length === 0) {
  process.stderr.write("usage: node bench/solidity/compile.js <settings.json> <source.sol>...\n");
  process.exit(2);
}
const settings = JSON.parse(fs.readFileSync(settingsFile, "utf8"));
const sources = {};
for (const unitName of sourceFiles) {
  sources[unitName] = { content: fs.readFileSync(path.join(repoRoot, unitName), "utf8") };
}
const input = {
  language: "Solidity",
  sources,
  settings: {
    optimizer: { enabled: true, runs: settings.optimizer_runs },
    evmVersion: settings.evm_version,
    outputSelection: { "*": { "*": ["abi", "evm.bytecode.object"] } },
  },
};
const output = solc.compile(JSON.stringify(input), { import: findImports });
process.stdout.write(output);
