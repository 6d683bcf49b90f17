#!/usr/bin/env node
// Runs a collection with newman and prints the run's summary as JSON:
//   node run.js COLLECTION [ENVIRONMENT] [GLOBALS] [WORKING_DIR]
// -> {requests, assertions, failures: [{source, error}]}; exit 1 when any
// request or assertion failed.
'use strict';
const newman = require('newman');

const [collection, environment, globals, workingDir] = process.argv.slice(2);
newman.run({
  collection,
  environment: environment || undefined,
  globals: globals || undefined,
  workingDir: workingDir || undefined,
  insecureFileRead: true,
  reporters: [],
}, (err, summary) => {
  if (err) {
    console.error(err.stack || String(err));
    process.exit(1);
  }
  const s = summary.run.stats;
  const failures = summary.run.failures.map((f) => ({
    source: f.source && f.source.name,
    error: f.error && `${f.error.name}: ${f.error.message}`,
  }));
  const executions = summary.run.executions.map((e) => ({
    name: e.item.name,
    code: e.response ? e.response.code : 0,
    assertions: (e.assertions || []).map((a) => ({ assertion: a.assertion, error: a.error ? a.error.message : '' })),
  }));
  process.stdout.write(JSON.stringify({
    requests: s.requests.total,
    requestsFailed: s.requests.failed,
    assertions: s.assertions.total,
    assertionsFailed: s.assertions.failed,
    failures,
    executions,
  }));
  process.exit(failures.length > 0 ? 1 : 0);
});
