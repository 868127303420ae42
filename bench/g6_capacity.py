"""G6 — discussion capacity on the 2-vCPU box, PostgreSQL on the same machine: simulated active
users, each doing Mattermost's own action mix (its load-test "simulative controller"), are
added step by step until Mattermost's health thresholds break: average request > 100 ms, or
p99 > 2 s, or errors > 0.025 %. The result is the highest passing user count ÷ 217, the
ceiling Mattermost published for one 2-vCPU app node (with its database on a machine of its own).

Each user has a signed-in session (bench/seed.py `chat_world`), one keep-alive HTTP connection
(reopened after 4 s idle, as uvicorn closes it after 5) and the websocket of the page she is on,
and waits 1 s + an exponential draw of mean 19 s between actions (Mattermost's defaults:
MinIdleTimeMs 1000, AvgIdleTimeMs 20000). Actions, with Mattermost's frequencies, as they apply
to Parvis's pages and websocket:

    SwitchChannel 6.52     GET another channel's page of her space, reopen the websocket on it,
                           `sync` from the channel's head, `read` mark
    OpenDirectChannel 0.98 the same on her private conversation
    ScrollChannel 1.99     GET the current channel's page `?avant=N` (50 older threads)
    UnreadCheck 1.00       GET the private conversations' list (its unread counts)
    CreatePost 1.00        `typing`, then `post` over the websocket (18 % answers in a thread)
    ViewThread 0.28 + ClickPermalink 0.30   GET a thread's page
    UpdateThreadRead 0.32  `read` over the websocket
    AddReaction 0.13       `react` over the websocket
    EditPost 0.04          `edit` of her last message
    SearchPosts 0.02       GET the space's search for a number
    ReconnectWebSocket 0.14

Mattermost's actions with no Parvis counterpart (ViewGlobalThreads 0.60, custom status,
sidebar categories, …) are left out. Every page GET, websocket opening (until `ready`) and
websocket request (until its `ack` / `sync`) is one request; an error is a status ≥ 400, a
refusal frame, a socket closed by the server, or no answer in 30 s. Each step adds users (4
per second, as Mattermost's ceiling tests log them in), lets them settle 5 s, then measures
for `--step-seconds`; the users stay for the next step.

Parvis (uvicorn, one process) on CPU 0, the driver (one asyncio process, `websockets` on
uvloop) on CPU 1; PostgreSQL is the machine's own server, free to run on both. With
`--processes N` (the scale set-up: N web processes on one port, Redis as the channel layer,
results in `g6-postgresql-N-processes.json`) the web processes may run on every CPU, the
driver's too, and their CPU share is summed (it can pass 100 %; Redis's is not counted): on a
2-vCPU box the driver then competes with the server, which the figures include.

    .venv/bin/python bench/g6_capacity.py [--users 1,2,5,10,25,50,100,…,3000]
        [--step-seconds 60] [--history 1000000] [--spaces 20] [--channels 5] [--database URL]
        [--processes N]

Internal: `--driver CONFIG.json` runs the load generator, printing one JSON line per step.
"""

import argparse
import asyncio
import contextlib
import json
import os
import random
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
    TOOLS,
    WORK,
    cpu_seconds,
    free_port,
    parvis,
    pinned,
    redis_server,
    save,
    servers,
)

PG_CHAT = "postgres://postgres@127.0.0.1:5432/parvis_bench_chat"
MATTERMOST_CEILING = 217  # users, 1 × c7i.large app node (ceiling tests v2, v9.5)
AVG_MS, P99_MS, ERRORS = 100.0, 2000.0, 0.00025
TIMEOUT = 30.0
IDLE_HTTP = 4.0  # uvicorn's keep-alive timeout is 5 s
JOIN_RATE = 4.0  # users started per second (Mattermost's ceiling tests: 8 logins every 2 s)
STEPS = "1,2,5,10,25,50,100,150,200,300,400,600,800,1000,1200,1500,2000,2500,3000"
LIVE = ('{"type":"event"', '{"type":"activity"', '{"type":"typing"', '{"type":"read"')
MIX = {
    "switch": 6.5219,
    "direct": 0.9843,
    "scroll": 1.9873,
    "unread": 1.0,
    "post": 1.0,
    "thread": 0.2841 + 0.3,
    "thread_read": 0.3236,
    "reaction": 0.1306,
    "edit": 0.04,
    "search": 0.0218,
    "reconnect": 0.144,
}


