import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A minimal Secrets Manager endpoint (JSON 1.1 protocol: GetSecretValue, PutSecretValue) so
 * local mode runs the functions' real token path: the SDK client, the cache, the schema.
 * There is no Secrets Manager emulator on npm that works offline on Node 20.
 */
export interface LocalSecretsManager {
  url: string;
  /** Replace a secret's value, e.g. to rotate a token in a test. */
  put(secretId: string, value: string): void;
  /** How many GetSecretValue calls were served (to observe caching). */
  reads(): number;
  stop(): Promise<void>;
}

export async function startSecretsManager(secrets: Record<string, string>): Promise<LocalSecretsManager> {
  const store = new Map(Object.entries(secrets));
  let reads = 0;
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      const target = String(req.headers['x-amz-target'] ?? '');
      let input: { SecretId?: string; SecretString?: string } = {};
      try {
        input = JSON.parse(body || '{}');
      } catch {
        // fall through to the error below
      }
      const send = (status: number, payload: unknown) => {
        res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' });
        res.end(JSON.stringify(payload));
      };
      const id = input.SecretId ?? '';
      if (target === 'secretsmanager.GetSecretValue') {
        reads++;
        const value = store.get(id);
        if (value === undefined) return send(400, { __type: 'ResourceNotFoundException', message: `Secrets Manager can't find the specified secret.` });
        return send(200, { ARN: id, Name: id, SecretString: value, VersionId: 'local', VersionStages: ['AWSCURRENT'], CreatedDate: Date.now() / 1000 });
      }
      if (target === 'secretsmanager.PutSecretValue' && typeof input.SecretString === 'string') {
        store.set(id, input.SecretString);
        return send(200, { ARN: id, Name: id, VersionId: 'local', VersionStages: ['AWSCURRENT'] });
      }
      return send(400, { __type: 'InvalidRequestException', message: `Unsupported operation ${target}` });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    put: (secretId, value) => void store.set(secretId, value),
    reads: () => reads,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
