// Whether a burst's slowest requests met a collection of the load generator's own heap (this
// process: autocannon parses every answer in JavaScript). Then part of their latency is the
// client's, not the server's, as it was for the list's p99 before it was timed by curl
// (curlRepeat). A diagnosis printed beside the burst's figures, never a figure of its own.
import { PerformanceObserver, performance } from 'node:perf_hooks';

export interface ClientCollections {
  /** Call for every response: its latency in ms, as autocannon measured it. */
  response: (latencyMs: number) => void;
  /** Stops watching: how many collections there were, and the share of the slowest 1 % that met one. */
  stop: () => { collections: number; slowestMeetingOne: number };
}

export function watchClientCollections(): ClientCollections {
  const collections: { start: number; end: number }[] = [];
  const responses: { start: number; end: number }[] = [];
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) collections.push({ start: entry.startTime, end: entry.startTime + entry.duration });
  });
  observer.observe({ entryTypes: ['gc'] });
  return {
    response(latencyMs) {
      const end = performance.now();
      responses.push({ start: end - latencyMs, end });
    },
    stop() {
      observer.disconnect();
      const slowest = responses.sort((a, b) => a.end - a.start - (b.end - b.start)).slice(Math.floor(0.99 * responses.length));
      const meeting = slowest.filter((request) =>
        collections.some((collection) => collection.end > request.start && collection.start < request.end),
      );
      return { collections: collections.length, slowestMeetingOne: slowest.length ? meeting.length / slowest.length : 0 };
    },
  };
}
