"""G4 — durable 4 KiB uploads per second over WebDAV PUT: 2,000 files, 4 concurrent keep-alive
clients (each answer comes after the spool file is fsynced, moved into the store and its
database rows committed) ÷ a raw create+write+fsync loop in Python on the same disk. Goal ≥ 0.25.

Alternating, N repetitions; the server (and the raw loop) on CPU 0, the 4 client threads on
CPU 1. Each repetition PUTs into a new folder (MKCOL first), every file with its own bytes.
wsgidav's FilesystemProvider under cheroot (no fsync) is given for comparison. The raw loop is
one thread (as the anchor measured it); with 4 threads it is also given.

    .venv/bin/python bench/g4_small_uploads.py [--reps 5] [--files 2000] [--database URL]

Internal: `--client URL AUTH FILES CLIENTS` runs the load generator, `--raw DIR FILES THREADS`
the raw loop; each prints one JSON line.
"""

import argparse
import http.client
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import quote, urlsplit

from common import (
    CLIENT_CPU,
    PY,
    SERVER_CPU,
    basic,
    curl,
    db_label,
    drop_page_cache_of_writes,
    free_port,
    median,
    parvis,
    pinned,
    save,
    servers,
    spread,
    wsgidav,
)

SIZE = 4096


def client(url: str, auth: str, files: int, clients: int) -> dict[str, object]:
    """`clients` threads, each one keep-alive connection, PUT files/clients files under url."""
    parts = urlsplit(url)
    bodies = [os.urandom(SIZE) for _ in range(files)]
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    barrier = threading.Barrier(clients + 1)

    def run(k: int) -> None:
        connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=60)
        headers = {"Content-Type": "application/octet-stream"}
        if auth:
            headers["Authorization"] = auth
        connection.connect()
        barrier.wait()
        for n in range(k, files, clients):
            connection.request("PUT", quote(f"{parts.path}/note-{n:05d}.txt"), bodies[n], headers)
            response = connection.getresponse()
            response.read()
            with lock:
                statuses[response.status] = statuses.get(response.status, 0) + 1
        connection.close()

    threads = [threading.Thread(target=run, args=(k,)) for k in range(clients)]
    for thread in threads:
        thread.start()
    barrier.wait()
    start = time.perf_counter()
    for thread in threads:
        thread.join()
    return {"elapsed": time.perf_counter() - start, "statuses": statuses}


def raw(directory: str, files: int, threads: int) -> dict[str, object]:
    """create + write 4 KiB + fsync + close, `files` times."""
    folder = Path(directory)
    folder.mkdir(parents=True)
    bodies = [os.urandom(SIZE) for _ in range(files)]

    def run(k: int) -> None:
        for n in range(k, files, threads):
            fd = os.open(folder / f"note-{n:05d}.txt", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            try:
                os.write(fd, bodies[n])
                os.fsync(fd)
            finally:
                os.close(fd)

    workers = [threading.Thread(target=run, args=(k,)) for k in range(threads)]
    start = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return {"elapsed": time.perf_counter() - start}


def sub(cpu: str, *args: str) -> dict[str, object]:
    done = subprocess.run(
        pinned(cpu, PY, __file__, *args),
        capture_output=True,
        timeout=900,
        check=True,
        cwd=Path(__file__).parent,
    )
    return json.loads(done.stdout.decode().strip().splitlines()[-1])  # type: ignore[no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--database", default="sqlite")
    args = parser.parse_args()
    rates: dict[str, list[float]] = {"raw fsync": [], "raw fsync, 4 threads": [], "parvis": [], "wsgidav": []}
    with parvis("g4", args.database) as inst, servers() as running:
        who = inst.seed("world")
        direct = inst.serve(running, free_port())
        peer_root = inst.var / "peer"
        peer_root.mkdir()
        peer = wsgidav(running, peer_root)
        auth = basic(who["email"], who["secret"])
        dav = direct + f"/dav{who['space']}/Bench"
        curl("-I", "-H", f"Authorization: {auth}", dav + "/")  # the credential is checked once, remembered
        for rep in range(args.reps):
            for name in rates:
                drop_page_cache_of_writes()
                if name.startswith("raw"):
                    threads = "4" if "4 threads" in name else "1"
                    result = sub(
                        SERVER_CPU, "--raw", str(inst.var / f"raw-{rep}-{threads}"), str(args.files), threads
                    )
                else:
                    base, header = (dav, auth) if name == "parvis" else (peer, "")
                    folder = f"{base}/lot-{rep}"
                    made = curl(
                        "-X", "MKCOL", *(["-H", f"Authorization: {header}"] if header else []), folder
                    )
                    if made["code"] != 201:
                        raise RuntimeError(f"MKCOL {folder}: {made}")
                    result = sub(CLIENT_CPU, "--client", folder, header, str(args.files), str(args.clients))
                    if result["statuses"] != {"201": args.files}:
                        raise RuntimeError(f"{name}: {result}")
                rates[name].append(args.files / float(result["elapsed"]))  # type: ignore[arg-type]
                print(f"rep {rep + 1} {name:22s} {rates[name][-1]:7.0f} files/s", flush=True)
    medians = {name: median(values) for name, values in rates.items()}
    ratios = {
        "parvis / raw fsync": medians["parvis"] / medians["raw fsync"],
        "parvis / raw fsync, 4 threads": medians["parvis"] / medians["raw fsync, 4 threads"],
        "parvis / wsgidav": medians["parvis"] / medians["wsgidav"],
    }
    for name, values in rates.items():
        print(f"{name:22s} median {medians[name]:7.0f} files/s  spread {spread(values)}")
    for name, value in ratios.items():
        print(f"{name:30s} {value:5.2f}")
    save(
        f"g4-{db_label(args.database)}",
        {
            "files": args.files,
            "clients": args.clients,
            "reps": args.reps,
            "files_per_s": rates,
            "medians": medians,
            "ratios": ratios,
        },
    )


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--client":
        print(json.dumps(client(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))))
    elif len(sys.argv) > 1 and sys.argv[1] == "--raw":
        print(json.dumps(raw(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))))
    else:
        main()
