"""Measurement harness shared by the benchmark scripts.

Each configuration (a model at a size) lives in its own fresh Python process, a *worker*,
so that its peak memory (ru_maxrss) is its own. The parent starts every worker, each
builds and warms up its model and then waits; the parent then asks the workers in turn
for one measurement at a time (ours, theirs, ours, ...), so that whatever else loads the
machine during the run is spread over all configurations alike, and reports medians.
Only one worker computes at any moment; the others sleep on a pipe.

Protocol: JSON lines. The worker writes {"ready": ...} once set up, then answers each
{"op": name, ...} request with {"result": ...}; {"op": "exit"} answers with the
process's peak memory and ends it. Anything the libraries print goes to the worker's
stderr (a log file), never into the protocol.
"""

import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def rss_mb() -> float:
    """Current resident set size of this process, in MB."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def peak_rss_mb() -> float:
    """High-water mark of the resident set of this process (ru_maxrss), in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else float("nan")


class Worker:
    """Parent side of one worker process."""

    def __init__(self, script, spec: dict, threads: int, log_dir: Path):
        self.spec = spec
        self.name = spec["name"]
        env = dict(os.environ)
        env.update(OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads),
                   PYTHONPATH=f"{REPO}{os.pathsep}{env.get('PYTHONPATH', '')}", PYTHONUNBUFFERED="1")
        safe = "".join(c if c.isalnum() else "_" for c in self.name)
        self.log_path = Path(log_dir) / f"{safe}.log"
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen([sys.executable, str(script), "--worker", json.dumps({**spec, "threads": threads})],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log, text=True,
                                     cwd=str(REPO), env=env)
        self.ready = None

    def _read(self):
        line = self.proc.stdout.readline()
        if not line:
            self.log.flush()
            tail = self.log_path.read_text(errors="replace")[-3000:]
            raise RuntimeError(f"worker {self.name} died (exit {self.proc.poll()}); its log ends:\n{tail}")
        return json.loads(line)

    def wait_ready(self):
        self.ready = self._read()["ready"]
        return self.ready

    def request(self, op: str, **kwargs):
        self.proc.stdin.write(json.dumps({"op": op, **kwargs}) + "\n")
        self.proc.stdin.flush()
        return self._read()["result"]

    def close(self) -> dict:
        try:
            result = self.request("exit")
        finally:
            self.proc.wait(timeout=60)
            self.log.close()
        return result


def start_workers(script, specs, threads: int, log_dir=None, verbose=True):
    """Start the workers one after another (each sets up and warms up alone)."""
    log_dir = Path(log_dir or tempfile.mkdtemp(prefix="ganstyle-bench-"))
    log_dir.mkdir(parents=True, exist_ok=True)
    workers = []
    for spec in specs:
        t0 = time.perf_counter()
        worker = Worker(script, spec, threads, log_dir)
        workers.append(worker)
        try:
            worker.wait_ready()
        except Exception:
            for w in workers:
                w.proc.kill()
            raise
        if verbose:
            print(f"  started {worker.name} ({time.perf_counter() - t0:.1f} s)", file=sys.stderr, flush=True)
    return workers


def serve(setup, handlers: dict):
    """Worker side: run `setup(spec)` (returns a state and a ready-info dict), then answer
    requests with `handlers[op](state, **kwargs)` until "exit"."""
    spec = json.loads(sys.argv[sys.argv.index("--worker") + 1])
    proto = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # library prints (Python or C) go to stderr, not into the protocol
    sys.stdout = sys.stderr
    import torch

    torch.set_num_threads(spec["threads"])
    baseline_rss = rss_mb()
    state, info = setup(spec)  # may report its own baseline, taken after its own imports
    info = {"baseline_rss_mb": baseline_rss, **(info or {})}
    baseline_rss = info["baseline_rss_mb"]
    proto.write(json.dumps({"ready": info}) + "\n")
    for line in sys.stdin:
        request = json.loads(line)
        op = request.pop("op")
        if op == "exit":
            proto.write(json.dumps({"result": {"peak_rss_mb": peak_rss_mb(), "baseline_rss_mb": baseline_rss}}) + "\n")
            break
        proto.write(json.dumps({"result": handlers[op](state, **request)}) + "\n")
    proto.close()


