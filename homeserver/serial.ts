/**
 * Runs work one at a time per key, in arrival order: each call for a key starts when the previous
 * one has settled (fulfilled or rejected), and the map entry goes once the key is idle. Used for a
 * room's persister batches and for retries of a transaction that meet their first attempt on this
 * process (a retry then runs after it and finds what it did).
 */
export function runSerially<T>(locks: Map<string, Promise<unknown>>, key: string, work: () => Promise<T>): Promise<T> {
  const prev = locks.get(key) ?? Promise.resolve();
  const run = prev.then(work, work);
  const tail = run.catch(() => undefined);
  locks.set(key, tail);
  void tail.then(() => { if (locks.get(key) === tail) locks.delete(key); });
  return run;
}
