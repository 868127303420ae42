"""G3 — PROPFIND depth 1 on a folder of 10,000 files ÷ wsgidav's own FilesystemProvider on
the same files (same names, same bytes, on disk). Goal ≤ 0.5. And the SQL queries of one
PROPFIND, which must not grow with the folder: counted for 10 and for 10,000 entries.

Two request bodies: the 4 properties a file manager lists (getetag, getlastmodified,
getcontentlength, resourcetype: the anchor's "4 props") and allprop (no body). Parvis is asked
as elu with an app password (Basic, remembered after the first request, as a client sends it
with every request); the peer is anonymous. Time is curl's total (request to last byte), server
on CPU 0, curl on CPU 1, alternating, N repetitions. The raw `scandir + stat` of the peer's
directory is given as the physical floor.

    .venv/bin/python bench/g3_propfind.py [--reps 7] [--files 10000] [--database URL]
"""

import argparse
import os
import time
from pathlib import Path
from urllib.parse import quote

from common import (
    basic,
    curl,
    db_label,
    free_port,
    median,
    parvis,
    save,
    servers,
    spread,
    wsgidav,
)

FOUR = (
    '<?xml version="1.0" encoding="utf-8"?><D:propfind xmlns:D="DAV:"><D:prop>'
    "<D:getetag/><D:getlastmodified/><D:getcontentlength/><D:resourcetype/></D:prop></D:propfind>"
)
BODIES = {"4 props": FOUR, "allprop": ""}


def scan(path: Path) -> float:
    start = time.perf_counter()
    with os.scandir(path) as entries:
        for entry in entries:
            entry.stat()
    return time.perf_counter() - start


def propfind(url: str, body: str, headers: list[str]) -> dict[str, float]:
    data = ["--data-binary", body, "-H", "Content-Type: application/xml"] if body else []
    result = curl("-X", "PROPFIND", "-H", "Depth: 1", *headers, *data, url)
    if result["code"] != 207:
        raise RuntimeError(f"{url}: {result}")
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reps", type=int, default=7)
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--database", default="sqlite")
    args = parser.parse_args()
    big, small = "Dix mille", "Dix"
    times: dict[str, list[float]] = {}
    sizes: dict[str, float] = {}
    with parvis("g3", args.database) as inst, servers() as running:
        who = inst.seed("world")
        peer_root = inst.var / "peer"
        started = time.perf_counter()
        inst.seed("many_files", folder=f"Bench/{small}", count=10, mirror=str(peer_root / small))
        inst.seed("many_files", folder=f"Bench/{big}", count=args.files, mirror=str(peer_root / big))
        seeding = time.perf_counter() - started
        print(f"seeded {args.files + 10} files in {seeding:.0f} s", flush=True)
        folders = [f"{who['space']}/Bench/{small}/", f"{who['space']}/Bench/{big}/"]
        queries = {
            label: inst.seed(
                "count_queries", email=who["email"], secret=who["secret"], paths=folders, body=body
            )
            for label, body in BODIES.items()
        }
        print(f"queries: {queries}", flush=True)
        direct = inst.serve(running, free_port())
        peer = wsgidav(running, peer_root)
        auth = ["-H", f"Authorization: {basic(who['email'], who['secret'])}"]
        targets = {
            "parvis": (direct + quote(f"/dav{who['space']}/Bench/{big}/"), auth),
            "wsgidav": (peer + quote(f"/{big}/"), []),
        }
        for url, headers in targets.values():  # warm: credentials, caches, the peer's first listing
            propfind(url, FOUR, headers)
        for label in BODIES:
            for name in targets:
                times[f"{name} {label}"] = []
        times["raw scandir+stat"] = []
        for rep in range(args.reps):
            for label, body in BODIES.items():
                for name, (url, headers) in targets.items():
                    result = propfind(url, body, headers)
                    key = f"{name} {label}"
                    times[key].append(result["time"] * 1000)
                    sizes[key] = result["size"]
                    print(
                        f"rep {rep + 1} {key:18s} {times[key][-1]:8.0f} ms {result['size']:>10.0f} B",
                        flush=True,
                    )
            times["raw scandir+stat"].append(scan(peer_root / big) * 1000)
    medians = {key: median(values) for key, values in times.items()}
    ratios = {
        f"parvis / wsgidav ({label})": medians[f"parvis {label}"] / medians[f"wsgidav {label}"]
        for label in BODIES
    }
    ratios["parvis 4 props / raw scan"] = medians["parvis 4 props"] / medians["raw scandir+stat"]
    per_entry = {key: size / (args.files + 1) for key, size in sizes.items()}
    for key, values in times.items():
        print(f"{key:22s} median {medians[key]:7.1f} ms  spread {spread(values)}")
    for key, value in ratios.items():
        print(f"{key:32s} {value:5.2f}")
    save(
        f"g3-{db_label(args.database)}",
        {
            "files": args.files,
            "reps": args.reps,
            "seeding_s": seeding,
            "ms": times,
            "medians_ms": medians,
            "ratios": ratios,
            "bytes": sizes,
            "bytes_per_entry": per_entry,
            "sql_queries": queries,
        },
    )


if __name__ == "__main__":
    main()
