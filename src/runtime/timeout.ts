/**
 * Races a pending resource against a timer. When the timer wins, the resource that
 * arrives later is handed to `dispose`, so a slow connect that succeeds after its
 * timeout does not leak a socket.
 */
export function withTimeout<T>(
  pending: Promise<T>,
  ms: number,
  message: string,
  dispose: (value: T) => void,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      reject(new Error(message));
    }, ms);
    pending.then(
      (value) => {
        clearTimeout(timer);
        if (timedOut) dispose(value);
        else resolve(value);
      },
      (err) => {
        clearTimeout(timer);
        if (!timedOut) reject(err);
      },
    );
  });
}
