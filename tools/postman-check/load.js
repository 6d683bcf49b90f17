#!/usr/bin/env node
// Loads Postman files with Postman's own SDK (postman-collection) and prints
// what it understood as JSON, so a test can compare it with Courier's view.
//
//   node load.js collection FILE...   -> [{name, requests: [{path, name, method, url, bodyMode, auth}], variables, events}]
//   node load.js environment FILE...  -> [{name, values: [{key, value, enabled, type}]}]
//
// Exits 1 with a message when a file cannot be read or the SDK throws.
'use strict';
const fs = require('fs');
const sdk = require('postman-collection');

function collection(json) {
  const c = new sdk.Collection(json);
  const requests = [];
  c.forEachItem((item) => {
    const path = [];
    for (let p = item.parent(); p && p.parent && p.parent(); p = p.parent()) {
      path.unshift(p.name);
    }
    const auth = item.getAuth();
    requests.push({
      path: path.join('/'),
      name: item.name,
      method: item.request.method,
      url: item.request.url.toString(),
      bodyMode: item.request.body ? item.request.body.mode || '' : '',
      auth: auth ? auth.type : '',
      headers: item.request.headers.count(),
    });
  });
  return {
    name: c.name,
    requests,
    variables: c.variables.count(),
    events: c.events.count(),
    roundTrip: JSON.stringify(c.toJSON()).length > 0,
  };
}

function environment(json) {
  const scope = new sdk.VariableScope(json);
  return {
    name: json.name || '',
    values: scope.values.map((v) => ({ key: v.key, value: v.value, enabled: !v.disabled, type: v.type })),
  };
}

const [kind, ...files] = process.argv.slice(2);
const load = { collection, environment }[kind];
if (!load || files.length === 0) {
  console.error('usage: node load.js collection|environment FILE...');
  process.exit(2);
}
const out = [];
for (const f of files) {
  try {
    out.push(load(JSON.parse(fs.readFileSync(f, 'utf8'))));
  } catch (e) {
    console.error(`${f}: ${e.stack || e}`);
    process.exit(1);
  }
}
process.stdout.write(JSON.stringify(out));
