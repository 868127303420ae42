"""Beside G4: what the quota check costs as an organisation fills. Every upload calls
`actions.check_quota` twice (before reading the body, and before the rows are written), and
`actions.usage()` sums every version of the organisation: its cost grows with the data.

    .venv/bin/python bench/g4_quota_cost.py [--database URL] [--counts 1000 10000 100000]
"""

import argparse

from common import db_label, parvis, save


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database", default="sqlite")
    parser.add_argument("--counts", type=int, nargs="*", default=[1_000, 10_000, 100_000])
    args = parser.parse_args()
    with parvis("quota", args.database) as inst:
        inst.seed("world")
        found = inst.seed("quota_cost", counts=args.counts)
    for count, ms in found.items():
        print(f"{int(count):>8} versions: usage() {ms:7.2f} ms, twice per upload")
    save(f"g4-quota-{db_label(args.database)}", {"usage_ms": found, "ratios": {}})


if __name__ == "__main__":
    main()
