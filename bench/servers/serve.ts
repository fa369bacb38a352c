/** Shared life cycle of a benchmark server process: start, report `ready` over IPC, close on SIGTERM or IPC `stop`. */
export async function serve(start: () => Promise<{ close(): Promise<unknown> } & Record<string, unknown>>): Promise<void> {
  try {
    const { close, ...info } = await start();
    let closing = false;
    const stop = async () => {
      if (closing) return;
      closing = true;
      await close().catch(() => undefined);
      process.disconnect?.();
      process.exit(0);
    };
    process.on('SIGTERM', stop);
    process.on('message', (message: { type?: string }) => {
      if (message.type === 'stop') void stop();
    });
    process.on('disconnect', stop);
    process.send!({ type: 'ready', ...info });
  } catch (error) {
    process.send?.({ type: 'error', message: (error as Error).stack ?? String(error) });
    process.exit(1);
  }
}
