import type * as z from 'zod';

/** Thrown when input at an edge fails its schema; `issues` name each offending field. */
export class ValidationError extends Error {
  constructor(
    readonly subject: string,
    readonly issues: string[],
  ) {
    super(`${subject} is invalid: ${issues.join('; ')}`);
    this.name = 'ValidationError';
  }
}

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
