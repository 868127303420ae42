"""G5 — discussion fan-out: one sender posts to a channel at 10 messages/s for 60 s while 1,000
other members have its page open (one websocket each); every message is stored in PostgreSQL
before it is fanned out (parvis/chat/actions.py). Measured over all receivers: p50/p99 of
send → receive, lost and duplicated messages. The same load, in the same run, against a bare
`websockets` broadcast server (bench/ws_peer.py) — the Python floor. Goal: p99 Parvis ÷ p99 bare
≤ 2, Parvis p99 ≤ 250 ms, nothing lost or duplicated.

Alternating bare / Parvis, N repetitions; each server on CPU 0, the load generator (all 1,001
asyncio websocket clients, `websockets` on uvloop, in one process) on CPU 1. The members are
seeded with a signed-in session each (bench/seed.py `chat_world`); the sender is elu, a
contributor, posting over the websocket as the page does (`post` with a client id, `ack`).
A message counts as received by a page when its `event` frame arrives live, at the latest 15 s
after the last send (no resync after the run); it is lost for a page that did not get it by
then — `lost_after_ack` counts only the messages whose storage was acknowledged to the sender —
and duplicated for one that got it twice.
Parvis's CPU time during the sending phase is recorded too.

    .venv/bin/python bench/g5_fanout.py [--reps 5] [--clients 1000] [--rate 10] [--seconds 60]
                                        [--database URL] [--redis]

`--redis` runs Parvis with the Redis channel layer (the scale setup; redis-server on CPU 0).
Internal: `--client CONFIG.json` runs the load generator and prints one JSON line.
"""

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from common import (
    BENCH,
    CLIENT_CPU,
    PY,
    SERVER_CPU,
    TOOLS,
    WORK,
    cpu_seconds,
    free_port,
    median,
    parvis,
    pinned,
    redis_server,
    save,
    servers,
)

PG_CHAT = "postgres://postgres@127.0.0.1:5432/parvis_bench_chat"
MARK = '"src":"g5 '  # where a receiver finds the message's number in a frame, without parsing it
HANDSHAKES = 50  # connections opened at once


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


# --- Load generator (CPU 1) ---------------------------------------------------------------------


