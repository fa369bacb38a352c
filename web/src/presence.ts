// Who is online in a course, as an instructor's page knows it: the `course:join` ack's snapshot
// plus the `presence:updated` batches numbered after it (docs/realtime.md, "Presence").
import type { ClientEventResult, PresenceUpdatedPayload } from '../../server/realtime/contract.js';

type Snapshot = ClientEventResult<'course:join'>;

export class CoursePresence {
  private snapshotSeq = 0;
  private ready = false;
  /** Batches that came before the join's ack: applied once it is in. */
  private early: PresenceUpdatedPayload[] = [];
  /** Per user, the seq of the last batch that set it (a batch arriving late changes nobody a newer one set). */
  private readonly setAt = new Map<string, number>();
  private countSeq = 0;
  readonly online = new Set<string>();
  count = 0;

  /** Forgets everything until the next snapshot (a reconnection joins again). */
  reset(): void {
    this.ready = false;
    this.early = [];
  }

  /** The join's ack; returns the users whose state may have changed. */
  snapshot(ack: Snapshot): string[] {
    const changed = new Set([...this.online, ...(ack.online ?? [])]);
    this.online.clear();
    for (const id of ack.online ?? []) this.online.add(id);
    this.setAt.clear();
    this.snapshotSeq = this.countSeq = ack.seq;
    this.count = ack.onlineCount;
    this.ready = true;
    const early = this.early;
    this.early = [];
    for (const batch of early) for (const id of this.apply(batch)) changed.add(id);
    return [...changed];
  }

  /** A `presence:updated` batch; returns the users it changed (none before the snapshot). */
  apply(batch: PresenceUpdatedPayload): string[] {
    if (!this.ready) {
      // Bounded, should the join never be answered (at most 4 batches a second come anyway).
      if (this.early.push(batch) > 1000) this.early.shift();
      return [];
    }
    if (batch.seq <= this.snapshotSeq) return [];
    if (batch.seq > this.countSeq) {
      this.countSeq = batch.seq;
      this.count = batch.onlineCount;
    }
    const changed: string[] = [];
    const set = (id: string, online: boolean) => {
      if ((this.setAt.get(id) ?? 0) > batch.seq) return;
      this.setAt.set(id, batch.seq);
      if (online) this.online.add(id);
      else this.online.delete(id);
      changed.push(id);
    };
    for (const id of batch.joined) set(id, true);
    for (const id of batch.left) set(id, false);
    return changed;
  }

  /** Whether the state comes from a snapshot (else the page relies on the dashboard's list). */
  get known(): boolean {
    return this.ready;
  }
}
