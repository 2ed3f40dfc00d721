# shellcheck shell=bash
# A phase of userdata/bootstrap.sh, embedded by the renderer only into the
# user data of machines that run it.

# The workers' Dask names, as the stacks name them (lib/cluster/worker-names.ts):
# worker-1 .. worker-N, from the count alone.
expected_workers() {
  local i
  for ((i = 1; i <= DASKLAB_DASK_WORKER_COUNT; i++)); do echo "worker-$i"; done
}

# On the scheduler: waits until every expected worker has joined, then runs a
# task on each. Prints which workers are missing when they do not all come.
phase_cluster() {
  local -a workers
  mapfile -t workers < <(expected_workers)
  as_user "$DASKLAB_VENV/bin/python" - "$DASKLAB_SCHEDULER_ADDRESS" "$(seconds_until_deadline)" \
    "${workers[@]}" <<'PY'
import socket, sys, time
from concurrent.futures import CancelledError
from distributed import Client
address, budget, *expected = sys.argv[1:]
deadline = time.monotonic() + max(int(budget), 60)
def waited_too_long(reason):
    if time.monotonic() > deadline:
        sys.exit(reason)
    time.sleep(3)
while True:
    try:
        client = Client(address, timeout=10)
        break
    except OSError as error:
        waited_too_long(f"the scheduler at {address} does not answer: {error}")
with client:
    while True:
        joined = {w["name"]: a for a, w in client.scheduler_info()["workers"].items()}
        missing = sorted(set(expected) - set(joined))
        if missing:
            waited_too_long(f"{len(expected) - len(missing)} of {len(expected)} workers joined; missing: {', '.join(missing)}")
            continue
        # One task pinned to each worker proves that every one of them computes.
        futures = {n: client.submit(socket.gethostname, workers=[a], allow_other_workers=False, pure=False) for n, a in joined.items()}
        while not all(f.done() for f in futures.values()):
            waited_too_long("no task result from: " + ", ".join(sorted(n for n, f in futures.items() if not f.done())))
        try:
            hosts = client.gather(list(futures.values()))
            break
        except (CancelledError, OSError) as error:
            # The client reconnects by itself when its connection drops, but its tasks are cancelled.
            print(f"cluster: tasks lost ({type(error).__name__}: {error}); running them again", file=sys.stderr)
            waited_too_long(f"no task result: {error}")
    print(f"cluster: all {len(expected)} workers joined and ran a task:", *sorted(hosts))
PY
}
