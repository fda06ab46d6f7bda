/**
 * Run the simulator on its own, for manual poking or for a process that drives it over HTTP:
 *   npx tsx tools/local/slack-simulator/cli.ts [--scenario path.json] [--port 3999] [--verbose] [--no-rate-limits]
 * Prints the URLs and tokens as one JSON line, then serves until SIGINT/SIGTERM.
 */
import { startSlackSimulator } from './simulator';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

async function main(): Promise<void> {
  const port = arg('port');
  const sim = await startSlackSimulator({
    scenario: arg('scenario'),
    port: port ? Number(port) : 0,
    log: process.argv.includes('--verbose') ? (line) => console.error(line) : undefined,
    rateLimits: !process.argv.includes('--no-rate-limits'),
  });
  console.log(JSON.stringify({ url: sim.url, apiUrl: sim.apiUrl, auditApiUrl: sim.auditApiUrl, tokens: sim.tokens, scenario: sim.scenario.source }));
  const stop = () => void sim.stop().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
