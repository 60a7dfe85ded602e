/**
 * For a synchronous loop inside an async run: a function to await between
 * steps that lets the event loop turn (at most every `everyMs`), so a Ctrl-C
 * handler or a caller's timer can fire the AbortSignal while the loop runs.
 * Node delivers signals through the event loop, so a loop that never yields
 * sees the signal only when it has finished. When the stop is noticed does
 * not change any bits: the checkpoint records the step.
 */
export function eventLoopTurns(everyMs = 100): () => Promise<void> {
  let last = performance.now();
  return async () => {
    if (performance.now() - last < everyMs) return;
    await new Promise<void>((resolve) => setImmediate(resolve));
    last = performance.now();
  };
}
