"""Benchmark: the exam room under load, on gunicorn and PostgreSQL, with a worker killed mid-load.

Sets up a throw-away PostgreSQL database (the local server from EXAMSVC_TEST_DATABASE_URL or
127.0.0.1:5432), an open session of N candidates on two locked forms, starts ``examsvc serve``,
and drives it from an asyncio + httpx load generator on this machine (loopback only):

1. start: every candidate signs in (ticket + ID number), loads the room and the first item; the
   time until all have done so (target: 2,000 within 60 s) and latency percentiles;
2. saves: open-loop answer saves at a fixed rate (target 300/s, p99 under 200 ms);
3. limits: closed-loop saves and closed-loop ``/healthz`` (a trivial endpoint on the same
   server): their throughput ratio is the cost of a save against this stack's floor;
4. durability: during sustained saves one gunicorn worker is killed with SIGKILL; afterwards every
   save the server acknowledged must be in the database (same or newer sequence number), and the
   candidates carry on.
Prints one JSON line. Requires the ``bench`` extra (httpx).

Run: ``python tests/benchmarks/delivery.py [--candidates 2000] [--rate 300] [--seconds 20] [--workers 4]``
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

try:
    import httpx
except ImportError:  # pragma: no cover
    sys.exit("this benchmark needs httpx: pip install -e '.[bench]'")

PG_ADMIN = os.environ.get("EXAMSVC_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"|data-csrf="([^"]+)"')


def percentiles(values: list[float]) -> dict:
    if not values:
        return {}
    ordered = sorted(values)
    pick = lambda q: round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 1)  # noqa: E731
    return {"n": len(values), "p50_ms": pick(0.50), "p95_ms": pick(0.95), "p99_ms": pick(0.99),
            "max_ms": round(ordered[-1] * 1000, 1)}


_TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds the processes have used so far (Linux /proc)."""
    total = 0.0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue  # a process that has gone (the killed worker)
        total += (int(fields[11]) + int(fields[12])) / _TICK
    return total


def postgres_pids() -> list[int]:
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/comm") as handle:
                    if handle.read().strip() == "postgres":
                        pids.append(int(entry))
            except OSError:
                pass
    return pids


class CpuMeter:
    """Cores used by the load generator (this process), the app's workers and PostgreSQL during a phase:
    with everything on one machine, what the generator takes the server does not get."""

    def __init__(self, server_pid: int):
        self.server_pid = server_pid

    def _groups(self) -> dict[str, list[int]]:
        workers = [int(pid) for pid in subprocess.run(["pgrep", "-P", str(self.server_pid)], capture_output=True,
                                                      text=True).stdout.split()]
        return {"generator": [os.getpid()], "app": [self.server_pid, *workers], "postgres": postgres_pids()}

    async def measure(self, phase):
        groups, began = self._groups(), time.perf_counter()
        before = {name: {pid: cpu_seconds([pid]) for pid in pids} for name, pids in groups.items()}
        result = await phase
        seconds = time.perf_counter() - began
        after = self._groups()
        cores = {}
        for name, pids in after.items():
            used = sum(cpu_seconds([pid]) - before[name].get(pid, 0.0) for pid in pids)
            cores[name] = round(used / seconds, 2)
        result["cores_used"] = cores
        return result


