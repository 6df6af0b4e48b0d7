"""Load test of the Gradio app: N concurrent gradio_client clients, M mixed requests each.

    python benchmarks/app_load.py --clients 10 --requests 5                    # default checkpoint
    python benchmarks/app_load.py --model runs/x/export --clients 10 --requests 5
    python benchmarks/app_load.py --random-weights --clients 10 --requests 5   # default architecture, random weights
    python benchmarks/app_load.py --url http://127.0.0.1:7860/ ...             # an app already running

Unless --url is given, it starts `python app.py` (GANSTYLE_MODEL=the model) on a free port of
127.0.0.1, samples the server's resident memory every 0.1 s, and stops it at the end. Each
client sends its requests one after the other (generate all styles, transfer a photo in 2
variants, interpolate 8 frames, mix a 3x3 grid, in a per-client shuffled order); all clients
start together. Prints completed/failed counts, p50/p95 latency (overall and per endpoint),
throughput and the server's peak memory, and its memory 5 s after the last request
(settled). Exits 1 if any request failed or was lost.

    python benchmarks/app_load.py --fairness --clients 4 --requests 5 --flood 8

runs the fairness scenario instead: one client submits --flood heavy interpolations (two
reference images each, so two GAN inversions) at once, while --clients others send
--requests one-image generations one after the other; it reports how many of the flood
the app refused (the per-client limit on waiting requests), and p50/p95 of the light ones.
Traffic goes only to the local server.
"""

import argparse
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PHOTO = ROOT / "examples" / "scene-lake.jpg"
REFERENCE = ROOT / "examples" / "ref-monet.png"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def random_weight_export(folder: Path) -> Path:
    """The default architecture (64 px, 5 styles, as `ganstyle train` builds it) with random
    weights: the same compute per request as a trained model."""
    import torch

    sys.path.insert(0, str(ROOT))
    from ganstyle.storage.model_folder import save_export
    from ganstyle.nets.generator import GeneratorConfig, StyleGenerator
    from ganstyle.nets.translator import StyleTranslator, TranslatorConfig

    styles = ["cezanne", "monet", "photo", "ukiyoe", "vangogh"]
    torch.manual_seed(0)
    modules = {"generator": StyleGenerator(GeneratorConfig(resolution=64, num_styles=len(styles))),
               "translator": StyleTranslator(TranslatorConfig(resolution=64, num_styles=len(styles)))}
    save_export(folder, styles, 64, modules, extra={"training": {"steps": 0, "data": "random weights (benchmark)"}})
    return folder


