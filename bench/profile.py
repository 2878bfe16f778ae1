"""Summarise py-spy's raw (collapsed-stack) profiles: where the server's CPU goes.

    python -m bench.profile FILE [FILE...] [--top N] [--under FUNCTION]

`bench --profile DIR` records one such file per gunicorn worker while the
window runs (py-spy record -f raw --nonblocking; idle samples are not
recorded, so the shares are shares of CPU time). This prints, for all the
files together, the functions with the most inclusive time (on the stack) and
the most self time (on top of the stack). --under keeps only samples whose
stack passes through a function whose name contains the given text.
"""
import argparse
import re
from collections import Counter

FRAME = re.compile(r"^(?P<function>.*?) \((?P<file>[^():]*)(?::\d+)?\)$")


def short(frame):
    match = FRAME.match(frame.strip())
    if not match:
        return frame.strip()
    path = match.group("file")
    for marker in ("site-packages/", "lib/python3", "/work/main/"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    return f"{match.group('function')} ({path})"


def load(paths, under=None):
    stacks = Counter()
    for path in paths:
        with open(path) as handle:
            for line in handle:
                line = line.rstrip("\n")
                if not line:
                    continue
                stack, _, count = line.rpartition(" ")
                frames = tuple(short(f) for f in stack.split(";") if f and not f.startswith("process ")
                               and not f.startswith("thread "))
                if under and not any(under in frame for frame in frames):
                    continue
                stacks[frames] += int(count)
    return stacks


def summarise(stacks, top=25):
    total = sum(stacks.values())
    inclusive, own = Counter(), Counter()
    for frames, count in stacks.items():
        for frame in set(frames):
            inclusive[frame] += count
        if frames:
            own[frames[-1]] += count
    lines = [f"{total} samples"]
    for title, counter in (("inclusive (on the stack)", inclusive), ("self (running)", own)):
        lines.append(f"\n{title}:")
        for frame, count in counter.most_common(top):
            lines.append(f"  {100 * count / total:5.1f}%  {frame}")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.profile")
    parser.add_argument("files", nargs="+")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--under", help="only samples passing through a function containing this text")
    args = parser.parse_args(argv)
    print(summarise(load(args.files, args.under), args.top))


if __name__ == "__main__":
    main()
