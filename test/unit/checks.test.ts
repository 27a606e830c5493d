import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { UsageError } from '../../src/errors.ts';
import { checkResponse, MAX_SCHEMA_ERRORS, parseExpectStatus, type CheckResult, type SchemaError } from '../../src/record/checks.ts';
import { schemaPathPattern } from '../../src/report/stats.ts';
import { compileSchema } from '../../src/record/schema.ts';

function isUsageError(pattern: RegExp) {
  return (error: unknown) => error instanceof UsageError && pattern.test(error.message) && !error.message.includes('\n');
}

describe('parseExpectStatus', () => {
  const cases: Array<[string, number[], number[]]> = [
    // text, statuses that pass, statuses that do not
    ['200', [200], [201, 204, 404]],
    ['200,404', [200, 404], [201, 403, 500]],
    ['200-299', [200, 250, 299], [199, 300]],
    ['404-404', [404], [403, 405]],
    ['2xx', [200, 204, 299], [199, 300, 404]],
    ['2XX', [200, 299], [300]],
    ['2xx,404', [200, 226, 404], [301, 403, 500]],
    ['200-204,3xx,410', [200, 204, 301, 399, 410], [205, 404, 500]],
    [' 200 , 404 ', [200, 404], [201]],
    ['\t200\t,\t404\t', [200, 404], [201]],
    ['200 - 299', [200, 299], [300]],
    ['999', [999], [998]],
    ['9xx', [900, 999], [899]],
    ['1xx,5xx', [100, 101, 503], [200, 404]],
  ];
  for (const [text, pass, fail] of cases) {
    test(JSON.stringify(text), () => {
      const isExpected = parseExpectStatus(text);
      for (const status of pass) assert.equal(isExpected(status), true, `${status} should pass`);
      for (const status of fail) assert.equal(isExpected(status), false, `${status} should not pass`);
    });
  }

  const bad: Array<[string, RegExp]> = [
    ['', /empty list/],
    ['  ', /empty list/],
    [',', /empty list/],
    ['abc', /got `abc` in `abc`/],
    ['200,abc', /got `abc` in `200,abc`/],
    ['200,', /got `` in `200,`/],
    ['200,,404', /got `` in `200,,404`/],
    ['20', /got `20`/],
    ['2000', /got `2000`/],
    ['099', /100 to 999.*got `099`/],
    ['200-', /got `200-`/],
    ['-200', /got `-200`/],
    ['299-200', /low to high.*got `299-200`/],
    ['050-200', /100 to 999.*got `050-200`/],
    ['0xx', /got `0xx`/],
    ['2x', /got `2x`/],
    ['2xxx', /got `2xxx`/],
    ['20x', /got `20x`/],
    ['200;404', /got `200;404`/],
    ['200 404', /got `200 404`/],
    ['+200', /got `\+200`/],
    ['2e2', /got `2e2`/],
  ];
  for (const [text, message] of bad) {
    test(`rejects ${JSON.stringify(text)}`, () => {
      assert.throws(() => parseExpectStatus(text), isUsageError(/--expect-status/));
      assert.throws(() => parseExpectStatus(text), isUsageError(message));
    });
  }

  test('a token with a newline is shown on one line', () => {
    assert.throws(() => parseExpectStatus('200,4\n04'), isUsageError(/got `4 04`/));
  });
});

describe('checkResponse: status', () => {
  const only404 = parseExpectStatus('200,404');
  const cases: Array<[string, number, string, boolean, CheckResult]> = [
    // name, status, statusText, with --expect-status 200,404?, result
    ['default: 200 is ok', 200, 'OK', false, { ok: true }],
    ['default: 204 is ok', 204, '', false, { ok: true }],
    ['default: 299 is ok', 299, '', false, { ok: true }],
    ['default: 404 is not', 404, 'Not Found', false, { ok: false, code: 'HTTP_STATUS', what: '404 Not Found' }],
    ['default: 301 is not', 301, '', false, { ok: false, code: 'HTTP_STATUS', what: '301 Moved Permanently' }],
    ['default: 199 is not', 199, '', false, { ok: false, code: 'HTTP_STATUS', what: '199' }],
    ['listed: 404 is ok', 404, 'Not Found', true, { ok: true }],
    ['listed: 200 is ok', 200, 'OK', true, { ok: true }],
    ['listed: 201 is not', 201, '', true, { ok: false, code: 'HTTP_STATUS', what: '201 Created, not in --expect-status' }],
    ['listed: server phrase wins', 500, 'Oops', true, { ok: false, code: 'HTTP_STATUS', what: '500 Oops, not in --expect-status' }],
    ['listed: phrase kept to one line', 503, 'Down\r\nX-Evil: 1', true, { ok: false, code: 'HTTP_STATUS', what: '503 Down X-Evil: 1, not in --expect-status' }],
  ];
  for (const [name, status, statusText, listed, expected] of cases) {
    test(name, () => {
      const checks = listed ? { expectStatus: only404 } : {};
      assert.deepEqual(checkResponse(status, statusText, null, 'none', checks), expected);
    });
  }

  test('the schema is not applied to a response whose status fails', () => {
    let calls = 0;
    const validate = () => {
      calls++;
      return [{ path: '/', message: 'x' }];
    };
    const result = checkResponse(404, '', {}, 'json', { validate });
    assert.equal(result.ok === false && result.code, 'HTTP_STATUS');
    assert.equal(calls, 0);
  });

  test('an expected non-2xx status still goes through the schema', () => {
    const validate = compileSchema({ type: 'object', required: ['error'] }, 'error.json');
    const checks = { expectStatus: parseExpectStatus('404'), validate };
    assert.deepEqual(checkResponse(404, '', { error: 'gone' }, 'json', checks), { ok: true });
    const result = checkResponse(404, '', {}, 'json', checks);
    assert.equal(result.ok === false && result.code, 'SCHEMA_MISMATCH');
  });
});