class Server:
    """`python app.py` in a subprocess, with a thread sampling its memory (RSS, with children)."""

    def __init__(self, model: str, concurrency: int = None, startup_timeout: float = 300):
        import psutil

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        env = {**os.environ, "GANSTYLE_MODEL": str(model), "GRADIO_SERVER_NAME": "127.0.0.1",
               "GRADIO_SERVER_PORT": str(self.port), "GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_OFFLINE": "1"}
        if concurrency:
            env["GANSTYLE_CONCURRENCY"] = str(concurrency)
        self.log = tempfile.NamedTemporaryFile("w+", prefix="app-load-server-", suffix=".log", delete=False)
        self.process = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=env, stdout=self.log,
                                        stderr=subprocess.STDOUT)
        self.psutil_process = psutil.Process(self.process.pid)
        self.peak = self.idle = 0
        self._stop = threading.Event()
        self._wait_until_up(startup_timeout)
        self.idle = self.rss()
        self.peak = self.idle
        self._sampler = threading.Thread(target=self._sample, daemon=True)
        self._sampler.start()

    def _wait_until_up(self, timeout: float):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.process.poll() is not None:
                raise RuntimeError(f"the app exited with code {self.process.returncode}; log: {self.log.name}")
            try:
                urllib.request.urlopen(self.url + "config", timeout=5).read()
                return
            except OSError:
                time.sleep(0.5)
        raise RuntimeError(f"the app did not answer within {timeout:.0f}s; log: {self.log.name}")

    def rss(self) -> int:
        import psutil

        try:
            processes = [self.psutil_process, *self.psutil_process.children(recursive=True)]
            return sum(p.memory_info().rss for p in processes)
        except psutil.Error:
            return 0

    def _sample(self):
        while not self._stop.wait(0.1):
            self.peak = max(self.peak, self.rss())

    def settled(self, seconds: float = 5.0) -> int:
        """Resident memory after `seconds` without requests (what the app keeps after a load)."""
        time.sleep(seconds)
        return self.rss()

    def stop(self):
        self._stop.set()
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def request_kinds(styles: list) -> dict:
    """name -> (api_name, function(client, rng) -> arguments) of the mixed workload."""
    from gradio_client import handle_file

    def generate(rng):
        return ("All styles", rng.randrange(10_000), 0.7, 4)

    def transfer(rng):
        return (handle_file(PHOTO), "Named style", rng.choice(styles), None, 0.8, False, rng.randrange(10_000), 2,
                "Medium")

    def interpolate(rng):
        return (rng.choice(styles), rng.randrange(10_000), None, rng.choice(styles), rng.randrange(10_000), None,
                None, 8, 0.7)

    def mix(rng):
        seeds = lambda: ", ".join(str(rng.randrange(10_000)) for _ in range(3))  # noqa: E731
        return (rng.choice(styles), seeds(), rng.choice(styles), seeds(), 4, 0.7)

    return {"generate": ("/generate", generate), "transfer": ("/transfer", transfer),
            "interpolate": ("/interpolate", interpolate), "mix": ("/mix", mix)}


def run_client(index: int, url: str, requests: int, styles: list, start: threading.Barrier, results: list):
    from gradio_client import Client

    rng = random.Random(index)
    kinds = request_kinds(styles)
    order = [list(kinds)[(index + i) % len(kinds)] for i in range(requests)]
    rng.shuffle(order)
    try:
        # A generous HTTP timeout: the figure to measure is the server's, not gradio_client's 20 s default.
        client = Client(url, verbose=False, analytics_enabled=False, httpx_kwargs={"timeout": 600})
    except Exception as err:  # counted as failures of every request of this client
        start.wait()
        results.extend({"client": index, "kind": k, "ok": False, "error": f"connect: {err}"} for k in order)
        return
    start.wait()
    for kind in order:
        api_name, make_args = kinds[kind]
        began = time.perf_counter()
        try:
            client.predict(*make_args(rng), api_name=api_name)
            results.append({"client": index, "kind": kind, "ok": True, "seconds": time.perf_counter() - began})
        except Exception as err:
            results.append({"client": index, "kind": kind, "ok": False, "seconds": time.perf_counter() - began,
                            "error": f"{type(err).__name__}: {err}"[:300]})


def run_flooder(url: str, requests: int, styles: list, start: threading.Barrier, results: list):
    """One client that submits `requests` heavy interpolations at once (both ends reference
    images, so two GAN inversions each) without waiting for any: the queue hog of the fault
    probe. Requests the app refuses because this client has too many waiting are counted as
    refused, not as failures."""
    from gradio_client import Client, handle_file

    client = Client(url, verbose=False, analytics_enabled=False, httpx_kwargs={"timeout": 600})
    start.wait()
    jobs = []
    for i in range(requests):
        args = (styles[0], i, handle_file(PHOTO), styles[-1], i, handle_file(REFERENCE), None, 8, 0.7)
        jobs.append((time.perf_counter(), client.submit(*args, api_name="/interpolate")))
    for began, job in jobs:
        try:
            job.result()
            results.append({"client": "flood", "kind": "heavy", "ok": True, "seconds": time.perf_counter() - began})
        except Exception as err:
            # the app's per-client limit answers "queue_full", which gradio_client raises as QueueError
            refused = type(err).__name__ == "QueueError" or "requests waiting" in str(err)
            results.append({"client": "flood", "kind": "heavy", "ok": refused, "refused": refused,
                            "seconds": time.perf_counter() - began, "error": f"{type(err).__name__}: {err}"[:300]})


