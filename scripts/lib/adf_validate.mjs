// Validates ADF documents against Atlassian's published JSON schema
// (@atlaskit/adf-schema dist/json-schema/v1/full.json, draft-04) with ajv.
//
//   node scripts/lib/adf_validate.mjs DOCS.jsonl
//
// DOCS.jsonl holds one {"id": ..., "adf": {...}} per line. Prints one JSON summary
// {"total", "valid", "invalid": [{"id", "errors"}]} to stdout; exit status 0 when every document
// is valid, 1 when one is not, 2 when the input or the tools are missing. The Node modules come
// from $SECOPS_TOOLS_DIR/node/node_modules (default ~/.cache/secops-autopilot/tools), which
// ./scripts/bootstrap installs.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const toolsDir = process.env.SECOPS_TOOLS_DIR || join(homedir(), '.cache', 'secops-autopilot', 'tools');
const modules = join(toolsDir, 'node', 'node_modules');

function fail(message) {
  process.stderr.write(`adf_validate: ${message}\n`);
  process.exit(2);
}

// Exported so that compare_adf.mjs validates with the very same setup.
export function makeValidator(modulesDir = modules) {
  const require = createRequire(join(modulesDir, 'noop.js'));
  let Ajv, schema;
  try {
    Ajv = require('ajv-draft-04');
    schema = require('@atlaskit/adf-schema/dist/json-schema/v1/full.json');
  } catch (error) {
    fail(`cannot load ajv-draft-04 or @atlaskit/adf-schema from ${modulesDir} (run ./scripts/bootstrap): ${error.message}`);
  }
  const ajv = new (Ajv.default || Ajv)({ allErrors: false, strict: false });
  const validate = ajv.compile(schema);
  // ajv reports every failed branch of the schema's many anyOf; the errors at the deepest
  // path name the node that is actually wrong.
  return (doc) => {
    if (validate(doc)) return null;
    const errors = validate.errors || [];
    const depth = (e) => e.instancePath.split('/').length;
    const deepest = Math.max(...errors.map(depth));
    return errors
      .filter((e) => depth(e) === deepest)
      .slice(0, 5)
      .map((e) => `${e.instancePath || '/'} ${e.message}${e.params ? ' ' + JSON.stringify(e.params) : ''}`);
  };
}

function main() {
  const path = process.argv[2];
  if (!path) fail('usage: node scripts/lib/adf_validate.mjs DOCS.jsonl');
  let text;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    fail(`cannot read ${path}: ${error.message}`);
  }
  const validate = makeValidator();
  const summary = { total: 0, valid: 0, invalid: [] };
  for (const [index, line] of text.split('\n').entries()) {
    if (!line.trim()) continue;
    let record;
    try {
      record = JSON.parse(line);
    } catch (error) {
      fail(`${path}:${index + 1}: not JSON: ${error.message}`);
    }
    summary.total += 1;
    const errors = validate(record.adf);
    if (errors) summary.invalid.push({ id: record.id, errors });
    else summary.valid += 1;
  }
  process.stdout.write(JSON.stringify(summary) + '\n');
  process.exit(summary.invalid.length === 0 ? 0 : 1);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) main();
