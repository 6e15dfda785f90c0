// Compiles the contracts of this folder with the solc pinned in package.json through the
// standard-JSON API and writes artifacts/<Contract>.json = {abi, bytecode, deployedBytecode}
// (hex without 0x). Usage: node compile.js [outDir]
'use strict';
const fs = require('fs');
const path = require('path');
const solc = require('solc');

const REQUIRED_SOLC = '0.8.11';
const SOURCES = ['LinliGovernance.sol', 'HelloWorld.sol'];
// solc 0.8.11 predates the "paris" EVM version (added in solc 0.8.18) and refuses it as
// "Invalid EVM version requested". "london" is the newest target it knows; the code it emits uses no
// opcode that Paris changed or added (Paris only renames DIFFICULTY to PREVRANDAO, which we never
// read), so it runs unchanged under Paris rules on the devnode and on FISCO BCOS 3.x.
const EVM_VERSION = 'london';

function main() {
  const outDir = path.resolve(process.argv[2] || path.join(__dirname, 'artifacts'));
  if (!solc.version().startsWith(REQUIRED_SOLC + '+')) {
    throw new Error(`solc ${solc.version()} loaded, ${REQUIRED_SOLC} required (run npm ci)`);
  }
  const sources = {};
  for (const file of SOURCES) {
    sources[file] = { content: fs.readFileSync(path.join(__dirname, file), 'utf8') };
  }
  const input = {
    language: 'Solidity',
    sources,
    settings: {
      evmVersion: EVM_VERSION,
      optimizer: { enabled: true, runs: 200 },
      outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object', 'evm.deployedBytecode.object'] } },
    },
  };
  const output = JSON.parse(solc.compile(JSON.stringify(input)));
  let failed = false;
  for (const e of output.errors || []) {
    process.stderr.write(e.formattedMessage + '\n');
    if (e.severity === 'error') failed = true;
  }
  if (failed || !output.contracts) {
    throw new Error('compilation failed');
  }
  fs.mkdirSync(outDir, { recursive: true });
  for (const file of SOURCES) {
    for (const [name, c] of Object.entries(output.contracts[file] || {})) {
      const artifact = {
        abi: c.abi,
        bytecode: c.evm.bytecode.object,
        deployedBytecode: c.evm.deployedBytecode.object,
      };
      fs.writeFileSync(path.join(outDir, name + '.json'), JSON.stringify(artifact, null, 2) + '\n');
      process.stdout.write(`${name}: ${artifact.deployedBytecode.length / 2} bytes deployed\n`);
    }
  }
}

try {
  main();
} catch (err) {
  process.stderr.write(`compile.js: ${err.message}\n`);
  process.exit(1);
}
