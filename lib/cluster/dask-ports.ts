/**
 * The ports a Dask cluster uses. The security groups open exactly these and
 * the services on the machines listen on exactly these, so they live in one
 * place. Each worker machine runs one worker process (with a thread per core),
 * so one worker port and one nanny port per machine are enough.
 */
export const DASK_PORTS = {
  /** The scheduler, for workers and clients. */
  scheduler: 8786,
  /** The scheduler's dashboard (Bokeh). */
  dashboard: 8787,
  /** The worker, for the scheduler and the other workers (data transfer). */
  worker: 8788,
  /** The nanny that supervises the worker process. */
  nanny: 8789,
} as const;
