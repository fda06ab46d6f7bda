import { parseArgs, type ParseArgsConfig } from 'node:util';

type Options = NonNullable<ParseArgsConfig['options']>;
const HELP = { help: { type: 'boolean', short: 'h', default: false } } as const;

/** The typed option values parseArgs gives for `O` (plus help). */
type Values<O extends Options> = ReturnType<typeof parseArgs<{ args: string[]; options: O & typeof HELP; strict: true }>>['values'];
type Parsed<O extends Options> = { values: Values<O>; exitCode?: undefined } | { values?: undefined; exitCode: 0 | 2 };

/**
 * The command-line handling the project's scripts share: strict options plus -h/--help. Returns
 * the values, or the exit code when there is nothing more to do (help printed: 0; a bad option,
 * reported with the usage: 2).
 */
export function parseCommandLine<const O extends Options>(
  argv: string[],
  options: O,
  usage: string,
  print: (line: string) => void = console.log,
): Parsed<O> {
  let values: Values<O>;
  try {
    values = parseArgs({ args: argv, options: { ...options, ...HELP }, strict: true }).values as Values<O>;
  } catch (error) {
    console.error(`${(error as Error).message}\n\n${usage}`);
    return { exitCode: 2 };
  }
  if ((values as { help?: boolean }).help) {
    print(usage);
    return { exitCode: 0 };
  }
  return { values };
}
