"""G2 — upload of a 1 GiB file over WebDAV PUT (authenticated, rights checked; spooled with
inline SHA-256, fsynced, moved into the content-addressed store, then the database rows commit
before the answer) ÷ `dd if=/dev/zero bs=4M count=256 conv=fdatasync` on the same disk. Goal ≥ 0.7.

Setups, alternating, N repetitions each (servers and dd on CPU 0, curl on CPU 1):
  dd               the physical limit (wall time of dd, fdatasync included)
  parvis           curl -T → uvicorn, the embedded setup
  parvis+nginx     curl -T → nginx (proxy_request_buffering off, docs/deploy.md §3) → uvicorn
  wsgidav          wsgidav's FilesystemProvider under cheroot (no fsync, no hash)
Each upload sends different bytes (its first 32 bytes change), so no deduplication helps; the
source file sits in the page cache, nothing dirty is left between two measurements.

    .venv/bin/python bench/g2_upload.py [--reps 5] [--size-mib 1024] [--database URL]
"""

import argparse
import os
import subprocess
import time
import uuid

from common import (
    SERVER_CPU,
    WORK,
    basic,
    curl,
    db_label,
    drop_page_cache_of_writes,
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
from g1_download import make_source


def dd(size_mib: int) -> float:
    target = WORK / "g2-dd.bin"
    start = time.perf_counter()
    subprocess.run(
        pinned(
            SERVER_CPU,
            "dd",
            "if=/dev/zero",
            f"of={target}",
            "bs=4M",
            f"count={size_mib // 4}",
            "conv=fdatasync",
        ),
        check=True,
        capture_output=True,
        timeout=600,
    )
    elapsed = time.perf_counter() - start
    target.unlink()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--database", default="sqlite")
    parser.add_argument("--nginx-cpus", default="0", help='"0,1": nginx not pinned with the server')
    args = parser.parse_args()
    size = args.size_mib << 20
    WORK.mkdir(parents=True, exist_ok=True)
    source = WORK / "g2-source.bin"
    make_source(source, size)
    speeds: dict[str, list[float]] = {"dd": [], "parvis": [], "parvis+nginx": [], "wsgidav": []}
    try:
        with parvis("g2", args.database) as inst, servers() as running:
            who = inst.seed("world")
            port = free_port()
            direct = inst.serve(running, port)
            proxy = nginx(running, inst.var / "blobs", port, args.nginx_cpus)
            peer_root = inst.var / "peer"
            peer_root.mkdir()
            peer = wsgidav(running, peer_root)
            auth = ["-H", f"Authorization: {basic(who['email'], who['secret'])}"]
            dav = f"/dav{who['space']}/Bench"
            curl("-I", *auth, direct + dav + "/")  # credentials checked once and remembered
            curl("-I", *auth, proxy + dav + "/")
            for rep in range(args.reps):
                for name in speeds:
                    drop_page_cache_of_writes()
                    if name == "dd":
                        elapsed = dd(args.size_mib)
                    else:
                        with source.open("r+b") as f:
                            os.pwrite(f.fileno(), uuid.uuid4().bytes * 2, 0)
                        url = {
                            "parvis": direct + dav,
                            "parvis+nginx": proxy + dav,
                            "wsgidav": peer,
                        }[name] + f"/envoi-{rep}-{name.replace('+', '-')}.bin"
                        headers = [] if name == "wsgidav" else auth
                        result = curl("-T", str(source), "-H", "Expect:", *headers, url)
                        if result["code"] not in (201, 204) or result["up"] != size:
                            raise RuntimeError(f"{name}: {result}")
                        elapsed = result["time"]
                        if name == "wsgidav":
                            (peer_root / url.rsplit("/", 1)[1]).unlink()
                    speeds[name].append(size / elapsed / 1e6)
                    print(f"rep {rep + 1} {name:13s} {speeds[name][-1]:8.0f} MB/s", flush=True)
    finally:
        source.unlink(missing_ok=True)
    medians = {name: median(values) for name, values in speeds.items()}
    ratios = {
        "parvis / dd": medians["parvis"] / medians["dd"],
        "parvis+nginx / dd": medians["parvis+nginx"] / medians["dd"],
        "wsgidav / dd": medians["wsgidav"] / medians["dd"],
    }
    for name, values in speeds.items():
        print(f"{name:13s} median {medians[name]:7.0f} MB/s  spread {spread(values)}")
    for name, value in ratios.items():
        print(f"{name:20s} {value:5.2f}")
    save(
        f"g2-{db_label(args.database)}" + ("" if args.nginx_cpus == "0" else "-nginx-unpinned"),
        {
            "size": size,
            "reps": args.reps,
            "nginx_cpus": args.nginx_cpus,
            "mb_per_s": speeds,
            "medians": medians,
            "ratios": ratios,
        },
    )


if __name__ == "__main__":
    main()