def fmt(value, digits=2, unit=""):
    if value is None or value != value:
        return "n/a"
    return f"{value:.{digits}f}{unit}"


def markdown_table(headers, rows) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def concurrent_training_note() -> str:
    """Names any `ganstyle train` process running beside the benchmark (with its nice value),
    or paused beside it (a run stopped with SIGSTOP for the benchmark takes no CPU)."""
    found, stopped = [], []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            args = (entry / "cmdline").read_bytes().split(b"\0")
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        text = b" ".join(args).decode(errors="replace")
        if "ganstyle" in text and " train" in text and "--worker" not in text:
            (stopped if stat[0] == "T" else found).append(f"pid {entry.name}, nice {stat[16]}")
    if stopped and not found:
        return (f"a `ganstyle train` process was paused (SIGSTOP, state T) when the run started "
                f"({'; '.join(stopped)}), so it took no CPU: a quiet machine")
    if not found:
        return "no `ganstyle train` process was running during the run"
    return (f"a `ganstyle train` run was going on concurrently ({'; '.join(found)}): it competed for the "
            "same 2 cores, so absolute figures are slower than on an idle machine; compare ratios")


def machine_note(threads: int) -> str:
    """One line about the machine and what else was running (load average)."""
    try:
        model = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        model = "unknown CPU"
    load = os.getloadavg()
    import torch

    return (f"{model}, {os.cpu_count()} cores, {threads} thread(s) per measurement, torch {torch.__version__}, "
            f"load average at the end {load[0]:.1f}/{load[1]:.1f}/{load[2]:.1f}")


def _replace_block(lines, header, new, level_prefix):
    """Replace the block that starts with the line `header` and runs until the next heading
    of the same or a higher level (or append it); returns the new list of lines."""
    start = next((i for i, line in enumerate(lines) if line.strip() == header), None)
    if start is None:
        if lines and lines[-1].strip():
            lines = lines + [""]
        return lines + new
    stops = tuple(level_prefix[:n] + " " for n in range(1, len(level_prefix) + 1))
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith(stops)), len(lines))
    return lines[:start] + new + lines[end:]


def update_results(section: str, body: str, subsection: str = None, intro: str = None,
                   path=REPO / "benchmarks" / "RESULTS.md") -> None:
    """Replace (or append) `## {section}` of RESULTS.md, or only its `### {subsection}`,
    leaving every other section (written by other scripts or people) as it is. Re-reads
    the file right before writing and replaces it atomically."""
    path = Path(path)
    text = path.read_text() if path.exists() else "# Benchmark results\n"
    lines = text.splitlines()
    header = f"## {section}"
    if subsection is None:
        lines = _replace_block(lines, header, [header, ""] + body.strip().splitlines() + [""], "##")
    else:
        start = next((i for i, line in enumerate(lines) if line.strip() == header), None)
        if start is None:
            lines = _replace_block(lines, header, [header, ""] + ([intro.strip(), ""] if intro else []), "##")
            start = next(i for i, line in enumerate(lines) if line.strip() == header)
        end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
        inner = lines[start + 1:end]
        if intro is not None:  # refresh the text between the section header and its first subsection
            first = next((i for i, line in enumerate(inner) if line.startswith("### ")), len(inner))
            inner = ["", intro.strip(), ""] + inner[first:]
        sub = f"### {subsection}"
        inner = _replace_block(inner, sub, [sub, ""] + body.strip().splitlines() + [""], "###")
        lines = lines[:start + 1] + inner + lines[end:]
    tmp = path.with_suffix(".md.tmp")
    tmp.write_text("\n".join(lines).rstrip() + "\n")
    os.replace(tmp, path)
