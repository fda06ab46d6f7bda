import vm from 'node:vm';

/**
 * import() of an ESM-only package from CommonJS: TypeScript would compile a plain import() into
 * require(), so it goes through Function. Inside jest's sandbox that has no import callback; there
 * the main context's loader does it (Node >= 20.12, logs an ExperimentalWarning once).
 */
export async function importEsm<T>(specifier: string): Promise<T> {
  try {
    return (await (new Function('specifier', 'return import(specifier)') as (s: string) => Promise<T>)(specifier));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ERR_VM_DYNAMIC_IMPORT_CALLBACK_MISSING' && !/dynamic import callback/.test(String(error))) throw error;
    const mainContextImport = vm.runInThisContext('(specifier) => import(specifier)', {
      filename: __filename, // bare specifiers resolve from here
      importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
    }) as (s: string) => Promise<T>;
    return mainContextImport(specifier);
  }
}