# --- Driver (CPU 1) -----------------------------------------------------------------------------


class Failed(Exception):
    pass


class Recorder:
    def __init__(self) -> None:
        self.samples: list[tuple[str, float]] = []
        self.errors: dict[str, int] = {}
        self.error_examples: list[str] = []

    def ok(self, kind: str, ms: float) -> None:
        self.samples.append((kind, ms))

    def failed(self, kind: str, why: str) -> None:
        self.errors[kind] = self.errors.get(kind, 0) + 1
        if len(self.error_examples) < 10:
            self.error_examples.append(f"{kind}: {why}"[:300])


class Http:
    """One keep-alive HTTP/1.1 connection, GET only, reopened after IDLE_HTTP seconds."""

    def __init__(self, port: int, cookie: str) -> None:
        self.port = port
        self.head = f"Host: 127.0.0.1:{port}\r\nCookie: {cookie}\r\nAccept: text/html\r\n\r\n"
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.used = 0.0

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None

    async def get(self, path: str) -> int:
        if self.writer is None or time.monotonic() - self.used > IDLE_HTTP:
            self.close()
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        assert self.reader is not None
        assert self.writer is not None
        self.writer.write(f"GET {path} HTTP/1.1\r\n{self.head}".encode())
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {k.lower(): v.strip() for k, _, v in (x.partition(":") for x in lines[1:] if x)}
        if "content-length" in headers:
            await self.reader.readexactly(int(headers["content-length"]))
        elif headers.get("transfer-encoding") == "chunked":
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).strip(), 16)
                await self.reader.readexactly(size + 2)
                if size == 0:
                    break
        if headers.get("connection", "").lower() == "close":
            self.close()
        self.used = time.monotonic()
        return status


