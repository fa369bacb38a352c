import { useEffect, useState } from 'preact/hooks';

/** A value with subscribers: the few app-wide states (session, connection) live in these. */
export class Store<T> {
  private readonly listeners = new Set<(value: T) => void>();
  constructor(private current: T) {}
  get(): T {
    return this.current;
  }
  set(value: T): void {
    this.current = value;
    for (const listener of [...this.listeners]) listener(value);
  }
  subscribe(listener: (value: T) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

export function useStore<T>(store: Store<T>): T {
  const [value, setValue] = useState(store.get());
  useEffect(() => {
    setValue(store.get());
    return store.subscribe(setValue);
  }, [store]);
  return value;
}

/**
 * Renders at most once per animation frame however many events arrive: a class of 200 sending
 * progress at once mutates the data in place and asks for one render.
 */
export function useFrameBatchedRender(): () => void {
  const [, setTick] = useState(0);
  const [schedule] = useState(() => {
    let pending = false;
    return () => {
      if (pending) return;
      pending = true;
      requestAnimationFrame(() => {
        pending = false;
        setTick((tick) => tick + 1);
      });
    };
  });
  return schedule;
}
