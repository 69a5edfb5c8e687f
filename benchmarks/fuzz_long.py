"""Fuzzing, the long run: thousands of random and broken inputs through validate, run and simulate.

Run with ``python benchmarks/fuzz_long.py --inputs 10000 [--seed N] [--jobs 2] [--keep DIR]``.
Input ``i`` of a run is drawn from ``random.Random(f"{seed}:{i}")`` by ``tests/fuzzing.py`` (the
generators and the oracle the CI tests use): the tiny project with one input broken — a CSV or
XLSX table, a GeoPackage, an OSM or GraphML network, the project file — or a scenario's JSON.
Each is checked in a worker process (``--jobs`` of them) with a 10 s alarm; a worker that does
not answer 15 s later is killed and the input counted as a hang. Half of the inputs
that pass ``validate`` also go through ``run`` (``--run-share``), a few through ``init``.

Prints, per input family, the inputs, how many were accepted (ok), refused with a designed
error, and the failures: uncaught exceptions, hangs, leaks of a planted personal value and
messages that are not one clean line; then the slowest input. Known issues (reported, to be fixed
outside the input modules; ``fuzzing.KNOWN_ISSUES``) are counted apart; an input the generators
fail to build (a bug of the suite) is counted as ``generator`` and fails the run. Every failing
input is written to ``--keep DIR`` (its ``case.json``, the project as written and
``outcome.txt``); replay one with ``python benchmarks/fuzz_long.py --replay DIR/CASE``. Exits 1
when any input failed. Target: 10,000 inputs in under 30 minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing as mp
import os
import shutil
import signal
import sys
import tempfile
import time
from collections import Counter
from multiprocessing.connection import Connection, wait
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1] / "tests"
COLUMNS = ("inputs", "ok", "designed", "uncaught", "hang", "leak", "message", "known",
           "generator")
GRACE_S = 15.0
"""A worker silent this long after the alarm should have fired is killed (C code ignoring it)."""


def _setup(root: Path, memory_gb: float) -> None:
    """Prepare a worker: private temporary and cache folders, a memory limit, the fuzzing module."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops the workers
    sys.path.insert(0, str(TESTS))
    work = Path(tempfile.mkdtemp(prefix=f"w{os.getpid()}-", dir=root))
    os.environ["COVERAGE_CACHE_DIR"] = str(work / "cache")
    os.environ["COVERAGE_LOG_DIR"] = str(work / "logs")
    tempfile.tempdir = str(work)
    if memory_gb > 0:
        import resource

        limit = int(memory_gb * 2**30)
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def _keep(folder: Path | None, index: int, case: object, outcome: object) -> str:
    """Save a failing case for replay; return where (empty without ``--keep``)."""
    if folder is None:
        return ""
    target = folder / f"{index:05d}-{case.fmt}-{outcome.status}"  # type: ignore[attr-defined]
    case.save(target)  # type: ignore[attr-defined]
    (target / "outcome.txt").write_text(f"{outcome}\n\n{outcome.detail}\n",  # type: ignore[attr-defined]
                                        encoding="utf-8")
    return str(target)


def _worker(conn: Connection, seed: int, shares: dict[str, float], timeout: float,
            keep: Path | None, root: Path, memory_gb: float, formats: list[str] | None) -> None:
    """Check the inputs the parent sends (their numbers) until it sends ``None``."""
    _setup(root, memory_gb)
    import fuzzing

    fuzzing.warm_up()
    try:
        conn.send("ready")
        _serve(conn, fuzzing, seed, shares, timeout, keep, formats)
    except (EOFError, BrokenPipeError):  # the parent stopped
        pass


def _serve(conn: Connection, fuzzing: object, seed: int, shares: dict[str, float],
           timeout: float, keep: Path | None, formats: list[str] | None) -> None:
    while (index := conn.recv()) is not None:
        fmt = formats[index % len(formats)] if formats else None
        try:
            case = fuzzing.seeded_case(seed, index, fmt, **shares)
        except Exception as exc:  # a bug of the generators, not of the tool
            conn.send((index, fmt or "?", "(not generated)", "generator", "generate", 0.0,
                       f"{type(exc).__name__}: {exc}", ""))
            continue
        outcome = fuzzing.check_one(case, timeout=timeout)
        kept = _keep(keep, index, case, outcome) if outcome.status in (
            *fuzzing.FAILURES, "known") else ""
        conn.send((index, case.fmt, case.what[:300], outcome.status, outcome.stage,
                   outcome.seconds, outcome.message[:400], kept))


