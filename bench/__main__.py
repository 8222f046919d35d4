"""Run every benchmark module (bench/*_bench.py) in turn, or only those named: python -m bench backtest."""

import importlib
import os
import pkgutil
import sys
import time

import django


def main(argv: list[str]) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tradingbot.settings")
    django.setup()
    package_dir = os.path.dirname(__file__)
    names = sorted(m.name for m in pkgutil.iter_modules([package_dir]) if m.name.endswith("_bench"))
    wanted = [n for n in names if not argv or any(a in n for a in argv)]
    if not wanted:
        print(f"no benchmark matches {argv}; have: {', '.join(names)}", file=sys.stderr)
        return 2
    failed = 0
    for name in wanted:
        print(f"\n## {name}")
        started = time.perf_counter()
        module = importlib.import_module(f"bench.{name}")
        failed += 1 if module.main() else 0
        print(f"({name} took {time.perf_counter() - started:.1f} s)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
