/**
 * `worker-1`, `worker-2`, ...: the Dask names of a cluster's workers, stable
 * across deploys, so the scheduler knows whom to wait for. The scheduler's
 * bootstrap makes the same names from the count alone
 * (`expected_workers` in userdata/phases/cluster.sh), which keeps a
 * 100-worker scheduler's user data as small as a 1-worker one's.
 */
export function workerNames(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `worker-${i + 1}`);
}