class _Pool:
    """Worker processes that can be killed one by one when an input hangs in C code."""

    def __init__(self, jobs: int, args: tuple) -> None:
        self.context = mp.get_context("spawn")
        self.args = args
        self.workers: dict[Connection, tuple[mp.Process, int | None, float]] = {}
        for _ in range(jobs):
            self.start()

    def start(self) -> None:
        parent, child = self.context.Pipe()
        process = self.context.Process(target=_worker, args=(child, *self.args), daemon=True)
        process.start()
        child.close()
        self.workers[parent] = (process, None, time.perf_counter())

    def kill(self, conn: Connection) -> None:
        process, _, _ = self.workers.pop(conn)
        process.kill()
        process.join()
        conn.close()

    def close(self) -> None:
        for conn, (process, _, _) in list(self.workers.items()):
            with contextlib.suppress(OSError):
                conn.send(None)
            process.join(timeout=10)
            if process.is_alive():
                process.kill()


def _table(counts: dict[str, Counter]) -> str:
    families = sorted(counts)
    total = sum(counts.values(), Counter())
    width = max(8, *(len(f) for f in families))
    lines = [f"{'input':<{width}} " + " ".join(f"{c:>9}" for c in COLUMNS)]
    for name, row in [*((f, counts[f]) for f in families), ("all", total)]:
        lines.append(f"{name:<{width}} " + " ".join(f"{row[c]:>9,}" for c in COLUMNS))
    return "\n".join(lines)


def _interrupted(*_: object) -> None:
    raise KeyboardInterrupt


def run(args: argparse.Namespace) -> int:
    """Check ``args.inputs`` inputs on ``args.jobs`` workers; print the figures; exit status."""
    sys.path.insert(0, str(TESTS))
    import fuzzing

    signal.signal(signal.SIGTERM, _interrupted)  # stop cleanly: workers, temporary files

    keep = args.keep.resolve() if args.keep else None
    if keep:
        keep.mkdir(parents=True, exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix="coverage-fuzz-"))
    shares = {"run_share": args.run_share, "init_share": args.init_share}
    formats = args.formats.split(",") if args.formats else None
    pool = _Pool(args.jobs, (args.seed, shares, args.timeout, keep, root, args.memory_gb,
                             formats))
    counts: dict[str, Counter] = {}
    stages: Counter = Counter()
    failures: list[tuple] = []
    slowest = (0.0, -1, "", "")
    start = time.perf_counter()
    next_index, done, last_report = 0, 0, start
    print(f"fuzzing {args.inputs:,} inputs with seed {args.seed} on {args.jobs} workers "
          f"(temporary files in {root})", flush=True)
    try:
        while done < args.inputs:
            ready = wait(list(pool.workers), timeout=1.0)
            now = time.perf_counter()
            for conn in ready:
                process, current, since = pool.workers[conn]
                try:
                    reply = conn.recv()
                except (EOFError, OSError):  # the worker died: a crash in C code
                    pool.kill(conn)
                    pool.start()
                    if current is not None:
                        done += 1
                        failures.append(_lost(fuzzing, args, current, "uncaught", keep,
                                              counts, "the worker process died"))
                    continue
                if reply != "ready":
                    index, fmt, what, status, stage, seconds, message, kept = reply
                    done += 1
                    counts.setdefault(fmt, Counter()).update(["inputs", status])
                    stages[stage if status in ("ok", "designed") else status] += 1
                    if seconds > slowest[0]:
                        slowest = (seconds, index, fmt, what)
                    if status in (*fuzzing.FAILURES, "known", "generator"):
                        failures.append((index, fmt, status, stage, message, what, kept))
                if next_index < args.inputs:
                    conn.send(next_index)
                    pool.workers[conn] = (process, next_index, now)
                    next_index += 1
                else:
                    pool.workers[conn] = (process, None, now)
            for conn, (_, current, since) in list(pool.workers.items()):
                if current is not None and now - since > args.timeout + GRACE_S:
                    pool.kill(conn)
                    pool.start()
                    done += 1
                    failures.append(_lost(fuzzing, args, current, "hang", keep, counts,
                                          f"no answer after {now - since:.0f} s: killed"))
            if now - last_report > 60:
                last_report = now
                bad = sum(1 for f in failures if f[2] != "known")
                print(f"  {done:,}/{args.inputs:,} inputs, {bad} failing, "
                      f"{done / (now - start):.1f} inputs/s", flush=True)
    except KeyboardInterrupt:
        print(f"interrupted after {done:,} inputs", flush=True)
    finally:
        pool.close()
        shutil.rmtree(root, ignore_errors=True)
    wall = time.perf_counter() - start
    print()
    print(_table(counts))
    print()
    print("outcomes by stage: " + ", ".join(f"{k} {v:,}" for k, v in stages.most_common()))
    print(f"slowest input: {slowest[0]:.2f} s (input {slowest[1]}, {slowest[2]}: "
          f"{slowest[3][:150]})")
    print(f"wall time: {wall / 60:.1f} min for {done:,} inputs ({done / wall:.1f} inputs/s, "
          f"{args.jobs} workers)")
    bad = [f for f in failures if f[2] != "known"]
    for index, fmt, status, stage, message, what, kept in sorted(failures)[:40]:
        print(f"  {status.upper()} input {index} ({fmt}, {stage}): {message[:200]}")
        print(f"      input: {what[:200]}")
        if kept:
            print(f"      kept in {kept}")
    if not bad:
        print("no failure: 0 uncaught exceptions, 0 hangs, 0 leaks, 0 unclear messages")
    return 1 if bad else 0


