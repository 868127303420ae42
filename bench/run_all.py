"""Run the documents benchmarks G1–G4 and the discussion's G5–G6 one after the other, then print
a summary of the results files (var/bench/results/*.json).

    .venv/bin/python bench/run_all.py                      # SQLite, the embedded default
    .venv/bin/python bench/run_all.py --postgres           # and G3, G4 on PostgreSQL (parvis_bench)
    .venv/bin/python bench/run_all.py --only g3 g4 --reps 3
    .venv/bin/python bench/run_all.py --only g5 g6            # the discussion (PostgreSQL only)
    .venv/bin/python bench/run_all.py --summary            # only print what the last runs recorded

Needs: nginx (make system-bench-deps), curl, taskset, and the tools of bench/requirements.txt
installed with `pip install --target var/bench-tools`. Each script stops its servers and
deletes its data (the 1 GiB files included) when it ends.
"""

import argparse
import json
import subprocess
import sys

from common import BENCH, PG_BENCH, PY, RESULTS, ROOT

SCRIPTS = {
    "g1": "g1_download.py",
    "g2": "g2_upload.py",
    "g3": "g3_propfind.py",
    "g4": "g4_small_uploads.py",
    "g4q": "g4_quota_cost.py",  # not timed against a peer: the quota check's growth
    "g5": "g5_fanout.py",  # on postgres://…/parvis_bench_chat whatever the flag
    "g6": "g6_capacity.py",  # the same; a ramp, not repetitions
}
ON_POSTGRES = ("g3", "g4", "g4q")
NO_REPS = ("g4q", "g6")


def summary() -> None:
    for path in sorted(RESULTS.glob("g*.json")):
        data = json.loads(path.read_text())
        print(
            f"\n{path.stem}  ({data['machine']['date']}, load {data['machine']['loadavg_at_start'][0]:.1f})"
        )
        print(f"  {data['command']}")
        medians = data.get("medians") or data.get("medians_ms") or {}
        for name, value in (medians or data.get("usage_ms", {})).items():
            print(f"  {name:28s} {value:10.1f}")
        for name, value in data["ratios"].items():
            print(f"  {name:36s} ratio {value:5.2f}")
        if "highest_passing_users" in data:
            print(f"  highest passing: {data['highest_passing_users']} users, dataset {data['dataset']}")
        if "sql_queries" in data:
            print(f"  SQL queries per PROPFIND: {json.dumps(data['sql_queries'])}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", nargs="*", choices=sorted(SCRIPTS), default=sorted(SCRIPTS))
    parser.add_argument("--reps", type=int)
    parser.add_argument("--postgres", action="store_true", help=f"also G3 and G4 on {PG_BENCH}")
    parser.add_argument("--summary", action="store_true")
    args = parser.parse_args()
    if not args.summary:
        runs = [(name, []) for name in args.only]
        if args.postgres:
            runs += [(name, ["--database", PG_BENCH]) for name in args.only if name in ON_POSTGRES]
        for name, extra in runs:
            command = [
                PY,
                str(BENCH / SCRIPTS[name]),
                *extra,
                *(["--reps", str(args.reps)] if args.reps and name not in NO_REPS else []),
            ]
            print(f"\n=== {' '.join(command)}", flush=True)
            subprocess.run(command, cwd=ROOT, check=True)
    summary()


if __name__ == "__main__":
    sys.exit(main())
