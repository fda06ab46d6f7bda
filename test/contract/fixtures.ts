import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Slack's published example responses (test/contract/fixtures/, see its README.md). Typed
 * loosely on purpose: the point of these tests is that the material is Slack's, not ours.
 */
export const FIXTURES_DIR = join(__dirname, 'fixtures');

export type Json = any;

/** Read and JSON.parse a fixture, e.g. `fixture('web-api/users.info.json')`. A fresh copy each call. */
export function fixture(relativePath: string): Json {
  return JSON.parse(readFileSync(join(FIXTURES_DIR, relativePath), 'utf8'));
}

export interface FixtureExample {
  name: string;
  status: number;
  body: Json;
}

/** A Web API fixture's example by exact name (fails loudly if the fixture has no such example). */
export function example(relativePath: string, name: string): FixtureExample {
  const found = (fixture(relativePath).examples as FixtureExample[]).find((e) => e.name === name);
  if (!found) throw new Error(`${relativePath} has no example named "${name}"`);
  return found;
}

/** Every success (`ok: true`) body of a Web API fixture. */
export function successBodies(relativePath: string): Json[] {
  return (fixture(relativePath).examples as FixtureExample[]).filter((e) => e.body?.ok === true).map((e) => e.body);
}

/** Every published error body (`{ok:false,error}`) of a Web API fixture. */
export function errorExamples(relativePath: string): FixtureExample[] {
  return (fixture(relativePath).examples as FixtureExample[]).filter((e) => e.body?.ok === false && typeof e.body.error === 'string');
}

/** Keys of a plain object (empty for anything else). */
export function keysOf(value: unknown): string[] {
  return value && typeof value === 'object' && !Array.isArray(value) ? Object.keys(value) : [];
}

/** The keys of `actual` that are not in `allowed`, sorted: the test names them on failure. */
export function extraKeys(actual: Iterable<string>, allowed: Iterable<string>): string[] {
  const ok = new Set(allowed);
  return [...new Set(actual)].filter((k) => !ok.has(k)).sort();
}

const SDK_RESPONSE_TYPES = join(__dirname, '..', '..', 'node_modules', '@slack', 'web-api', 'dist', 'types', 'response');

/**
 * The member names of one of @slack/web-api's published response types, read from its .d.ts
 * (e.g. `sdkTypeKeys('UsersInfoResponse', 'User')`; without `typeName`, the response type
 * itself). Lets a test prove that a key it whitelists really is in Slack's published type.
 */
export function sdkTypeKeys(file: string, typeName = file): string[] {
  const lines = readFileSync(join(SDK_RESPONSE_TYPES, `${file}.d.ts`), 'utf8').split('\n');
  const start = lines.findIndex((line) => line.startsWith(`export interface ${typeName} {`) || line.startsWith(`export type ${typeName} = `));
  if (start < 0) throw new Error(`${file}.d.ts declares no ${typeName}`);
  const keys: string[] = [];
  for (const line of lines.slice(start + 1)) {
    if (/^\}/.test(line)) break;
    const member = /^ {4}(\w+)\??:/.exec(line);
    if (member) keys.push(member[1]);
  }
  return keys;
}