class User:
    def __init__(self, driver: "Driver", n: int) -> None:
        config = driver.config
        self.driver = driver
        self.rec = driver.rec
        self.key = config["sessions"][n]
        self.space = config["spaces"][config["space_of"][n]]
        self.direct = config["direct_of"][n]
        self.channel = self.space["channels"][0]
        self.conversation = self.channel["id"]
        self.cookie = f"{config['cookie']}={self.key}"
        self.http = Http(config["port"], self.cookie)
        self.ws: Any = None
        self.reader: asyncio.Task[None] | None = None
        self.pending: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self.mine: tuple[int, int] | None = None  # her last message: (conversation, id)
        self.rng = random.Random(n)

    # --- requests

    async def timed(self, kind: str, call: Any) -> Any:
        start = time.perf_counter()
        try:
            result = await asyncio.wait_for(call, TIMEOUT)
        except Exception as error:
            self.rec.failed(kind, f"{type(error).__name__} {error}")
            return None
        self.rec.ok(kind, (time.perf_counter() - start) * 1000)
        return result

    async def page(self, kind: str, path: str) -> None:
        async def get() -> int:
            status = await self.http.get(path)
            if status >= 400:
                self.http.close()
                raise Failed(f"HTTP {status} {path}")
            return status

        await self.timed(kind, get())

    async def ask(self, kind: str, content: dict[str, Any], key: str) -> dict[str, Any] | None:
        async def call() -> dict[str, Any]:
            if self.ws is None:
                raise Failed("no websocket")
            future = asyncio.get_running_loop().create_future()
            self.pending[key] = future
            await self.ws.send(json.dumps(content))
            answer = await future
            if answer.get("type") == "error":
                raise Failed(json.dumps(answer, ensure_ascii=False))
            return answer

        try:
            return await self.timed(kind, call())  # type: ignore[no-any-return]
        finally:
            self.pending.pop(key, None)

    async def listen(self, ws: Any) -> None:
        try:
            async for frame in ws:
                if frame.startswith(LIVE):
                    continue
                content = json.loads(frame)
                kind = content.get("type")
                key = content.get("client_id") or kind
                future = self.pending.get(str(key))
                if future is not None and not future.done():
                    future.set_result(content)
        except Exception as error:
            if self.ws is ws and self.driver.running:
                code = getattr(getattr(error, "rcvd", None), "code", type(error).__name__)
                self.rec.failed("socket", f"closed by the server: {code}")
                self.ws = None

    async def open_ws(self) -> None:
        from websockets.asyncio.client import connect

        await self.close_ws()
        config = self.driver.config

        async def opening() -> Any:
            ws = await connect(
                f"ws://127.0.0.1:{config['port']}/ws/discussion/{self.conversation}/",
                additional_headers={"Origin": config["origin"], "Cookie": self.cookie},
                compression=None,
                max_queue=None,
                ping_interval=None,
                open_timeout=TIMEOUT,
            )
            ready = json.loads(await ws.recv())
            if ready.get("type") != "ready":
                await ws.close()
                raise Failed(f"not ready: {ready}")
            return ws

        ws = await self.timed("ws_open", opening())
        if ws is not None:
            self.ws = ws
            self.reader = asyncio.create_task(self.listen(ws))

    async def close_ws(self) -> None:
        ws, self.ws = self.ws, None
        if ws is not None:
            if self.reader is not None:
                self.reader.cancel()
            await ws.close()

    def head(self) -> int:
        return int(self.driver.heads.get(self.conversation, 0))

    async def enter(self, conversation: int, path: str, kind: str) -> None:
        self.conversation = conversation
        await self.page(kind, path)
        await self.open_ws()
        await self.ask("sync", {"type": "sync", "after": max(0, self.head() - 1)}, "sync")
        await self.ask("read", {"type": "read", "client_id": "r", "seq": self.head()}, "r")

    def channel_path(self, channel: dict[str, Any], query: str = "") -> str:
        org = self.driver.config["org"]
        return f"/o/{org}/e/{self.space['slug']}/discussion/{channel['id']}/{query}"

    def message_id(self) -> int | None:
        """A message of the channel she is on (none in a private conversation)."""
        low, high = self.channel["ids"] if self.conversation == self.channel["id"] else (0, 0)
        return self.rng.randint(low, high) if high else None

    # --- actions

    async def act(self, action: str) -> None:
        org = self.driver.config["org"]
        if action == "switch":
            others = [c for c in self.space["channels"] if c["id"] != self.conversation] or self.space[
                "channels"
            ]
            self.channel = self.rng.choice(others)
            await self.enter(self.channel["id"], self.channel_path(self.channel), "channel_page")
        elif action == "direct" and self.direct:
            await self.enter(self.direct, f"/o/{org}/messages/{self.direct}/", "direct_page")
        elif action == "scroll":
            head = max(self.head(), 60)
            await self.page(
                "scroll_page", self.channel_path(self.channel, f"?avant={self.rng.randint(51, head)}")
            )
        elif action == "unread":
            await self.page("direct_list", f"/o/{org}/messages/")
        elif action == "post":
            if self.ws is not None:
                await self.ws.send('{"type": "typing"}')
            cid = str(uuid.uuid4())
            content: dict[str, Any] = {"type": "post", "client_id": cid, "body": f"Réponse de test {cid[:8]}"}
            parent = self.message_id() if self.rng.random() < 0.18 else None
            if parent:
                content["parent"] = parent
            answer = await self.ask("post", content, cid)
            if answer is not None:
                self.mine = (self.conversation, answer["id"])
                seq = answer.get("seq") or 0
                if seq > self.driver.heads.get(self.conversation, 0):
                    self.driver.heads[self.conversation] = seq
        elif action == "thread":
            mid = self.message_id()
            if mid:
                await self.page("thread_page", f"/o/{org}/discussion/{self.conversation}/message/{mid}/")
        elif action == "thread_read":
            await self.ask("read", {"type": "read", "client_id": "r", "seq": self.head()}, "r")
        elif action == "reaction":
            mid = self.message_id()
            if mid:
                cid = str(uuid.uuid4())
                await self.ask("react", {"type": "react", "client_id": cid, "id": mid, "emoji": "👍"}, cid)
        elif action == "edit" and self.mine and self.mine[0] == self.conversation:
            cid = str(uuid.uuid4())
            edit = {"type": "edit", "client_id": cid, "id": self.mine[1], "body": f"Modifié {cid[:8]}"}
            await self.ask("edit", edit, cid)
        elif action == "search":
            words = self.rng.randint(1, 9999)
            await self.page("search_page", f"/o/{org}/e/{self.space['slug']}/discussion/recherche/?q={words}")
        elif action == "reconnect":
            await self.open_ws()
            await self.ask("sync", {"type": "sync", "after": max(0, self.head() - 1)}, "sync")

    async def run(self) -> None:
        config = self.driver.config
        names, weights = list(MIX), list(MIX.values())
        await self.enter(self.channel["id"], self.channel_path(self.channel), "channel_page")
        while self.driver.running:
            idle = config["idle_min"] + self.rng.expovariate(1 / (config["idle_avg"] - config["idle_min"]))
            await asyncio.sleep(idle)
            if not self.driver.running:
                break
            await self.act(self.rng.choices(names, weights)[0])

    async def stop(self) -> None:
        self.http.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.close_ws(), 5)


