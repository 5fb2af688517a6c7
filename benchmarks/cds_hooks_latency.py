"""Latency of the CDS Hooks patient-view service, warm, with complete prefetch.

Starts `b12kg cds-hooks` in its own process on a loopback port, builds a patient-view
request for each example patient (examples/*.json and, with --cases, the clinical cases
assessed as of 2026-11-24), warms up, then times every call end to end over HTTP
(httpx) and prints the median and 95th percentile. By default the service keeps
assessments by input hash (a chart opened again with an unchanged record is not
re-assessed); --no-cache runs the whole pipeline on every call.

    .venv/bin/python -m benchmarks.cds_hooks_latency [--rounds 20] [--cases] [--no-cache]
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
AS_OF = "2026-11-24"


def request(bundle: dict, templates: dict[str, str]) -> dict:
    """A patient-view request whose prefetch holds every resource of the bundle, by the discovery templates."""
    patient = next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient")
    prefetch = {}
    for key, template in templates.items():
        kind = template.split("?")[0].split("/")[0]
        found = [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]
        prefetch[key] = patient if kind == "Patient" else {
            "resourceType": "Bundle", "type": "searchset", "entry": [{"resource": r} for r in found]}
    return {"hook": "patient-view", "hookInstance": str(uuid.uuid4()),
            "context": {"userId": "Practitioner/bench", "patientId": patient["id"]}, "prefetch": prefetch}


def bundles(with_cases: bool) -> list[dict]:
    paths = sorted((ROOT / "examples").glob("*.json"))
    if with_cases:
        for expected in sorted((ROOT / "tests" / "cases" / "b12").glob("*.expected.json")):
            spec = json.loads(expected.read_text())
            path = expected.with_name(expected.name.replace(".expected.json", ".json"))
            if spec.get("as_of") == AS_OF and spec.get("exit_code", 0) == 0 and path.exists():
                paths.append(path)
    return [json.loads(p.read_text()) for p in paths]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20, help="timed calls per patient")
    parser.add_argument("--cases", action="store_true", help="also the clinical cases dated 2026-11-24")
    parser.add_argument("--no-cache", action="store_true", help="assess on every call (no assessment cache)")
    args = parser.parse_args()

    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as folder:
        command = [sys.executable, "-m", "b12kg.cli", "cds-hooks", "--port", str(port), "--as-of", AS_OF,
                   "--feedback-db", str(Path(folder) / "feedback.sqlite3"), "--cache-size", "0" if args.no_cache else "256"]
        server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            with httpx.Client(base_url=url, timeout=60) as client:
                deadline = time.monotonic() + 60
                while True:
                    try:
                        templates = client.get("/cds-services").json()["services"][0]["prefetch"]
                        break
                    except httpx.TransportError:
                        if time.monotonic() > deadline or server.poll() is not None:
                            raise SystemExit("the service did not start") from None
                        time.sleep(0.2)
                bodies = [request(b, templates) for b in bundles(args.cases)]
                for body in bodies * 3:  # warm-up
                    assert client.post("/cds-services/b12-patient-view", json=body).status_code == 200
                times = []
                for _ in range(args.rounds):
                    for body in bodies:
                        start = time.perf_counter()
                        response = client.post("/cds-services/b12-patient-view", json=body)
                        times.append((time.perf_counter() - start) * 1000)
                        assert response.status_code == 200
        finally:
            server.terminate()
            server.wait(10)
    times.sort()
    p95 = times[min(len(times) - 1, round(0.95 * len(times)) - 1)]
    print(f"patient-view ({'no cache' if args.no_cache else 'assessment cache'}), {len(bodies)} patients x {args.rounds} rounds "
          f"= {len(times)} calls: median {statistics.median(times):.1f} ms, p95 {p95:.1f} ms, max {times[-1]:.1f} ms")


if __name__ == "__main__":
    main()
