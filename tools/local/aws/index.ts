/** The local AWS runtime: emulators, the resources of lib/definitions.ts, and Lambda-like invokers. */
export { startEmulators, LOCAL_CREDENTIALS, type Emulators, type EmulatorEndpoints, type EmulatorOptions } from './emulators';
export { createLocalClients, endpointsFromEnv, type LocalClients } from './clients';
export { createResources, resourceEnv, type LocalResources, type QueueResource, type ResourceOptions } from './resources';
export {
  startEventSource,
  eventSourceSettings,
  type EventSource,
  type EventSourceOptions,
  type EventSourceStats,
  type InvocationReport,
} from './event-source';
export { startScheduler, type Scheduler, type SchedulerOptions, type ScheduledInvocationEvent, type ScheduledInvocationReport } from './scheduler';
export { SesStore, type SentEmail } from './ses-store';
export { createLambdaContext, invokeWithTimeout, LOCAL_ACCOUNT_ID, LOCAL_REGION, type LambdaHandler, type LambdaSettings } from './lambda-context';
export { startStreamSource, type StreamSource, type StreamSourceOptions, type StreamInvocationReport } from './stream-source';
