"""Dashboard pages through the real server: `python -m bench.pages [--customers 20000] [--repeat 5]`.

Builds a demo workspace once (`segmentum demo`, cached under bench/data/), makes a fresh batch run
(`segmentum run`, so nothing is stored for it yet), starts `segmentum serve` on 127.0.0.1 (which stores the
latest run's segment profiles in the background when it starts: timed until done), signs in as a dashboard
user and times each page: the first request (cold) and `--repeat` more (warm, best and median). Pages: the
overview, three segment pages (the largest segments), members pages 2 and 3 of the first, the migration, a
customer, the tasks and the editor. Every response must be 200.

Then another fresh run is warmed in this process as `segmentum serve` warms the runs it starts
(`warm_profiles`: every segment's profile stored, timed), and the segment pages are timed again on a new server.

`--part preview` times the editor's preview of an edit (POST /editor/check: the value_tier thresholds of
definitions/shop.yml changed) through the server instead (SEGMENTUM_WARM_ON_START=0: no warming meanwhile; the first
request once `/v1/status` says the start's loads are done, their seconds reported as `start_s`);
`--part completion --before-src DIR` times completing the profiles in one pass against DIR's code one segment
at a time; `--part warming` only times `warm_profiles`. Run
with PYTHONPATH pointing at another source tree to time that code side by side.

`--workspace PATH` measures an existing workspace (e.g. a copy of bench/data/c1000000/ws) instead of the
demo: its latest run as it is (no new run, no second warming; a dashboard user is added if missing).
`--forget-profiles` first deletes the stored profiles of that run, so that serve's warming on start (timed)
computes them; with `--no-warm` as well (SEGMENTUM_WARM_ON_START=0) the first request of each segment page
computes its own profile (cold). Both write to the workspace: use a copy.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DATA = HERE / "data"
RESULTS = HERE / "results"
USER, PASSWORD = "bench", "bench pages password"


def _cli(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "segmentum.cli.main", *args], check=True, cwd=ROOT)


def prepare(customers: int, workspace: Path | None = None) -> Path:
    """The cached demo workspace (made on first use), or `workspace`, with a dashboard user."""
    root = workspace if workspace is not None else DATA / f"pages-demo-{customers}"
    if workspace is None and not (root / "segmentum.yml").exists():
        DATA.mkdir(parents=True, exist_ok=True)
        _cli("demo", "--customers", str(customers), "--no-report", "-d", str(root))
    from segmentum.service import users as auth
    from segmentum.workspace import Workspace

    with Workspace(root) as ws:
        if USER not in {u["name"] for u in auth.list_users(ws.store)}:
            auth.add_user(ws.store, USER, PASSWORD, role="write")
    return root


def forget_profiles(root: Path) -> None:
    """Delete the stored segment profiles of the latest run: its pages (or serve's warming) compute them."""
    from segmentum.store import snapshots as snapshot
    from segmentum.store.tables import PROFILES_TABLE, qualified
    from segmentum.workspace import Workspace

    with Workspace(root) as ws:
        run = snapshot.latest_run(ws.store)
        assert run is not None
        ws.store.cursor().execute(f"DELETE FROM {qualified(PROFILES_TABLE)} WHERE run_id = ?", [run.run_id])


def targets(root: Path) -> list[tuple[str, str]]:
    """(label, path) of every timed page, from the newest run."""
    from segmentum.store import snapshots as snapshot
    from segmentum.workspace import Workspace

    with Workspace(root, read_only=True) as ws:
        run = snapshot.latest_run(ws.store)
        assert run is not None
        rows = ws.store.query(
            "SELECT name, count(*) FROM segmentum.memberships WHERE run_id = ? AND segmentation IS NOT NULL "
            "GROUP BY name ORDER BY 2 DESC, 1 LIMIT 3",
            [run.run_id],
        )
        customer = ws.store.query("SELECT min(customer_id) FROM main.customers")[0][0]
    names = [r[0] for r in rows]
    first = f"/segments/{quote(names[0])}"
    return [
        ("overview", "/"),
        *((f"segment {n}", f"/segments/{quote(n)}") for n in names),
        ("members page 2", f"{first}?page=2"),
        ("members page 3", f"{first}?page=3"),
        ("migration", "/migration"),
        ("customer", f"/customers/{quote(customer)}"),
        ("tasks", "/tasks"),
        ("editor", "/editor"),
    ]


def serve(
    root: Path, env: dict[str, str] | None = None, timeout: float = 120
) -> tuple[subprocess.Popen[str], str]:
    """`segmentum serve` of `root` as the tests start it (`tests/servers.start_serve`: its log in a file)."""
    sys.path.insert(0, str(ROOT / "tests"))
    from servers import start_serve

    return start_serve(root, env=dict(os.environ) if env is None else env, timeout=timeout)


def warm(root: Path) -> dict[str, Any]:
    """A fresh run, then every segment's profile stored as serve does after a batch run it started."""
    from segmentum.analysis.profile import warm_profiles
    from segmentum.store import snapshots as snapshot
    from segmentum.workspace import Workspace

    _cli("run", "--as-of", "latest", "-w", str(root))
    with Workspace(root) as ws:
        run = snapshot.latest_run(ws.store)
        assert run is not None
        mark = time.perf_counter()
        names = warm_profiles(ws, run.run_id)
        seconds = time.perf_counter() - mark
    print(f"warming {len(names)} profiles: {seconds:.1f} s", flush=True)
    return {"segments": len(names), "seconds": seconds}


def wait_for_warming(root: Path, url: str) -> float:
    """Seconds from now until the server has stored the profiles it warms (GET /v1/status: warming_runs)."""
    token = json.loads((root / ".segmentum" / "server.json").read_text())["token"]
    mark = time.perf_counter()
    with httpx.Client(base_url=url, timeout=600, headers={"Authorization": f"Bearer {token}"}) as api:
        while True:
            state = api.get("/v1/status").json()
            if not state.get("warming_runs"):
                return time.perf_counter() - mark
            time.sleep(0.5)


def measure(
    root: Path, repeat: int, only: tuple[str, ...] = (), info: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    """Time every page (or those whose label starts with one of `only`) through a new server, once it has
    stored the profiles it warms on start (seconds in `info["serve_warming"]`)."""
    pages = [(label, path) for label, path in targets(root) if not only or label.startswith(only)]
    proc, url = serve(root)
    try:
        seconds = wait_for_warming(root, url)
        print(f"serve warmed the latest run on start in {seconds:.1f} s", flush=True)
        if info is not None:
            info["serve_warming"] = seconds
        with httpx.Client(base_url=url, timeout=600, follow_redirects=False) as client:
            signed = client.post("/login", data={"user": USER, "password": PASSWORD})
            assert signed.status_code == 303, signed.text
            rows = []
            for label, path in pages:
                mark = time.perf_counter()
                response = client.get(path)
                cold = time.perf_counter() - mark
                assert response.status_code == 200, (path, response.status_code)
                warm = []
                for _ in range(repeat):
                    mark = time.perf_counter()
                    assert client.get(path).status_code == 200
                    warm.append(time.perf_counter() - mark)
                rows.append(
                    {
                        "page": label,
                        "path": path,
                        "cold": cold,
                        "warm_best": min(warm),
                        "warm_median": statistics.median(warm),
                    }
                )
                print(
                    f"{label:<40} cold {cold:6.2f} s  warm best {min(warm):6.2f} s  median "
                    f"{statistics.median(warm):6.2f} s",
                    flush=True,
                )
            return rows
    finally:
        proc.terminate()
        proc.wait(300)  # a loaded machine: the 100k store takes a while to close


def preview_times(root: Path, repeat: int, settle: float = 0.0) -> list[dict[str, Any]]:
    """The editor's preview of an edited segmentation through a new server: first request and `repeat` more."""
    import re

    shop = (root / "definitions" / "shop.yml").read_text(encoding="utf-8")
    edited = shop.replace("revenue_365d >= 5000", "revenue_365d >= 4000")
    assert edited != shop, "definitions/shop.yml has no value_tier threshold of 5000 to edit"
    from segmentum.service.keys import KeyStore
    from segmentum.workspace import Workspace

    with Workspace(root) as ws:
        key = KeyStore(ws.store).create("read", "bench preview")[0]
    # the server's warming of the latest run on start would compete with the preview for the cores
    os.environ["SEGMENTUM_WARM_ON_START"] = "0"
    proc, url = serve(root)
    try:
        # the first request comes once the server's start is done (definitions loaded, the lookups' replica
        # loaded), as a user's who opens the editor: the seconds that took are reported apart
        mark = time.perf_counter()
        while True:
            status = httpx.get(
                f"{url}/v1/status", headers={"Authorization": f"Bearer {key}"}, timeout=60
            ).json()
            # (a server of older code says neither: it is not waited for; `--settle` waits as long instead)
            if status.get("definitions_loaded") is not False and status.get("live_loaded") is not False:
                break
            time.sleep(0.1)
        started_s = time.perf_counter() - mark
        time.sleep(settle)
        print(f"server start done {started_s:6.2f} s after health", flush=True)
        with httpx.Client(base_url=url, timeout=600, follow_redirects=False) as client:
            assert client.post("/login", data={"user": USER, "password": PASSWORD}).status_code == 303
            page = client.get("/editor", params={"file": "shop.yml"})
            found = re.search(r'name="csrf-token" content="([^"]+)"', page.text)
            assert found, "no CSRF token on the editor page"
            times = []
            for _ in range(repeat + 1):
                mark = time.perf_counter()
                response = client.post(
                    "/editor/check",
                    json={"file": "shop.yml", "text": edited},
                    headers={"X-CSRF-Token": found.group(1), "Origin": url},
                )
                times.append(time.perf_counter() - mark)
                body = response.json()
                assert response.status_code == 200 and body.get("valid"), body
                assert body["changed"] == {"value_tier": "edited"} and body["segments"], body
                print(f"preview {times[-1]:6.2f} s", flush=True)
    finally:
        proc.terminate()
        proc.wait(300)  # a loaded machine: the 100k store takes a while to close
    warm = times[1:] or times
    return [
        {
            "page": "editor preview (value_tier edited)",
            "path": "/editor/check",
            "start_s": started_s,  # from /v1/health to the start's loads done (`definitions_loaded`, `live_loaded`)
            "cold": times[0],
            "warm_best": min(warm),
            "warm_median": statistics.median(warm),
        }
    ]


def completion(root: Path, before_src: str, rounds: int = 2) -> dict[str, Any]:
    """Completing every segment's profile (top items, NPS, CSAT, churn) in one pass, against the code of
    another source tree (`before_src`, e.g. `git archive 1fa8787 src`) completing a sample of segments one at
    a time, interleaved in this process on the latest run."""
    import importlib
    import importlib.util

    from segmentum.analysis.base import segment_names
    from segmentum.store import snapshots as snapshot
    from segmentum.workspace import Workspace

    new = importlib.import_module("segmentum.analysis.profile")
    spec = importlib.util.spec_from_file_location(
        "before_profile", Path(before_src) / "segmentum" / "analysis" / "profile.py"
    )
    assert spec is not None and spec.loader is not None
    old = importlib.util.module_from_spec(spec)
    sys.modules["before_profile"] = old
    spec.loader.exec_module(old)
    rows = []
    with Workspace(root, read_only=True) as ws:
        run = snapshot.latest_run(ws.store)
        assert run is not None
        info = snapshot.resolve_run(ws.store, run.run_id)
        names = segment_names(ws, run.run_id)
        sample = names[:: max(1, len(names) // 8)]
        for _ in range(rounds):
            mark = time.perf_counter()
            for name in sample:
                old._complete(ws, info, {"name": name}, 8)
            per = (time.perf_counter() - mark) / len(sample)
            mark = time.perf_counter()
            new._complete(ws, info, {n: {"name": n} for n in names}, 8)
            after = time.perf_counter() - mark
            rows.append({"before_per_segment": per, "before_all": per * len(names), "after_all": after})
            print(
                f"before: {per:.2f} s a segment ({len(sample)} timed), {per * len(names):.0f} s for "
                f"{len(names)}; after: {after:.1f} s for all; ratio {per * len(names) / after:.0f}x",
                flush=True,
            )
    return {"segments": len(names), "rounds": rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--label", default="", help="suffix of the results file (e.g. before / after)")
    parser.add_argument(
        "--settle",
        type=float,
        default=0.0,
        help="with --part preview: seconds to wait after the server's start",
    )
    parser.add_argument("--part", choices=("all", "preview", "warming", "completion"), default="all")
    parser.add_argument("--before-src", default="", help="with --part completion: the other code's src/")
    parser.add_argument(
        "--workspace", type=Path, default=None, help="measure this workspace's latest run, not the demo"
    )
    parser.add_argument(
        "--forget-profiles", action="store_true", help="delete the latest run's stored profiles first"
    )
    parser.add_argument("--no-warm", action="store_true", help="serve without warming on start")
    args = parser.parse_args()
    root = prepare(args.customers, args.workspace)
    if args.workspace is None and args.part not in ("preview", "completion"):  # these read the latest run
        _cli("run", "--as-of", "latest", "-w", str(root))  # a new run: nothing computed for it yet
    if args.forget_profiles:
        forget_profiles(root)
    if args.no_warm:
        os.environ["SEGMENTUM_WARM_ON_START"] = "0"
    info: dict[str, Any] = {}
    warming: dict[str, Any] = {}
    rows: list[dict[str, Any]] = []
    if args.workspace is not None:  # the workspace's latest run as it is: its pages once
        info["workspace"] = str(args.workspace)
        rows = measure(root, args.repeat, info=info)
    elif args.part == "preview":
        rows = preview_times(root, args.repeat, args.settle)
    elif args.part == "warming":
        warming = warm(root)
    elif args.part == "completion":
        info["completion"] = completion(root, args.before_src)
    else:
        rows = measure(root, args.repeat, info=info)
        warming = warm(root)
        rows += [
            {**r, "page": f"warmed: {r['page']}"}
            for r in measure(root, args.repeat, only=("overview", "segment"))
        ]
    RESULTS.mkdir(exist_ok=True)
    size = f"ws-{args.workspace.name}" if args.workspace is not None else str(args.customers)
    name = f"pages-{size}{'-' + args.part if args.part != 'all' else ''}"
    out = RESULTS / f"{name}{'-' + args.label if args.label else ''}.json"
    machine = {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "load": os.getloadavg(),
    }
    out.write_text(
        json.dumps(
            {"customers": args.customers, "machine": machine, "pages": rows, "warming": warming, **info},
            indent=1,
            default=str,
        )
    )
    print(f"load average {os.getloadavg()}")
    if warming:
        print(f"warming: {warming['segments']} profiles in {warming['seconds']:.1f} s")
    print("|page|cold (s)|warm best (s)|warm median (s)|")
    print("|---|---|---|---|")
    for r in rows:
        print(f"|{r['page']}|{r['cold']:.2f}|{r['warm_best']:.2f}|{r['warm_median']:.2f}|")


if __name__ == "__main__":
    main()
