// Times Markdown → ADF conversion by marklassian, md-to-adf and ours on the same corpora and
// validates every output against the ADF JSON schema. Run through scripts/compare-adf.
//
//   node scripts/lib/compare_adf.mjs --ours BIN --packages DIR [--repetitions N] NAME=CORPUS.jsonl...
//
// The JS converters run in this process: one warm-up pass (so the JIT has compiled them), then
// N timed passes, each conversion followed by JSON.stringify. Ours runs as a subprocess
// (layers/notify/examples/md2adf_batch.rs, release build) with 10×N passes and reports its own
// clock, which covers conversion and serialisation only, as here. Outputs of the last pass are
// validated with the setup of adf_validate.mjs. A converter that throws on a document scores
// that document as invalid.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { makeValidator } from './adf_validate.mjs';

function usage(message) {
  process.stderr.write(`compare_adf: ${message}\nusage: node scripts/lib/compare_adf.mjs --ours BIN --packages DIR [--repetitions N] NAME=CORPUS.jsonl...\n`);
  process.exit(2);
}

const args = process.argv.slice(2);
let ours, packages, repetitions = 10;
const corpora = [];
for (let i = 0; i < args.length; i += 1) {
  if (args[i] === '--ours') ours = args[++i];
  else if (args[i] === '--packages') packages = args[++i];
  else if (args[i] === '--repetitions') repetitions = Number(args[++i]);
  else if (args[i].includes('=')) {
    const [name, path] = args[i].split(/=(.*)/s);
    corpora.push({ name, path });
  } else usage(`unknown argument ${args[i]}`);
}
if (!ours || !packages || corpora.length === 0) usage('missing arguments');
if (!Number.isInteger(repetitions) || repetitions < 1) usage('--repetitions must be a positive integer');

const require = createRequire(join(packages, 'noop.js'));
const { markdownToAdf } = await import(pathToFileURL(require.resolve('marklassian')).href);
const mdToAdf = require('md-to-adf');
const validate = makeValidator();

const jsTools = [
  { name: 'marklassian', convert: (markdown) => JSON.stringify(markdownToAdf(markdown)) },
  { name: 'md-to-adf', convert: (markdown) => JSON.stringify(mdToAdf(markdown)) },
];

function readCorpus(path) {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => line.trim())
    .map((line) => JSON.parse(line));
}

function shareValid(outputs) {
  let valid = 0;
  for (const output of outputs) {
    if (output === null) continue;
    let doc;
    try {
      doc = JSON.parse(output);
    } catch {
      continue;
    }
    if (validate(doc) === null) valid += 1;
  }
  return valid / outputs.length;
}

function runJs(tool, docs) {
  const convertAll = () =>
    docs.map(({ markdown }) => {
      try {
        return tool.convert(markdown);
      } catch {
        return null;
      }
    });
  convertAll();
  let outputs;
  const started = process.hrtime.bigint();
  for (let pass = 0; pass < repetitions; pass += 1) outputs = convertAll();
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return { seconds, passes: repetitions, outputs };
}

function runOurs(corpusPath, docs) {
  const passes = repetitions * 10;
  const run = spawnSync(ours, [corpusPath, String(passes)], { maxBuffer: 1 << 30, encoding: 'utf8' });
  if (run.status !== 0) usage(`${ours} failed (${run.status}): ${run.stderr}`);
  const timing = JSON.parse(run.stderr.trim().split('\n').pop());
  const byId = new Map(
    run.stdout
      .split('\n')
      .filter((line) => line.trim())
      .map((line) => {
        const { id, adf } = JSON.parse(line);
        return [String(id), JSON.stringify(adf)];
      }),
  );
  return { seconds: timing.seconds, passes, outputs: docs.map(({ id }) => byId.get(String(id)) ?? null) };
}

const rows = [];
for (const corpus of corpora) {
  const docs = readCorpus(corpus.path);
  const bytes = docs.reduce((sum, { markdown }) => sum + Buffer.byteLength(markdown), 0);
  const results = [
    ...jsTools.map((tool) => ({ tool: tool.name, ...runJs(tool, docs) })),
    { tool: 'secops-notify (Rust)', ...runOurs(corpus.path, docs) },
  ];
  for (const result of results) {
    rows.push({
      tool: result.tool,
      corpus: corpus.name,
      docs: docs.length,
      docsPerSecond: (docs.length * result.passes) / result.seconds,
      mbPerSecond: (bytes * result.passes) / 1e6 / result.seconds,
      valid: shareValid(result.outputs),
    });
  }
}

const header = ['tool', 'corpus', 'docs', 'docs/s', 'MB/s', 'schema-valid', 'ours vs faster JS'];
const table = rows.map((row) => {
  const fastestJs = Math.max(...rows.filter((r) => r.corpus === row.corpus && !r.tool.startsWith('secops')).map((r) => r.docsPerSecond));
  return [
    row.tool,
    row.corpus,
    String(row.docs),
    row.docsPerSecond.toFixed(0),
    row.mbPerSecond.toFixed(2),
    `${(row.valid * 100).toFixed(1)}%`,
    row.tool.startsWith('secops') ? `${(row.docsPerSecond / fastestJs).toFixed(1)}x` : '',
  ];
});
const widths = header.map((title, column) => Math.max(title.length, ...table.map((cells) => cells[column].length)));
const line = (cells) => '| ' + cells.map((cell, column) => cell.padEnd(widths[column])).join(' | ') + ' |';
console.log(line(header));
console.log('|' + widths.map((width) => '-'.repeat(width + 2)).join('|') + '|');
for (const cells of table) console.log(line(cells));
