// The slice of `cloudflare:test` (@cloudflare/vitest-pool-workers) these tests use, typed against the
// Worker's own types: @cloudflare/workers-types is not a dependency.
declare module 'cloudflare:test' {
  import type { WorkerEnv, WorkerExecutionContext, WorkerScheduledController } from '../../src/worker';

  export const env: WorkerEnv;
  export const SELF: { fetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response> };
  export function createExecutionContext(): WorkerExecutionContext;
  export function waitOnExecutionContext(ctx: WorkerExecutionContext): Promise<void>;
  export function createScheduledController(options?: {
    scheduledTime?: Date | number;
    cron?: string;
  }): WorkerScheduledController;
}