class Driver:
    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config
        self.rec = Recorder()
        self.running = True
        self.heads: dict[int, int] = {}
        for space in config["spaces"]:
            for channel in space["channels"]:
                self.heads[channel["id"]] = channel["head"]

    async def lag(self, samples: list[float]) -> None:
        """How late the driver's own loop wakes up (its latency, added to every request's)."""
        while self.running:
            start = time.perf_counter()
            await asyncio.sleep(0.1)
            samples.append((time.perf_counter() - start - 0.1) * 1000)

    async def main(self) -> None:
        config = self.config
        users: list[User] = []
        tasks: list[asyncio.Task[None]] = []
        lags: list[float] = []
        lagger = asyncio.create_task(self.lag(lags))
        pid = config["server_pid"]
        for target in config["users"]:
            if target > len(config["sessions"]):
                break
            while len(users) < target:
                user = User(self, len(users))
                users.append(user)
                tasks.append(asyncio.create_task(user.run()))
                await asyncio.sleep(1 / JOIN_RATE)
            await asyncio.sleep(5)
            self.rec = Recorder()
            for user in users:
                user.rec = self.rec
            lags.clear()
            cpu0, mine0, t0 = cpu_seconds(pid), resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
            await asyncio.sleep(config["step_seconds"])
            wall = time.perf_counter() - t0
            mine1 = resource.getrusage(resource.RUSAGE_SELF)
            step = self.summary(target, wall, lags)
            step["server_cpu_percent"] = 100 * (cpu_seconds(pid) - cpu0) / wall
            step["driver_cpu_percent"] = (
                100 * (mine1.ru_utime + mine1.ru_stime - mine0.ru_utime - mine0.ru_stime) / wall
            )
            print(json.dumps(step, ensure_ascii=False), flush=True)
            if not step["passed"]:
                break
        self.running = False
        lagger.cancel()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await asyncio.gather(*(u.stop() for u in users), return_exceptions=True)

    def summary(self, users: int, wall: float, lags: list[float]) -> dict[str, Any]:
        rec = self.rec
        times = sorted(ms for _kind, ms in rec.samples)
        errors = sum(rec.errors.values())
        count = len(times) + errors
        by_kind: dict[str, list[float]] = {}
        for kind, ms in rec.samples:
            by_kind.setdefault(kind, []).append(ms)

        def p(values: list[float], q: float) -> float:
            values = sorted(values)
            return values[min(len(values) - 1, int(q * len(values)))] if values else 0.0

        avg = sum(times) / len(times) if times else 0.0
        p99 = p(times, 0.99)
        rate = errors / count if count else 0.0
        return {
            "users": users,
            "requests": count,
            "requests_per_s": count / wall,
            "avg_ms": avg,
            "p50_ms": p(times, 0.5),
            "p99_ms": p99,
            "errors": errors,
            "error_rate": rate,
            "passed": bool(times) and avg <= AVG_MS and p99 <= P99_MS and rate <= ERRORS,
            "by_kind": {
                kind: {"n": len(v), "avg_ms": sum(v) / len(v), "p99_ms": p(v, 0.99)}
                for kind, v in sorted(by_kind.items())
            },
            "errors_by_kind": rec.errors,
            "error_examples": rec.error_examples,
            "driver_lag_p99_ms": p(lags, 0.99),
        }