def _lost(fuzzing: object, args: argparse.Namespace, index: int, status: str,
          keep: Path | None, counts: dict[str, Counter], why: str) -> tuple:
    """Record an input whose worker had to be killed (or died), regenerating it to keep it."""
    formats = args.formats.split(",") if args.formats else None
    fmt = formats[index % len(formats)] if formats else None
    try:
        case = fuzzing.seeded_case(args.seed, index, fmt, run_share=args.run_share,  # type: ignore[attr-defined]
                                   init_share=args.init_share)
    except Exception as exc:  # the worker died generating it: a bug of the generators
        counts.setdefault(fmt or "?", Counter()).update(["inputs", "generator"])
        return (index, fmt or "?", "generator", "generate", f"{type(exc).__name__}: {exc}",
                "(not generated)", "")
    outcome = fuzzing.Outcome(status, "worker", why, args.timeout + GRACE_S)  # type: ignore[attr-defined]
    counts.setdefault(case.fmt, Counter()).update(["inputs", status])
    kept = _keep(keep, index, case, outcome)
    return (index, case.fmt, status, "worker", why, case.what[:300], kept)


def replay(folder: Path, timeout: float) -> int:
    """Run one kept case again, in this process, and print its outcome and details."""
    sys.path.insert(0, str(TESTS))
    with tempfile.TemporaryDirectory(prefix="coverage-fuzz-cache-") as cache:
        os.environ.setdefault("COVERAGE_CACHE_DIR", cache)
        import fuzzing

        case = fuzzing.Case.load(folder)
        print(f"{case.fmt}: {case.what}")
        outcome = fuzzing.check_one(case, timeout=timeout)
    print(outcome)
    if outcome.detail:
        print(outcome.detail)
    return 1 if outcome.failed else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inputs", type=int, default=10_000, help="how many inputs to check")
    parser.add_argument("--seed", type=int, default=0, help="the run's seed")
    parser.add_argument("--jobs", type=int, default=2, help="worker processes")
    parser.add_argument("--keep", type=Path, default=None, help="folder for failing inputs")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds before a hang")
    parser.add_argument("--run-share", type=float, default=0.5,
                        help="share of the inputs passing validate that also run")
    parser.add_argument("--init-share", type=float, default=0.04,
                        help="share of the table inputs proposed with init")
    parser.add_argument("--formats", default="",
                        help="only these input families, comma-separated (default: all)")
    parser.add_argument("--memory-gb", type=float, default=6.0,
                        help="address-space limit of a worker (0: none)")
    parser.add_argument("--replay", type=Path, default=None, help="run one kept case again")
    args = parser.parse_args()
    if args.replay:
        sys.exit(replay(args.replay, args.timeout))
    sys.exit(run(args))


if __name__ == "__main__":
    main()
