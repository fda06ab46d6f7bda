import type * as z from 'zod';
import { ValidationError } from './errors';

/** "path.to.field: message" for each issue, so operators can find the bad field at once. */
export function formatIssues(error: z.ZodError): string[] {
  return error.issues.map((issue) => {
    const path = issue.path.length ? issue.path.map(String).join('.') : '(root)';
    return `${path}: ${issue.message}`;
  });
}

export function parseOrThrow<T extends z.ZodType>(schema: T, value: unknown, subject: string): z.output<T> {
  const result = schema.safeParse(value);
  if (!result.success) throw new ValidationError(subject, formatIssues(result.error));
  return result.data;
}
