import { unmarshall } from '@aws-sdk/util-dynamodb';
import * as z from 'zod';
import { formatIssues } from '../domain/validation';

/**
 * A DynamoDB stream record of the config table (NEW_AND_OLD_IMAGES), validated at the edge: only
 * what the record of a change needs. Images are DynamoDB JSON until unmarshalled here.
 */
const image = z.record(z.string(), z.unknown());
const streamRecordSchema = z.object({
  eventID: z.string().min(1).max(200),
  eventName: z.enum(['INSERT', 'MODIFY', 'REMOVE']),
  dynamodb: z.object({
    /** Epoch seconds (a fraction in newer streams). */
    ApproximateCreationDateTime: z.number().nonnegative(),
    SequenceNumber: z.string().min(1),
    Keys: image.optional(),
    OldImage: image.optional(),
    NewImage: image.optional(),
  }),
  /** Present only for DynamoDB's own deletions (TTL): { type: 'Service', principalId: 'dynamodb.amazonaws.com' }. */
  userIdentity: z.object({ type: z.string(), principalId: z.string() }).optional(),
});

export interface ConfigStreamRecord {
  eventId: string;
  sequenceNumber: string;
  /** Epoch seconds, whole. */
  occurredAt: number;
  before?: Record<string, unknown>;
  after?: Record<string, unknown>;
  /** Who, when the stream says (only DynamoDB's TTL deletions). */
  changedBy?: string;
}

export type ParsedStreamRecord = { ok: true; record: ConfigStreamRecord } | { ok: false; eventId?: string; sequenceNumber?: string; issues: string[] };

export function parseStreamRecord(raw: unknown): ParsedStreamRecord {
  const parsed = streamRecordSchema.safeParse(raw);
  if (!parsed.success) {
    const loose = raw as { eventID?: unknown; dynamodb?: { SequenceNumber?: unknown } } | null;
    return {
      ok: false,
      eventId: typeof loose?.eventID === 'string' ? loose.eventID.slice(0, 200) : undefined,
      sequenceNumber: typeof loose?.dynamodb?.SequenceNumber === 'string' ? loose.dynamodb.SequenceNumber : undefined,
      issues: formatIssues(parsed.error).map((issue) => `record.${issue}`),
    };
  }
  const { eventID, eventName, dynamodb, userIdentity } = parsed.data;
  const images: { before?: Record<string, unknown>; after?: Record<string, unknown> } = {};
  try {
    if (eventName !== 'INSERT') images.before = unmarshall((dynamodb.OldImage ?? dynamodb.Keys ?? {}) as never, { wrapNumbers: false });
    if (eventName !== 'REMOVE') images.after = unmarshall((dynamodb.NewImage ?? dynamodb.Keys ?? {}) as never, { wrapNumbers: false });
  } catch (error) {
    return { ok: false, eventId: eventID, sequenceNumber: dynamodb.SequenceNumber, issues: [`record.dynamodb: images are not DynamoDB JSON (${(error as Error).message})`] };
  }
  return {
    ok: true,
    record: {
      eventId: eventID,
      sequenceNumber: dynamodb.SequenceNumber,
      occurredAt: Math.floor(dynamodb.ApproximateCreationDateTime),
      ...images,
      ...(userIdentity ? { changedBy: `${userIdentity.type} ${userIdentity.principalId}${userIdentity.principalId === 'dynamodb.amazonaws.com' ? ' (expired by TTL)' : ''}` } : {}),
    },
  };
}
