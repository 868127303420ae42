"""G1 — download of a 1 GiB file over WebDAV (Basic auth with an app password, rights of the
space and folder checked) ÷ nginx serving the same file from disk. Goal ≥ 0.8.

Four setups, alternating, N repetitions each, all servers on CPU 0 and curl on CPU 1:
  nginx            nginx 1.22 sends the blob file itself (sendfile on): the peer
  parvis+nginx     docs/deploy.md §3: nginx → uvicorn, Parvis answers X-Accel-Redirect to /_blobs/
  parvis           uvicorn alone, Parvis streams the file (async, 4 MiB reads, 1 MiB messages)
  wsgidav          wsgidav's FilesystemProvider under cheroot: the pure-Python floor
The same inode is served by all four (the peers get a hard link to Parvis's blob), warm in the
page cache.

    .venv/bin/python bench/g1_download.py [--reps 5] [--size-mib 1024]
"""

import argparse
import os
import subprocess
import time
from pathlib import Path

from common import (
    CLIENT_CPU,
    WORK,
    basic,
    curl,
    free_port,
    median,
    nginx,
    parvis,
    pinned,
    save,
    servers,
    spread,
    wsgidav,
)

NAME = "archives-2024.bin"


def make_source(path: Path, size: int) -> None:
    block = 4 << 20
    with path.open("wb") as f:
        for _ in range(size // block):
            f.write(os.urandom(block))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--size-mib", type=int, default=1024)
    args = parser.parse_args()
    size = args.size_mib << 20
    with parvis("g1", "sqlite") as inst, servers() as running:
        who = inst.seed("world")
        source = WORK / "g1-source.bin"
        make_source(source, size)
        stored = inst.seed("big_file", source=str(source), folder="Bench", name=NAME)
        source.unlink()
        blob = Path(stored["blob"])
        peer_root = inst.var / "peer"
        peer_root.mkdir()
        os.link(blob, peer_root / NAME)  # the same inode for every setup
        blobs = blob.parents[2]
        direct_port, accel_port = free_port(), free_port()
        direct = inst.serve(running, direct_port)
        inst.serve(running, accel_port, PARVIS_ACCEL_REDIRECT="/_blobs/")
        proxy = nginx(running, blobs, accel_port)
        peer = wsgidav(running, peer_root)
        auth = basic(who["email"], who["secret"])
        dav = f"/dav{who['space']}/Bench/{NAME}"
        relative = blob.relative_to(blobs)
        setups = {
            "nginx": [f"{proxy}/static-blobs/{relative}"],
            "parvis+nginx": ["-H", f"Authorization: {auth}", proxy + dav],
            "parvis": ["-H", f"Authorization: {auth}", direct + dav],
            "wsgidav": [f"{peer}/{NAME}"],
        }
        subprocess.run(
            pinned(CLIENT_CPU, "cat", str(blob)), stdout=subprocess.DEVNULL, check=True
        )  # warm cache
        for target in setups.values():  # credentials checked once and remembered, like a client's
            curl("-I", *target)
        speeds: dict[str, list[float]] = {name: [] for name in setups}
        for rep in range(args.reps):
            for name, target in setups.items():
                result = curl(*target)
                if result["code"] != 200 or result["size"] != size:
                    raise RuntimeError(f"{name}: {result}")
                speeds[name].append(size / result["time"] / 1e6)
                print(f"rep {rep + 1} {name:13s} {speeds[name][-1]:8.0f} MB/s", flush=True)
                time.sleep(0.5)
    medians = {name: median(values) for name, values in speeds.items()}
    ratios = {
        "parvis / nginx": medians["parvis"] / medians["nginx"],
        "parvis+nginx / nginx": medians["parvis+nginx"] / medians["nginx"],
        "wsgidav / nginx": medians["wsgidav"] / medians["nginx"],
        "parvis / wsgidav": medians["parvis"] / medians["wsgidav"],
    }
    for name, values in speeds.items():
        print(f"{name:13s} median {medians[name]:7.0f} MB/s  spread {spread(values)}")
    for name, value in ratios.items():
        print(f"{name:22s} {value:5.2f}")
    save("g1", {"size": size, "reps": args.reps, "mb_per_s": speeds, "medians": medians, "ratios": ratios})


if __name__ == "__main__":
    main()
