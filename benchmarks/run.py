"""`make bench`: run every benchmark group in its own process and report.

Writes bench_results/results.json and bench_results/results.md and prints the markdown. The
synthetic full market is generated once into bench_results/cache/ (deterministic, reused by
later runs); warehouses and model artifacts live in a temporary directory removed at the end.
"""

import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.cases import GROUPS, REPEATS, WARMUPS

RESULTS_DIR = Path("bench_results")


def run_group(group: str, cache_dir: Path, work_dir: Path) -> dict:
    out = work_dir / f"{group}.json"
    log = RESULTS_DIR / "logs" / f"{group}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with log.open("w") as log_file:
        finished = subprocess.run(
            [
                sys.executable,
                "-m",
                "benchmarks.cases",
                group,
                str(cache_dir),
                str(work_dir),
                str(out),
            ],
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    if finished.returncode != 0:
        raise SystemExit(f"benchmark group {group} failed; its output is in {log}")
    results = json.loads(out.read_text())
    results["wall_s"] = time.perf_counter() - started
    return results


def markdown(groups: list[dict], total_s: float) -> str:
    lines = [
        f"# Benchmarks ({os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{REPEATS} timed runs after {WARMUPS} warm-up)",
        "",
        "| case | median s | min..max s | spread | rows | rows/s | peak RSS MiB | note |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for group in groups:
        for m in group["measurements"]:
            lines.append(
                f"| {m['case']} | {m['median_s']:.3f} | {m['min_s']:.3f}..{m['max_s']:.3f} "
                f"| {m['spread_pct']:.0f}% | {m['rows']:,} | {m['rows_per_s']:,.0f} "
                f"| {m['peak_rss_mib']:,.0f} | {m['note']} |"
            )
    lines += ["", "| target | measured | limit | met | margin |", "|---|---:|---:|---|---:|"]
    for group in groups:
        for t in group["targets"]:
            lines.append(
                f"| {t['target']} | {_number(t['value'])} {t['unit']} "
                f"| {_number(t['limit'])} {t['unit']} | {'yes' if t['met'] else 'NO'} "
                f"| {t['margin_pct']:+.0f}% |"
            )
    lines += ["", f"Whole suite: {total_s:.0f} s."]
    return "\n".join(lines) + "\n"


def _number(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.2f}"


def main() -> None:
    started = time.perf_counter()
    cache_dir = RESULTS_DIR / "cache"
    cache_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="low_assets_bench_") as work:
        groups = [run_group(group, cache_dir.resolve(), Path(work)) for group in GROUPS]
    total_s = time.perf_counter() - started

    report = markdown(groups, total_s)
    (RESULTS_DIR / "results.json").write_text(
        json.dumps({"cores": os.cpu_count(), "total_s": total_s, "groups": groups}, indent=2)
    )
    (RESULTS_DIR / "results.md").write_text(report)
    sys.stdout.write(report)


if __name__ == "__main__":
    main()
