"""Benchmark what rendering one message costs (rooms/markdown.py), per kind of message.

    python -m bench.render [--rounds 2000]

Each message is rendered once, when it is posted or edited, inside the post's
request: this is what that adds. Prints the median and p99 per kind, in
milliseconds, for this machine, in this process (one core, no contention).
"""
import argparse
import os
import statistics
import sys
import time

MEMBERS = {n: f"Member {n}" for n in range(1, 51)} | {51: "Ana Lopez", 52: "Bob Stone"}

KINDS = {
    "short plain": "ok, see you at 3",
    "typical chat": "thanks @**Ana Lopez**, the **deploy** went fine — see https://example.com/runs/42 and `make test`",
    "markdown mix": (
        "Release notes:\n\n- **fixed** the ~~old~~ login bug\n- added `retry()`\n\n> quoted from the ticket\n\n"
        "```\nfor x in range(3):\n    print(x)\n```\n@**all** please check"
    ),
    "4,000 chars prose": ("The quick brown fox jumps over the lazy dog. " * 90)[:4000],
    "4,000 chars dense markdown": ("**a** _b_ `c` [d](https://e.io) ~~f~~ " * 120)[:4000],
}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2000)
    args = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from rooms.markdown import render

    print(f"rendering one message (rooms/markdown.py), {args.rounds} rounds per kind, ms:")
    print(f"{'kind':28} {'median':>8} {'p99':>8}")
    for kind, body in KINDS.items():
        rounds = args.rounds if len(body) < 1000 else max(args.rounds // 10, 50)
        render(body, members=MEMBERS)  # warm
        times = []
        for _ in range(rounds):
            start = time.perf_counter()
            render(body, members=MEMBERS)
            times.append((time.perf_counter() - start) * 1000)
        times.sort()
        print(f"{kind:28} {statistics.median(times):8.3f} {times[int(len(times) * 0.99) - 1]:8.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
