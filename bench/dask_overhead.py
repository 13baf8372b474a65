"""The distributed path's overhead: check() in one process against check_distributed()
on a 2-worker LocalCluster (processes, one thread each), data in the page cache,
medians of 7 interleaved runs, on the benchmark's sets (a) and (c) (run bench.py once
first to create them).

Usage, from the repository root after the README's install command and
``pip install checksig[dask]``:
  .venv/bin/python bench/dask_overhead.py          # default jobs
  .venv/bin/python bench/dask_overhead.py 1        # jobs=1 on each worker
"""
import os
import statistics
import sys
import time
from pathlib import Path

import distributed

import checksig

CACHE = Path(os.environ.get("CHECKSIG_BENCH_DIR", Path.home() / ".cache" / "checksig-bench"))


def main() -> None:
    jobs = int(sys.argv[1]) if len(sys.argv) > 1 else None
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=None)
    client = distributed.Client(cluster)
    for key in ("a", "c"):
        root = CACHE / f"set-{key}"
        checksig.check(root)
        checksig.check_distributed(root, client, jobs=jobs)
        local, remote = [], []
        for _ in range(7):
            started = time.perf_counter()
            assert checksig.check(root).ok
            local.append(time.perf_counter() - started)
            started = time.perf_counter()
            assert checksig.check_distributed(root, client, jobs=jobs).ok
            remote.append(time.perf_counter() - started)
        here, there = statistics.median(local), statistics.median(remote)
        print(f"({key}) check() {here:.3f} s, check_distributed(jobs={jobs}) {there:.3f} s: "
              f"{there / here:.2f} x")
    client.close()
    cluster.close()


if __name__ == "__main__":
    main()
