import { ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { GetQueueUrlCommand } from '@aws-sdk/client-sqs';
import { SendEmailCommand } from '@aws-sdk/client-ses';
import { documentClient, sesClient, sqsClient } from '../../../functions/adapters/aws-clients';
import { createResources } from '../../../tools/local/aws/resources';
import { SesStore } from '../../../tools/local/aws/ses-store';
import { uniquePrefix, useEmulators } from './helpers';

const aws = useEmulators();

// The functions build their clients with no endpoint of their own: Emulators.env must be enough.
describe('the functions’ own AWS clients, given Emulators.env', () => {
  it('reach DynamoDB Local, fauxqs and the SES emulator', async () => {
    const resources = await createResources(aws.clients(), { prefix: uniquePrefix('env') });
    const documents = documentClient();
    const sqs = sqsClient();
    const ses = sesClient();
    try {
      const { TableNames = [] } = await documents.send(new ListTablesCommand({}));
      expect(TableNames).toContain(resources.tables.ledger);
      const { QueueUrl } = await sqs.send(new GetQueueUrlCommand({ QueueName: resources.queues.anomalies.name }));
      expect(QueueUrl).toBe(resources.queues.anomalies.url);
      const subject = `env contract ${Date.now()}-${Math.random()}`;
      await ses.send(
        new SendEmailCommand({
          Source: 'responder@example.com',
          Destination: { ToAddresses: ['someone@example.com'] },
          Message: { Subject: { Data: subject }, Body: { Text: { Data: 'hi' } } },
        }),
      );
      expect((await new SesStore(aws.endpoints().ses).emails()).map((e) => e.subject)).toContain(subject);
    } finally {
      documents.destroy();
      sqs.destroy();
      ses.destroy();
    }
  });
});