async def load(config: dict[str, Any]) -> dict[str, Any]:
    from websockets.asyncio.client import connect

    url, total, rate = config["url"], config["messages"], config["rate"]
    headers = {"Origin": config["origin"]}

    def open_socket(key: str | None) -> Any:
        cookie = {"Cookie": f"{config['cookie']}={key}"} if key else {}
        return connect(
            url,
            additional_headers={**headers, **cookie},
            compression=None,
            max_queue=None,
            open_timeout=120,
            ping_interval=None,
        )

    sent: list[float] = [0.0] * total
    latencies: list[float] = []
    seen = [bytearray(total) for _ in config["sessions"]]
    duplicates = 0
    closed: dict[str, int] = {}
    gate = asyncio.Semaphore(HANDSHAKES)

    async def opened(key: str | None) -> Any:
        async with gate:
            ws = await open_socket(key)
            ready = json.loads(await ws.recv())
            if ready.get("type") != "ready":
                raise RuntimeError(f"not ready: {ready}")
            return ws

    async def listen(n: int, ws: Any) -> None:
        nonlocal duplicates
        mine = seen[n]
        try:
            async for frame in ws:
                now = time.perf_counter()
                at = frame.find(MARK)
                if at < 0 or not frame.startswith('{"type":"event"'):
                    continue
                start = at + len(MARK)
                k = int(frame[start : frame.index('"', start)])
                if mine[k]:
                    duplicates += 1
                    continue
                mine[k] = 1
                latencies.append(now - sent[k])
        except Exception as error:  # a close by the server (4408 too slow…) ends this page
            code = str(getattr(getattr(error, "rcvd", None), "code", type(error).__name__))
            closed[code] = closed.get(code, 0) + 1

    began = time.perf_counter()
    receivers = await asyncio.gather(*(opened(key) for key in config["sessions"]))
    sender = await opened(config.get("sender"))
    connect_seconds = time.perf_counter() - began
    if config.get("connected_file"):  # for a profiler that should see only the sending phase
        Path(config["connected_file"]).write_text("connected")
    tasks = [asyncio.create_task(listen(n, ws)) for n, ws in enumerate(receivers)]
    acks: dict[str, float] = {}
    ack_ms: list[float] = []
    refused: list[str] = []
    posted: dict[str, float] = {}
    number: dict[str, int] = {}

    async def read_acks() -> None:
        async for frame in sender:
            content = json.loads(frame)
            if content.get("type") == "ack" and content.get("client_id") in posted:
                cid = content["client_id"]
                acks[cid] = time.perf_counter()
                ack_ms.append((acks[cid] - posted[cid]) * 1000)
            elif content.get("type") == "error":
                refused.append(frame[:200])

    reader = asyncio.create_task(read_acks())
    pid = config.get("server_pid")
    cpu_before = cpu_seconds(pid) if pid else 0.0
    t0 = time.perf_counter()
    for k in range(total):
        delay = t0 + k / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        cid = str(uuid.uuid4())
        number[cid] = k
        sent[k] = posted[cid] = time.perf_counter()
        await sender.send(json.dumps({"type": "post", "client_id": cid, "body": f"g5 {k}"}))
    send_seconds = time.perf_counter() - t0
    deadline = time.perf_counter() + 15
    expected = len(receivers) * total
    while time.perf_counter() < deadline and (len(latencies) < expected or len(acks) < total):
        if all(t.done() for t in tasks):
            break
        await asyncio.sleep(0.2)
    wall = time.perf_counter() - t0
    cpu = (cpu_seconds(pid) - cpu_before) if pid else 0.0
    reader.cancel()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*(ws.close() for ws in [*receivers, sender]), return_exceptions=True)
    lost = sum(total - sum(mine) for mine in seen)
    stored = [number[cid] for cid in acks]
    lost_acked = sum(1 for mine in seen for k in stored if not mine[k])
    ms = [x * 1000 for x in latencies]
    return {
        "receivers": len(receivers),
        "messages": total,
        "acked": len(acks),
        "refused": refused[:5],
        "received": len(latencies),
        "lost": lost,
        "lost_after_ack": lost_acked,
        "duplicated": duplicates,
        "closed_early": closed,
        "connect_s": connect_seconds,
        "send_s": send_seconds,
        "p50_ms": percentile(ms, 0.50),
        "p99_ms": percentile(ms, 0.99),
        "max_ms": max(ms) if ms else float("nan"),
        "mean_ms": sum(ms) / len(ms) if ms else float("nan"),
        "ack_p50_ms": percentile(ack_ms, 0.50),
        "ack_p99_ms": percentile(ack_ms, 0.99),
        "server_cpu_percent": 100 * cpu / wall if pid else None,
    }


def client(config_path: str) -> dict[str, Any]:
    import uvloop

    return uvloop.run(load(json.loads(Path(config_path).read_text())))


# --- The run ------------------------------------------------------------------------------------


def peer(running: Any) -> tuple[str, int]:
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(TOOLS)}
    process = running.start(
        pinned(SERVER_CPU, PY, str(BENCH / "ws_peer.py"), str(port)),
        WORK / "logs" / f"ws-peer-{port}.log",
        env,
    )
    for _ in range(100):
        try:
            import socket

            with socket.create_connection(("127.0.0.1", port), timeout=1):
                break
        except OSError:
            time.sleep(0.1)
    return f"ws://127.0.0.1:{port}/", process.pid


