/**
 * Lets `prefect-dockerutils/testing` observe every ImageBuilder that is constructed.
 * @module
 */

/** A function told about each new builder. */
export type BuilderObserver = (builder: object) => void;

const observers = new Set<BuilderObserver>();

/** Starts telling `observer` about new builders; call the returned function to stop. */
export function observeBuilders(observer: BuilderObserver): () => void {
  observers.add(observer);
  return () => {
    observers.delete(observer);
  };
}

/** Called by the ImageBuilder constructor. */
export function builderCreated(builder: object): void {
  for (const observer of observers) observer(builder);
}