def run_light_client(index: int, url: str, requests: int, styles: list, start: threading.Barrier, results: list):
    """A client sending one-image generations one after the other (the light requests)."""
    from gradio_client import Client

    client = Client(url, verbose=False, analytics_enabled=False, httpx_kwargs={"timeout": 600})
    start.wait()
    time.sleep(2.0)  # let the flood reach the queue first
    for i in range(requests):
        began = time.perf_counter()
        try:
            client.predict(styles[i % len(styles)], index * 100 + i, 0.7, 1, api_name="/generate")
            results.append({"client": index, "kind": "light", "ok": True, "seconds": time.perf_counter() - began})
        except Exception as err:
            results.append({"client": index, "kind": "light", "ok": False, "seconds": time.perf_counter() - began,
                            "error": f"{type(err).__name__}: {err}"[:300]})


def fairness(url: str, styles: list, clients: int, requests: int, flood: int) -> dict:
    """One client floods `flood` heavy requests while `clients` others send `requests` light
    ones each: how long the light ones wait, and what happened to every request."""
    results = []
    barrier = threading.Barrier(clients + 1)
    threads = [threading.Thread(target=run_flooder, args=(url, flood, styles, barrier, results))]
    threads += [threading.Thread(target=run_light_client, args=(i, url, requests, styles, barrier, results))
                for i in range(clients)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    light = [r["seconds"] for r in results if r["kind"] == "light" and r["ok"]]
    heavy = [r["seconds"] for r in results if r["kind"] == "heavy" and r["ok"] and not r.get("refused")]
    return {
        "flood_requests": flood, "light_clients": clients, "light_requests_per_client": requests,
        "expected": flood + clients * requests, "answered": len(results),
        "lost": flood + clients * requests - len(results),
        "failed": sum(not r["ok"] for r in results), "flood_refused": sum(bool(r.get("refused")) for r in results),
        "flood_served": len(heavy), "heavy_p50": round(percentile(heavy, 50), 2),
        "light_p50": round(percentile(light, 50), 2), "light_p95": round(percentile(light, 95), 2),
        "light_max": round(max(light), 2) if light else None, "wall_seconds": round(time.perf_counter() - began, 1),
        "errors": sorted({r["error"] for r in results if not r["ok"]})[:5],
    }


def model_styles(url: str) -> list:
    """The served model's styles: the choices of the app's "Start style" dropdown."""
    config = json.loads(urllib.request.urlopen(url + "config", timeout=30).read())
    for component in config["components"]:
        props = component.get("props", {})
        if props.get("label") == "Start style" and props.get("choices"):
            return [value for _, value in props["choices"]]
    raise RuntimeError(f"{url} serves no model (no styles in its page)")


def percentile(values: list, q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--requests", type=int, default=5, help="requests per client")
    parser.add_argument("--model", default=None, help="export folder or Hub repo id (default: checkpoints/)")
    parser.add_argument("--random-weights", action="store_true",
                        help="serve the default architecture with random weights (no checkpoint needed)")
    parser.add_argument("--url", default=None, help="load an app that is already running instead")
    parser.add_argument("--concurrency", type=int, default=None, help="GANSTYLE_CONCURRENCY for the started app")
    parser.add_argument("--json", default=None, help="also write the figures to this JSON file")
    parser.add_argument("--fairness", action="store_true",
                        help="instead of the mixed load: one client floods --flood heavy interpolations while "
                             "--clients others send --requests one-image generations each")
    parser.add_argument("--flood", type=int, default=8, help="heavy requests of the flooding client")
    args = parser.parse_args(argv)
    if args.url and not args.url.startswith(("http://127.", "http://localhost", "http://[::1]")):
        parser.error("--url must be a local address (127.0.0.0/8, localhost or [::1])")

    server = None
    with tempfile.TemporaryDirectory() as tmp:
        if args.url:
            url, styles = args.url, None
        else:
            model = args.model
            if args.random_weights:
                model = str(random_weight_export(Path(tmp) / "random-64"))
            elif model is None:
                model = str(ROOT / "checkpoints" / "ganstyle-styles-256")
                if not Path(model).is_dir():
                    parser.error(f"no checkpoint at {model}: pass --model or --random-weights")
            print(f"starting app.py on {model} ...", flush=True)
            began = time.perf_counter()
            server = Server(model, args.concurrency)
            print(f"app up in {time.perf_counter() - began:.1f}s at {server.url}, idle memory "
                  f"{server.idle / 2**20:.0f} MiB", flush=True)
            url = server.url
        try:
            styles = model_styles(url)
            if args.fairness:
                figures = fairness(url, styles, args.clients, args.requests, args.flood)
                if server is not None:
                    figures.update(server_idle_mib=round(server.idle / 2**20),
                                   server_peak_mib=round(server.peak / 2**20),
                                   server_settled_mib=round(server.settled() / 2**20))
                print(json.dumps(figures, indent=2))
                if args.json:
                    Path(args.json).write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
                return 0 if not figures["failed"] and not figures["lost"] else 1
            results = []
            barrier = threading.Barrier(args.clients)
            threads = [threading.Thread(target=run_client, args=(i, url, args.requests, styles, barrier, results))
                       for i in range(args.clients)]
            began = time.perf_counter()
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            wall = time.perf_counter() - began
            settled = server.settled() if server is not None else None
        finally:
            if server is not None:
                server.stop()

    expected = args.clients * args.requests
    done = [r for r in results if r["ok"]]
    failed = [r for r in results if not r["ok"]]
    lost = expected - len(results)
    latencies = [r["seconds"] for r in done]
    figures = {
        "clients": args.clients, "requests_per_client": args.requests, "expected": expected,
        "completed": len(done), "failed": len(failed), "lost": lost, "wall_seconds": round(wall, 2),
        "throughput_per_second": round(len(done) / wall, 3),
        "latency_p50": round(percentile(latencies, 50), 3), "latency_p95": round(percentile(latencies, 95), 3),
        "latency_mean": round(statistics.fmean(latencies), 3) if latencies else None,
        "per_endpoint": {kind: {"n": len(v), "p50": round(percentile(v, 50), 3), "p95": round(percentile(v, 95), 3)}
                         for kind in request_kinds(styles)
                         for v in [[r["seconds"] for r in done if r["kind"] == kind]]},
        "server_idle_mib": round(server.idle / 2**20) if server else None,
        "server_peak_mib": round(server.peak / 2**20) if server else None,
        "server_settled_mib": round(settled / 2**20) if server else None,
        "errors": sorted({r["error"] for r in failed})[:10],
    }
    print(f"\n{args.clients} clients x {args.requests} requests = {expected}: completed {len(done)}, "
          f"failed {len(failed)}, lost {lost}  ({wall:.1f}s, {figures['throughput_per_second']} req/s)")
    print(f"latency p50 {figures['latency_p50']:.2f}s  p95 {figures['latency_p95']:.2f}s")
    for kind, row in figures["per_endpoint"].items():
        print(f"  {kind:<12} n={row['n']:<3} p50 {row['p50']:.2f}s  p95 {row['p95']:.2f}s")
    if server:
        print(f"server memory: idle {figures['server_idle_mib']} MiB, peak {figures['server_peak_mib']} MiB, "
              f"settled {figures['server_settled_mib']} MiB (5 s after the last request)")
    for error in figures["errors"]:
        print("error:", error)
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    return 0 if not failed and not lost else 1


if __name__ == "__main__":
    sys.exit(main())
