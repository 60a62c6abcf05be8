// Runs `f` over items with at most `limit` calls in flight (filling an API server, making
// namespaces), in order of start; rejects with the first failure.
export async function inParallel<T>(
  items: readonly T[],
  limit: number,
  f: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await f(items[next++] as T);
  };
  await Promise.all(Array.from({ length: limit }, worker));
}