describe('compileSchema: errors', () => {
  const user = {
    type: 'object',
    required: ['id', 'name'],
    properties: {
      id: { type: 'string' },
      name: { type: 'string', minLength: 1 },
      role: { enum: ['admin', 'user'] },
      version: { const: 2 },
      address: {
        type: 'object',
        required: ['city'],
        properties: { city: { type: 'string' }, zip: { type: 'string', pattern: '^[0-9]{5}$' } },
      },
      tags: { type: 'array', items: { type: 'string' } },
    },
  };
  const validate = compileSchema(user, 'user.json');

  const cases: Array<[string, unknown, SchemaError[]]> = [
    ['valid', { id: 'a', name: 'Ann' }, []],
    ['valid with nested parts', { id: 'a', name: 'Ann', address: { city: 'X', zip: '12345' }, tags: ['t'] }, []],
    ['missing required, at the root', { name: 'Ann' }, [{ path: '/', message: "must have required property 'id'" }]],
    [
      'every missing required property',
      {},
      [
        { path: '/', message: "must have required property 'id'" },
        { path: '/', message: "must have required property 'name'" },
      ],
    ],
    ['type mismatch', { id: 7, name: 'Ann' }, [{ path: '/id', message: 'must be string' }]],
    ['the body itself has the wrong type', [1, 2], [{ path: '/', message: 'must be object' }]],
    ['nested missing required', { id: 'a', name: 'A', address: {} }, [{ path: '/address', message: "must have required property 'city'" }]],
    ['nested type mismatch', { id: 'a', name: 'A', address: { city: 1 } }, [{ path: '/address/city', message: 'must be string' }]],
    [
      'pattern names the pattern, not the value',
      { id: 'a', name: 'A', address: { city: 'X', zip: 'secret-value' } },
      [{ path: '/address/zip', message: 'must match pattern "^[0-9]{5}$"' }],
    ],
    ['array item', { id: 'a', name: 'A', tags: ['ok', 3] }, [{ path: '/tags/1', message: 'must be string' }]],
    [
      'enum lists the allowed values',
      { id: 'a', name: 'A', role: 'root' },
      [{ path: '/role', message: 'must be equal to one of the allowed values: "admin", "user"' }],
    ],
    ['const names the constant', { id: 'a', name: 'A', version: 3 }, [{ path: '/version', message: 'must be equal to constant: 2' }]],
    ['minLength', { id: 'a', name: '' }, [{ path: '/name', message: 'must NOT have fewer than 1 characters' }]],
    [
      'all errors, in order',
      { id: 1, name: 2, address: { city: 3 } },
      [
        { path: '/id', message: 'must be string' },
        { path: '/name', message: 'must be string' },
        { path: '/address/city', message: 'must be string' },
      ],
    ],
  ];
  for (const [name, body, expected] of cases) {
    test(name, () => assert.deepEqual(validate(body, 'json'), expected));
  }

  test('additionalProperties names the property; a key with a newline stays one line', () => {
    const strict = compileSchema({ type: 'object', properties: { a: {} }, additionalProperties: false }, 's.json');
    assert.deepEqual(strict({ a: 1, 'b\nc': 2 }, 'json'), [{ path: '/', message: "must NOT have additional properties: 'b c'" }]);
  });

  test('a path built from odd keys is one line and JSON-Pointer escaped', () => {
    const deep = compileSchema({ additionalProperties: { type: 'string' } }, 's.json');
    assert.deepEqual(deep({ 'a/b': 1, 'x\ny': 2 }, 'json'), [
      { path: '/a~1b', message: 'must be string' },
      { path: '/x?y', message: 'must be string' },
    ]);
  });

  test('duplicate errors are reported once', () => {
    const anyOf = compileSchema({ anyOf: [{ type: 'string' }, { type: 'string', minLength: 1 }] }, 's.json');
    assert.deepEqual(anyOf(5, 'json'), [
      { path: '/', message: 'must be string' },
      { path: '/', message: 'must match a schema in anyOf' },
    ]);
  });

  test('boolean schemas', () => {
    assert.deepEqual(compileSchema(true, 't.json')({ any: 1 }, 'json'), []);
    assert.deepEqual(compileSchema(false, 'f.json')({ any: 1 }, 'json'), [{ path: '/', message: 'boolean schema is false' }]);
  });

  test('draft 2020-12 and 2019-09 schemas are read with their own rules', () => {
    const tuple = compileSchema({ $schema: 'https://json-schema.org/draft/2020-12/schema', prefixItems: [{ type: 'string' }] }, 's.json');
    assert.deepEqual(tuple(['a', 1], 'json'), []);
    assert.deepEqual(tuple([1], 'json'), [{ path: '/0', message: 'must be string' }]);
    const unevaluated = compileSchema(
      { $schema: 'https://json-schema.org/draft/2019-09/schema', properties: { a: {} }, unevaluatedProperties: false },
      's.json',
    );
    assert.deepEqual(unevaluated({ a: 1, b: 2 }, 'json'), [{ path: '/', message: "must NOT have unevaluated properties: 'b'" }]);
  });

  test('no message carries a value from the body', () => {
    const secret = 'tok_SECRET_123';
    const errors = validate(
      { id: secret, name: { nested: secret }, role: secret, version: secret, address: { zip: secret }, tags: [secret, { secret }] },
      'json',
    );
    assert.ok(errors.length > 0);
    assert.ok(
      errors.every((e) => !e.message.includes(secret) && !e.path.includes(secret)),
      JSON.stringify(errors),
    );
  });
});