def run_client(config: dict[str, Any], rep: int, name: str) -> dict[str, Any]:
    path = WORK / f"g5-{name}-{rep}.json"
    path.write_text(json.dumps(config))
    try:
        done = subprocess.run(
            pinned(CLIENT_CPU, PY, __file__, "--client", str(path)),
            capture_output=True,
            timeout=900,
            check=False,
            cwd=BENCH,
            env={**os.environ, "PYTHONPATH": str(TOOLS)},
        )
    finally:
        path.unlink(missing_ok=True)
    if done.returncode != 0:
        raise RuntimeError(f"{name}: the load generator failed\n{done.stderr.decode()[-3000:]}")
    return json.loads(done.stdout.decode().strip().splitlines()[-1])  # type: ignore[no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=10.0)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--database", default=PG_CHAT)
    parser.add_argument("--redis", action="store_true", help="the Redis channel layer (scale setup)")
    args = parser.parse_args()
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # 1,001 sockets on each side
    messages = int(args.rate * args.seconds)
    runs: dict[str, list[dict[str, Any]]] = {"bare websockets": [], "parvis": []}
    with parvis("g5", args.database) as inst, servers() as running:
        world = inst.seed("chat_world", people=args.clients)
        channel = next(iter(world["channels"]))
        extra = {"REDIS_URL": redis_server(running)} if args.redis else {}
        port = free_port()
        http = inst.serve(running, port, **extra)
        server = running.processes[-1]
        bare_url, bare_pid = peer(running)
        base = {
            "messages": messages,
            "rate": args.rate,
            "cookie": world["cookie"],
            "sessions": world["sessions"],
            "sender": world["sender"],
        }
        for rep in range(args.reps):
            for name in runs:
                if name == "parvis":
                    config = {
                        **base,
                        "url": f"ws://127.0.0.1:{port}/ws/discussion/{channel}/",
                        "origin": http,
                        "server_pid": server.pid,
                    }
                else:
                    config = {**base, "url": bare_url, "origin": http, "server_pid": bare_pid}
                result = run_client(config, rep, name.split()[0])
                runs[name].append(result)
                print(
                    f"rep {rep + 1} {name:16s} p50 {result['p50_ms']:6.1f} ms  p99 {result['p99_ms']:6.1f} ms"
                    f"  max {result['max_ms']:6.0f}  lost {result['lost']}  dup {result['duplicated']}"
                    f"  acked {result['acked']}/{messages}  closed {result['closed_early']}"
                    f"  cpu {result['server_cpu_percent']:.0f}%  connect {result['connect_s']:.1f}s",
                    flush=True,
                )
    medians = {
        f"{name} {key}": median([r[key] for r in results])
        for name, results in runs.items()
        for key in ("p50_ms", "p99_ms", "ack_p99_ms", "server_cpu_percent")
    }
    lost = {name: sum(r["lost"] for r in results) for name, results in runs.items()}
    lost_after_ack = {name: sum(r["lost_after_ack"] for r in results) for name, results in runs.items()}
    duplicated = {name: sum(r["duplicated"] for r in results) for name, results in runs.items()}
    ratios = {
        "p99 parvis / p99 bare": medians["parvis p99_ms"] / medians["bare websockets p99_ms"],
        "p50 parvis / p50 bare": medians["parvis p50_ms"] / medians["bare websockets p50_ms"],
    }
    for name, value in medians.items():
        print(f"{name:34s} median {value:8.1f}")
    for name, value in ratios.items():
        print(f"{name:34s} {value:5.2f}")
    print(f"lost {lost}  of them acknowledged {lost_after_ack}  duplicated {duplicated}")
    goal = ratios["p99 parvis / p99 bare"] <= 2 and medians["parvis p99_ms"] <= 250 and not lost["parvis"]
    save(
        "g5-postgresql" + ("-redis" if args.redis else ""),
        {
            "clients": args.clients,
            "rate": args.rate,
            "seconds": args.seconds,
            "reps": args.reps,
            "channel_layer": "redis" if args.redis else "in-memory",
            "runs": runs,
            "medians": medians,
            "lost": lost,
            "lost_after_ack": lost_after_ack,
            "duplicated": duplicated,
            "ratios": ratios,
            "goal_met": goal and not duplicated["parvis"],
        },
    )


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--client":
        print(json.dumps(client(sys.argv[2])))
    else:
        main()
