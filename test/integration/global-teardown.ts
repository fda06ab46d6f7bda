/** Stops the emulators global-setup.ts started; Java's process group goes with them. */
export default async function globalTeardown(): Promise<void> {
  const emulators = globalThis.__localAwsEmulators;
  globalThis.__localAwsEmulators = undefined;
  await emulators?.stop();
}