describe('compileSchema: a body that is not JSON', () => {
  const validate = compileSchema({ type: 'object' }, 'schema.json');
  for (const encoding of ['text', 'base64', 'none']) {
    test(encoding, () => {
      assert.deepEqual(validate('{"looks": "like json"}', encoding), [{ path: '/', message: 'the body is not JSON' }]);
      assert.deepEqual(checkResponse(200, 'OK', 'x', encoding, { validate }), {
        ok: false,
        code: 'SCHEMA_MISMATCH',
        what: 'body does not match schema.json: / the body is not JSON',
        schemaErrors: [{ path: '/', message: 'the body is not JSON' }],
      });
    });
  }
  test('JSON null and false are JSON', () => {
    assert.deepEqual(compileSchema({ type: 'null' }, 's')(null, 'json'), []);
    assert.deepEqual(compileSchema({ type: 'boolean' }, 's')(false, 'json'), []);
  });
});

describe('compileSchema: an invalid schema is a UsageError', () => {
  const cases: Array<[string, unknown, RegExp]> = [
    ['null', null, /schema\.json to hold a JSON Schema.*got null/],
    ['a number', 42, /got a number/],
    ['a string', '{"type":"object"}', /got a string/],
    ['an array', [], /got an array/],
    ['an unknown type', { type: 'nope' }, /schema\.json is not a valid JSON Schema: schema is invalid: data\/type/],
    ['properties not an object', { properties: 3 }, /data\/properties must be object/],
    ['a bad regular expression', { properties: { a: { pattern: '(' } } }, /Invalid regular expression/],
    ['a $ref that does not resolve', { $ref: '#/definitions/missing' }, /can't resolve reference #\/definitions\/missing/],
    ['a remote $ref', { $ref: 'https://example.com/other.json' }, /can't resolve reference/],
    ['an unsupported draft', { $schema: 'http://json-schema.org/draft-04/schema#' }, /draft-04.*supported \$schema: draft-07, 2019-09, 2020-12/],
    ['an async schema', { $async: true, type: 'object' }, /async schema/],
    ['an async subschema', { properties: { a: { $async: true, type: 'string' } } }, /async schema/],
  ];
  for (const [name, schema, message] of cases) {
    test(name, () => {
      assert.throws(() => compileSchema(schema, 'schema.json'), isUsageError(/--schema/));
      assert.throws(() => compileSchema(schema, 'schema.json'), isUsageError(message));
    });
  }

  test('keeps the ajv error as cause', () => {
    assert.throws(
      () => compileSchema({ type: 'nope' }, 's.json'),
      (error: unknown) => error instanceof UsageError && error.cause instanceof Error,
    );
  });

  test('strict: false lets unknown keywords through; ignored formats are reported once', () => {
    const warnings: string[] = [];
    const validate = compileSchema({ type: 'string', format: 'email', 'x-internal': true }, 's.json', { onWarning: (m) => warnings.push(m) });
    assert.deepEqual(validate('not an email', 'json'), []);
    assert.deepEqual(warnings, ['unknown format "email" ignored in schema at path "#"']);
    // Without a listener, nothing is printed and nothing throws.
    compileSchema({ type: 'string', format: 'email' }, 's.json');
  });
});

describe('checkResponse: schema', () => {
  const schema = { type: 'object', required: ['id'], properties: { id: { type: 'string' }, n: { type: 'integer' } } };
  const validate = compileSchema(schema, 'schema.json');

  const cases: Array<[string, unknown, CheckResult]> = [
    ['valid', { id: 'a' }, { ok: true }],
    [
      'one error',
      { id: 1 },
      {
        ok: false,
        code: 'SCHEMA_MISMATCH',
        what: 'body does not match schema.json: /id must be string',
        schemaErrors: [{ path: '/id', message: 'must be string' }],
      },
    ],
    [
      'more than one: the first, and how many more',
      { id: 1, n: 'x' },
      {
        ok: false,
        code: 'SCHEMA_MISMATCH',
        what: 'body does not match schema.json: /id must be string (+1 more)',
        schemaErrors: [
          { path: '/id', message: 'must be string' },
          { path: '/n', message: 'must be integer' },
        ],
      },
    ],
  ];
  for (const [name, body, expected] of cases) {
    test(name, () => assert.deepEqual(checkResponse(200, 'OK', body, 'json', { validate }), expected));
  }

  test(`caps schemaErrors at ${MAX_SCHEMA_ERRORS} and counts the rest`, () => {
    const items = compileSchema({ type: 'array', items: { type: 'string' } }, 'list.json');
    const body = Array.from({ length: 13 }, (_, i) => i);
    const result = checkResponse(200, 'OK', body, 'json', { validate: items });
    assert.equal(result.ok, false);
    if (result.ok) return;
    assert.equal(result.schemaErrors?.length, MAX_SCHEMA_ERRORS);
    assert.deepEqual(result.schemaErrors?.[9], { path: '/9', message: 'must be string' });
    assert.equal(result.what, 'body does not match list.json: /0 must be string (+12 more)');
  });

  test('exactly the cap: every error is kept', () => {
    const items = compileSchema({ type: 'array', items: { type: 'string' } }, 'list.json');
    const result = checkResponse(
      200,
      'OK',
      Array.from({ length: MAX_SCHEMA_ERRORS }, () => 0),
      'json',
      { validate: items },
    );
    assert.ok(!result.ok && result.schemaErrors?.length === MAX_SCHEMA_ERRORS);
  });

  test('a validator without a source is named "the schema"', () => {
    const result = checkResponse(200, 'OK', {}, 'json', { validate: () => [{ path: '/', message: 'no' }] });
    assert.ok(!result.ok && result.what === 'body does not match the schema: / no');
  });

  test('what is one line even when the schema and source hold newlines', () => {
    const odd = compileSchema({ properties: { a: { pattern: '^a\nb$' } } }, 'my\nschema.json');
    const result = checkResponse(200, 'OK', { a: 'zzz' }, 'json', { validate: odd });
    assert.ok(!result.ok);
    assert.equal(result.what, 'body does not match my schema.json: /a must match pattern "^a b$"');
  });
});

describe('compileSchema compiles once', () => {
  test('the returned validator is reused and does not read the schema again', () => {
    const schema = { type: 'object', required: ['id'], properties: { id: { type: 'string' } } };
    const validate = compileSchema(schema, 'schema.json');
    // Changing the schema after compiling has no effect: the validator holds compiled code.
    schema.required = ['other'];
    schema.properties.id.type = 'number';
    for (let i = 0; i < 1000; i++) {
      assert.deepEqual(validate({ id: `x${i}` }, 'json'), []);
    }
    assert.deepEqual(validate({}, 'json'), [{ path: '/', message: "must have required property 'id'" }]);
    assert.equal(validate.source, 'schema.json');
  });

  test('errors from one call do not leak into the next', () => {
    const validate = compileSchema({ type: 'string' }, 's.json');
    assert.equal(validate(1, 'json').length, 1);
    assert.deepEqual(validate('a', 'json'), []);
    assert.equal(validate(2, 'json').length, 1);
  });
});

describe('schemaPathPattern', () => {
  const cases: Array<[string, string]> = [
    ['/', '/'],
    ['/id', '/id'],
    ['/items/0/id', '/items/*/id'],
    ['/items/12', '/items/*'],
    ['/0/1/2', '/*/*/*'],
    ['/v2/items', '/v2/items'],
    ['/a1/3b', '/a1/3b'],
  ];
  for (const [path, pattern] of cases) {
    test(path, () => assert.equal(schemaPathPattern(path), pattern));
  }
});
