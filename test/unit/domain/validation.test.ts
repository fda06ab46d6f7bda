import { z } from 'zod';
import { formatIssues, parseOrThrow } from '../../../functions/domain/validation';
import { ValidationError } from '../../../functions/domain/errors';

const schema = z.object({ a: z.object({ list: z.array(z.number()) }), b: z.string() }).strict();

describe('validation helpers', () => {
  it('formatIssues writes "path.to.field: message", with (root) for the document itself', () => {
    const nested = schema.safeParse({ a: { list: [1, 'two'] }, b: 'x' });
    expect(formatIssues(nested.error!)).toEqual([expect.stringMatching(/^a\.list\.1: .*number/)]);
    expect(formatIssues(schema.safeParse('nope').error!)).toEqual([expect.stringMatching(/^\(root\): .*object/)]);
    expect(formatIssues(schema.safeParse({ a: { list: [] }, b: 'x', c: 1 }).error!)).toEqual(['(root): Unrecognized key: "c"']);
  });

  it('parseOrThrow returns the parsed value or throws a ValidationError naming subject and fields', () => {
    expect(parseOrThrow(schema, { a: { list: [1] }, b: 'x' }, 'thing')).toEqual({ a: { list: [1] }, b: 'x' });
    let thrown: unknown;
    try {
      parseOrThrow(schema, { a: { list: [] } }, 'the thing');
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ValidationError);
    const error = thrown as ValidationError;
    expect(error.name).toBe('ValidationError');
    expect(error.subject).toBe('the thing');
    expect(error.issues).toEqual([expect.stringMatching(/^b: /)]);
    expect(error.message).toMatch(/^the thing is invalid: b: /);
  });
});
