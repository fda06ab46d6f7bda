import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as z from 'zod';

/**
 * Where a running `npm start` says how to reach it, so `npm run history -- --local` can query its
 * ledger: the DynamoDB Local endpoint and the table names (they change every run). One file per
 * machine user; LOCAL_MODE_STATE_FILE overrides it (tests).
 */
export function localStateFile(): string {
  return process.env.LOCAL_MODE_STATE_FILE ?? join(tmpdir(), `slack-anomaly-responder-local-mode-${process.getuid?.() ?? 'user'}.json`);
}

const localStateSchema = z.object({
  pid: z.number().int().positive(),
  dynamodbEndpoint: z.url(),
  region: z.string().min(1),
  ledgerTable: z.string().min(1),
  configTable: z.string().min(1),
});
export type LocalState = z.infer<typeof localStateSchema>;

export function writeLocalState(state: LocalState): void {
  writeFileSync(localStateFile(), `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
}

/** Removes the file if it is this process's. */
export function clearLocalState(pid: number = process.pid): void {
  try {
    if (readLocalStateFile()?.pid === pid) rmSync(localStateFile(), { force: true });
  } catch {
    // Nothing to clear.
  }
}

function readLocalStateFile(): LocalState | undefined {
  let text: string;
  try {
    text = readFileSync(localStateFile(), 'utf8');
  } catch {
    return undefined;
  }
  const parsed = localStateSchema.safeParse(JSON.parse(text));
  return parsed.success ? parsed.data : undefined;
}

/** The running local mode, or why there is none (one line). */
export function readLocalState(): { state: LocalState } | { error: string } {
  const state = readLocalStateFile();
  if (!state) return { error: `no local mode is running (no ${localStateFile()}): start one with \`npm start\`` };
  try {
    process.kill(state.pid, 0);
  } catch {
    return { error: `the local mode that wrote ${localStateFile()} (pid ${state.pid}) is no longer running: start one with \`npm start\`` };
  }
  return { state };
}