def setup(url: str, tmp: str, candidates: int) -> dict:
    """Migrate and fill the database: bank, two locked forms, an open session, N candidates."""
    from sqlalchemy import insert

    from examsvc import clock, create_app
    from examsvc.accounts.service import create_user
    from examsvc.bank.service import load_blueprint_file
    from examsvc.db import unit_of_work
    from examsvc.institutions.service import register_institution
    from examsvc.migrate import upgrade
    from examsvc.papers.service import lock_paper, run_assembly, start_assembly
    from examsvc.protect import protect_id
    from examsvc.reference.service import load_occupations
    from examsvc.sessions.models import Candidate
    from examsvc.institutions.filing import file_site
    from examsvc.sessions.service import plan_session
    from tests.papers.conftest import seed_approved_bank

    app = create_app({"DATABASE_URL": url, "INSTANCE_PATH": tmp, "SECRET_KEY": "bench-" + "x" * 40,
                      "DATA_KEY": "bench-data-key"})
    now = clock.now()
    with app.app_context():
        upgrade(app)
        with unit_of_work() as session:
            load_occupations(session)
            institution = register_institution(session, code="S000015000001", name="基准机构", kind="social_organisation",
                                               tier="region", league_city=None, published_on=now.date() - timedelta(days=30),
                                               scope=[("4-03-02-01", "4")])
            admin = create_user(session, username="admin", password="benchmark-pw", display_name="admin",
                                roles=[("institution_admin", institution.id)])
            version, _ = load_blueprint_file(session, ROOT / "blueprints" / "4-03-02-01_L4_theory.toml", "bench")
            seed_approved_bank(session, version, admin)
            run = start_assembly(session, institution=institution, blueprint_version=version, forms=2,
                                 overrides={"seed": 1, "time_limit": 60}, actor=admin)
            run_assembly(session, run)
            papers = [lock_paper(session, p, admin) for p in run.papers]
            rooms = [(f"考场{r + 1:02d}", 50) for r in range((candidates + 49) // 50)]
            file_site(session, institution, "呼和浩特市", "system")  # a region-level institution's site (Art. 12)
            exam = plan_session(session, institution=institution, blueprint=version.blueprint, title="基准场次",
                                exam_date=now.date(), window_start=now - timedelta(minutes=5),
                                window_end=now + timedelta(hours=2), rooms=rooms, paper_ids=[p.id for p in papers],
                                duration_minutes=120, auto_check_in=True, league_city="呼和浩特市", actor=admin)
            exam.status = "open"  # staffing rules are tested elsewhere; the benchmark measures the room
            seats = [(room.id, seat) for room in exam.rooms for seat in range(1, room.capacity + 1)]
            people = []
            for i in range(candidates):
                number = f"E{i:08d}"
                protected = protect_id("passport", number)
                people.append({"session_id": exam.id, "name": f"考生{i}", "id_type": "passport",
                               "id_cipher": protected.cipher, "id_digest": protected.digest,
                               "id_masked": protected.masked, "ticket_number": f"B{exam.id:04d}{i:06d}",
                               "room_id": seats[i][0], "seat": seats[i][1], "employer": "", "phone": "",
                               "exam_language": "zh", "registered_at": now})
            session.execute(insert(Candidate), people)
    app.extensions["examsvc.engine"].dispose()
    return {"tickets": [(p["ticket_number"], f"E{i:08d}") for i, p in enumerate(people)]}


class Candidate:
    def __init__(self, base: str, ticket: str, id_number: str):
        self.client = httpx.AsyncClient(base_url=base, timeout=30.0)
        self.ticket, self.id_number = ticket, id_number
        self.csrf = ""
        self.items: list[dict] = []
        self.seq = 0
        self.acked: dict[int, tuple[int, list[str]]] = {}

    async def start(self) -> None:
        page = await self.client.get("/exam/sign-in")
        token = next(g for g in CSRF.search(page.text).groups() if g)
        response = await self.client.post("/exam/sign-in", data={"ticket_number": self.ticket,
                                                                 "id_number": self.id_number, "csrf_token": token})
        if response.status_code != 302:
            raise RuntimeError(f"sign-in {response.status_code}")
        room = await self.client.get("/exam/")
        self.csrf = next(g for g in CSRF.search(room.text).groups() if g)
        state = (await self.client.get("/exam/api/state")).json()
        self.items = state["items"]
        self.seq = state["last_seq"]

    async def save(self) -> tuple[float, int]:
        item = random.choice(self.items)
        if item["type"] == "true_false":
            response = [random.choice("TF")]
        elif item["type"] == "single_choice":
            response = [random.choice(item["options"])["value"]]
        else:
            response = sorted({random.choice(item["options"])["value"] for _ in range(2)})
        self.seq += 1
        seq = self.seq
        started = time.perf_counter()
        r = await self.client.post("/exam/api/answers", json={"position": item["position"], "response": response,
                                                              "seq": seq}, headers={"X-CSRFToken": self.csrf})
        elapsed = time.perf_counter() - started
        if r.status_code == 200:
            previous = self.acked.get(item["position"])
            if previous is None or previous[0] < seq:
                self.acked[item["position"]] = (seq, response)
        return elapsed, r.status_code


async def start_phase(people: list[Candidate], concurrency: int) -> dict:
    gate = asyncio.Semaphore(concurrency)
    latencies, errors = [], 0

    async def one(person: Candidate) -> None:
        nonlocal errors
        async with gate:
            started = time.perf_counter()
            try:
                await person.start()
                latencies.append(time.perf_counter() - started)
            except Exception:
                errors += 1

    began = time.perf_counter()
    await asyncio.gather(*(one(p) for p in people))
    seconds = time.perf_counter() - began
    return {"candidates": len(people), "seconds_until_all_loaded_first_item": round(seconds, 1),
            "errors": errors, "latency_per_candidate": percentiles(latencies), "target_s": 60,
            "meets_target": errors == 0 and seconds < 60}


async def open_loop(people: list[Candidate], rate: float, seconds: float, on_tick=None) -> dict:
    latencies, statuses, tasks = [], {}, []

    async def one(person: Candidate) -> None:
        try:
            elapsed, status = await person.save()
            latencies.append(elapsed)
            statuses[status] = statuses.get(status, 0) + 1
        except Exception as exc:
            statuses[type(exc).__name__] = statuses.get(type(exc).__name__, 0) + 1

    began = time.perf_counter()
    n = 0
    while (now := time.perf_counter() - began) < seconds:
        due = int(now * rate)
        while n < due:
            tasks.append(asyncio.create_task(one(people[n % len(people)])))
            n += 1
        if on_tick:
            on_tick(now)
        await asyncio.sleep(0.002)
    await asyncio.gather(*tasks)
    ok = statuses.get(200, 0)
    return {"target_rate": rate, "sent": n, "ok": ok, "achieved_ok_per_s": round(ok / seconds, 1),
            "statuses": {str(k): v for k, v in statuses.items()}, "latency": percentiles(latencies)}


async def closed_loop(make_request, clients: int, seconds: float) -> float:
    done = 0
    end = time.perf_counter() + seconds

    async def worker(i: int) -> None:
        nonlocal done
        while time.perf_counter() < end:
            try:
                if await make_request(i):
                    done += 1
            except Exception:
                pass

    await asyncio.gather(*(worker(i) for i in range(clients)))
    return done / seconds


def verify_durability(url: str, people: list[Candidate]) -> dict:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    by_ticket = {p.ticket: p for p in people}
    lost, checked = 0, 0
    with engine.connect() as connection:
        rows = connection.execute(text(
            "SELECT c.ticket_number, a.position, a.seq FROM answers a JOIN attempts t ON t.id = a.attempt_id "
            "JOIN candidates c ON c.id = t.candidate_id")).all()
    stored = {(ticket, position): seq for ticket, position, seq in rows}
    for ticket, person in by_ticket.items():
        for position, (seq, _response) in person.acked.items():
            checked += 1
            if stored.get((ticket, position), 0) < seq:
                lost += 1
    engine.dispose()
    return {"acknowledged_saves_checked": checked, "acknowledged_but_missing": lost}


async def drive(base: str, tickets, args, server: subprocess.Popen, url: str) -> dict:
    people = [Candidate(base, t, i) for t, i in tickets]
    meter = CpuMeter(server.pid)
    figures = {"start": await meter.measure(start_phase(people, concurrency=args.concurrency))}
    ready = [p for p in people if p.items]
    # The generator holds thousands of clients: a full collection would pause its event loop and
    # show up as server latency, so what exists now is left out of garbage collection.
    gc.collect()
    gc.freeze()
    figures["saves_open_loop"] = await meter.measure(open_loop(ready, args.rate, args.seconds))
    figures["saves_open_loop"]["meets_target"] = (figures["saves_open_loop"]["latency"].get("p99_ms", 1e9) < 200
                                                  and figures["saves_open_loop"]["achieved_ok_per_s"] >= args.rate * 0.97)
    health = httpx.AsyncClient(base_url=base, timeout=30.0)

    async def healthz(_i: int) -> bool:
        return (await health.get("/healthz")).status_code == 200

    async def save(i: int) -> bool:
        return (await ready[i % len(ready)].save())[1] == 200

    trivial = await closed_loop(healthz, 64, 8)
    saves = await closed_loop(save, 64, 8)
    figures["limits"] = {"healthz_per_s": round(trivial, 1), "saves_per_s": round(saves, 1),
                         "save_to_trivial_ratio": round(saves / trivial, 3)}
    workers = [int(pid) for pid in subprocess.run(["pgrep", "-P", str(server.pid)], capture_output=True,
                                                  text=True).stdout.split()]
    killed: dict = {}

    def kill_once(now: float) -> None:
        if not killed and now > args.seconds / 3 and workers:
            os.kill(workers[0], signal.SIGKILL)
            killed.update(pid=workers[0], at_s=round(now, 2))

    during = await meter.measure(open_loop(ready, args.rate, args.seconds, on_tick=kill_once))
    after = await open_loop(ready, args.rate / 3, 5)
    figures["worker_kill"] = {"killed": killed, "during": during, "afterwards": after,
                              **verify_durability(url, ready)}
    figures["worker_kill"]["no_acknowledged_save_lost"] = figures["worker_kill"]["acknowledged_but_missing"] == 0
    figures["worker_kill"]["candidates_continue"] = after["ok"] > 0 and after["ok"] >= after["sent"] * 0.99
    await health.aclose()
    await asyncio.gather(*(p.client.aclose() for p in people))
    return figures


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--candidates", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=300)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--concurrency", type=int, default=200)
    args = parser.parse_args()
    from sqlalchemy import create_engine, text

    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    name = f"examsvc_bench_{uuid.uuid4().hex[:8]}"
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        try:
            began = time.perf_counter()
            tickets = setup(url, tmp, args.candidates)["tickets"]
            setup_s = time.perf_counter() - began
            env = {**{k: v for k, v in os.environ.items() if not k.startswith("EXAMSVC_")},
                   "EXAMSVC_DATABASE_URL": url, "EXAMSVC_INSTANCE_PATH": tmp,
                   "EXAMSVC_SECRET_KEY": "bench-" + "x" * 40, "EXAMSVC_DATA_KEY": "bench-data-key",
                   "EXAMSVC_SESSION_COOKIE_SECURE": "0"}
            server = subprocess.Popen([str(Path(sys.executable).with_name("examsvc")), "serve", "--bind", f"127.0.0.1:{port}",
                                       "--workers", str(args.workers)], env=env, cwd=ROOT,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
            try:
                base = f"http://127.0.0.1:{port}"
                for _ in range(200):
                    try:
                        if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                            break
                    except httpx.HTTPError:
                        time.sleep(0.2)
                figures = asyncio.run(drive(base, tickets, args, server, url))
            finally:
                os.killpg(server.pid, signal.SIGTERM)
                server.wait(timeout=30)
        finally:
            with admin.connect() as c:
                c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    print(json.dumps({"benchmark": "delivery", "workers": args.workers, "cpus": os.cpu_count(),
                      "load_1min": round(os.getloadavg()[0], 2), "setup_s": round(setup_s, 1), **figures},
                     ensure_ascii=False))


if __name__ == "__main__":
    main()
