import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { SqsPublisher } from '../../../functions/adapters/sqs/queue';

const url = 'http://127.0.0.1:1/000000000000/anomalies';

describe('SqsPublisher', () => {
  it('sends in batches of at most ten, one JSON body per message', async () => {
    const sqs = mockClient(SQSClient);
    sqs.on(SendMessageBatchCommand).resolves({ Successful: [], Failed: [] });
    const publisher = new SqsPublisher(new SQSClient({ region: 'us-east-1' }), url, async () => undefined);
    await publisher.publish(Array.from({ length: 23 }, (_, i) => ({ id: `entry.${i}`, body: { n: i } })));
    const batches = sqs.commandCalls(SendMessageBatchCommand).map((c) => c.args[0].input.Entries!);
    expect(batches.map((b) => b.length)).toEqual([10, 10, 3]);
    expect(batches.flat().map((e) => JSON.parse(e.MessageBody!).n)).toEqual(Array.from({ length: 23 }, (_, i) => i));
    expect(batches.flat().every((e) => /^[A-Za-z0-9_-]+$/.test(e.Id!))).toBe(true);
  });

  it('keeps a batch under the 256 KiB request limit', async () => {
    const sqs = mockClient(SQSClient);
    sqs.on(SendMessageBatchCommand).resolves({});
    const publisher = new SqsPublisher(new SQSClient({ region: 'us-east-1' }), url, async () => undefined);
    await publisher.publish(Array.from({ length: 6 }, (_, i) => ({ id: `e${i}`, body: { pad: 'x'.repeat(60 * 1024) } })));
    const sizes = sqs.commandCalls(SendMessageBatchCommand).map((c) => c.args[0].input.Entries!.reduce((n, e) => n + e.MessageBody!.length, 0));
    expect(sizes.every((size) => size <= 250 * 1024)).toBe(true);
    expect(sqs.commandCalls(SendMessageBatchCommand).flatMap((c) => c.args[0].input.Entries!)).toHaveLength(6);
  });

  it('retries only the entries SQS failed for its own reasons, and throws if they keep failing', async () => {
    const sqs = mockClient(SQSClient);
    sqs
      .on(SendMessageBatchCommand)
      .resolvesOnce({ Failed: [{ Id: '1_b', Code: 'InternalError', SenderFault: false }] })
      .resolves({});
    const publisher = new SqsPublisher(new SQSClient({ region: 'us-east-1' }), url, async () => undefined);
    await publisher.publish([{ id: 'a', body: 1 }, { id: 'b', body: 2 }]);
    expect(sqs.commandCalls(SendMessageBatchCommand)[1].args[0].input.Entries!.map((e) => e.Id)).toEqual(['1_b']);

    sqs.reset();
    sqs.on(SendMessageBatchCommand).resolves({ Failed: [{ Id: '0_a', Code: 'InternalError', SenderFault: false }] });
    await expect(publisher.publish([{ id: 'a', body: 1 }])).rejects.toThrow(/did not accept 1 message/);
  });

  it('does not retry what SQS refuses as the sender\u2019s fault', async () => {
    const sqs = mockClient(SQSClient);
    sqs.on(SendMessageBatchCommand).resolves({ Failed: [{ Id: '0_a', Code: 'InvalidMessageContents', SenderFault: true }] });
    const publisher = new SqsPublisher(new SQSClient({ region: 'us-east-1' }), url, async () => undefined);
    await expect(publisher.publish([{ id: 'a', body: 1 }])).rejects.toThrow(/refused 1 message\(s\): 0_a: InvalidMessageContents/);
    expect(sqs.commandCalls(SendMessageBatchCommand)).toHaveLength(1);
  });
});
