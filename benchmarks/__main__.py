"""Run every benchmark: ``.venv/bin/python -m benchmarks``.

Each ``benchmarks/bench_*.py`` module has a ``main()`` that prints its table; they run one
after the other with their default options. The exit code is non-zero when any benchmark
misses its limit.
"""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path


def main() -> int:
    folder = Path(__file__).resolve().parent
    failed = []
    for module in sorted(m.name for m in pkgutil.iter_modules([str(folder)])):
        if not module.startswith("bench_"):
            continue
        print(f"\n=== benchmarks.{module} ===", flush=True)
        code = importlib.import_module(f"benchmarks.{module}").main([])
        if code:
            failed.append(module)
    if failed:
        print(f"\nmissed their limits: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
