/**
 * Scenarios 1–2, system under test: the app from `buildApp` (handshake auth, `course:join`
 * authorised against the database, the Redis streams adapter), broadcasting through
 * `app.realtime` — the emitter every service uses. IPC: `{type:'sign', ids}` → `{type:'tokens'}`.
 */
import { serveBroadcastingApp } from './broadcasting-app.js';

await serveBroadcastingApp();