def driver(config_path: str) -> None:
    import uvloop

    resource.setrlimit(resource.RLIMIT_NOFILE, (resource.getrlimit(resource.RLIMIT_NOFILE)[1],) * 2)
    uvloop.run(Driver(json.loads(Path(config_path).read_text())).main())


# --- The run ------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", default=STEPS, help="the steps, comma-separated")
    parser.add_argument("--step-seconds", type=float, default=60.0)
    parser.add_argument("--history", type=int, default=1_000_000)
    parser.add_argument("--spaces", type=int, default=20)
    parser.add_argument("--channels", type=int, default=5, help="per space")
    parser.add_argument("--idle-min", type=float, default=1.0)
    parser.add_argument("--idle-avg", type=float, default=20.0)
    parser.add_argument("--database", default=PG_CHAT)
    parser.add_argument(
        "--processes", type=int, default=1, help="web processes (more than one: with Redis, on every CPU)"
    )
    args = parser.parse_args()
    args.users = [int(n) for n in args.users.split(",")]
    people = max(args.users)
    resource.setrlimit(resource.RLIMIT_NOFILE, (resource.getrlimit(resource.RLIMIT_NOFILE)[1],) * 2)
    steps: list[dict[str, Any]] = []
    with parvis("g6", args.database) as inst, servers() as running:
        began = time.perf_counter()
        world = inst.seed(
            "chat_world",
            people=people,
            role="contributor",
            spaces=args.spaces,
            channels=args.channels,
            history=args.history,
            directs=True,
        )
        seeded = time.perf_counter() - began
        print(f"seeded {args.history} messages, {people} people in {seeded:.0f} s", flush=True)
        port = free_port()
        extra = {"REDIS_URL": redis_server(running)} if args.processes > 1 else {}
        http = inst.serve(running, port, args.processes, **extra)
        server = running.processes[-1]
        config = {
            **world,
            **{k: getattr(args, k) for k in ("users", "step_seconds", "idle_min", "idle_avg")},
            "port": port,
            "origin": http,
            "server_pid": server.pid,
        }
        path = WORK / "g6-driver.json"
        path.write_text(json.dumps(config))
        try:
            process = subprocess.Popen(
                pinned(CLIENT_CPU, PY, __file__, "--driver", str(path)),
                stdout=subprocess.PIPE,
                cwd=BENCH,
                env={**os.environ, "PYTHONPATH": str(TOOLS)},
            )
            assert process.stdout is not None
            for line in process.stdout:
                step = json.loads(line)
                steps.append(step)
                print(
                    f"{step['users']:5d} users  {step['requests_per_s']:6.1f} req/s"
                    f"  avg {step['avg_ms']:6.1f} ms  p99 {step['p99_ms']:7.1f} ms"
                    f"  errors {step['errors']} ({100 * step['error_rate']:.3f} %)"
                    f"  cpu parvis {step['server_cpu_percent']:3.0f} %"
                    f" driver {step['driver_cpu_percent']:3.0f} %  {'ok' if step['passed'] else 'FAILED'}",
                    flush=True,
                )
            if process.wait() != 0:
                raise RuntimeError("the driver failed")
        finally:
            path.unlink(missing_ok=True)
    passing = [s["users"] for s in steps if s["passed"]]
    best = max(passing, default=0)
    ratio = best / MATTERMOST_CEILING
    print(f"highest passing: {best} users = {ratio:.2f} × Mattermost's {MATTERMOST_CEILING}")
    save(
        "g6-postgresql" + (f"-{args.processes}-processes" if args.processes > 1 else ""),
        {
            "web_processes": args.processes,
            "channel_layer": "redis" if args.processes > 1 else "in-memory",
            "dataset": {
                "messages": args.history,
                "people": people,
                "spaces": args.spaces,
                "channels": args.spaces * args.channels,
            },
            "seed_seconds": seeded,
            "mix": MIX,
            "idle_s": {"min": args.idle_min, "avg": args.idle_avg},
            "thresholds": {"avg_ms": AVG_MS, "p99_ms": P99_MS, "error_rate": ERRORS},
            "steps": steps,
            "highest_passing_users": best,
            "ratios": {"users / Mattermost 217": ratio},
            "goal_met": best >= 1000,
        },
    )


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--driver":
        driver(sys.argv[2])
    else:
        main()
