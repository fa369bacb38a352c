import { maintenanceQueue } from './maintenance.js';
import type { QueueDefinition } from './queue-definition.js';

/** Every queue of the server; the worker runtime and the producers both read this list. */
export const queueDefinitions = {
  maintenance: maintenanceQueue,
} satisfies Record<string, QueueDefinition<never, unknown>>;

export type QueueKey = keyof typeof queueDefinitions;
