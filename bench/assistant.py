"""Measure the assistant (rooms/assistant): held-out intent accuracy, import and warm-up cost, answer time per skill.

    python -m bench.assistant [--rounds 200]

Import time and memory are measured in a fresh interpreter (the cost the
assistant's process pays once); answer times are the median and p99 of
`answer()` per skill in this process, with the fakes the tests use (no
database: this is the brain alone, not the question-to-answer round trip).
"""
import argparse
import json
import statistics
import subprocess
import sys
import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

HELDOUT = Path(__file__).resolve().parent.parent / "tests" / "rooms" / "assistant_heldout.json"

STARTUP = """
import json, resource, sys, time
def rss():
    return int(next(line for line in open("/proc/self/status") if line.startswith("VmRSS")).split()[1]) // 1024
before = rss(); t0 = time.perf_counter()
import rooms.assistant
t1 = time.perf_counter(); after_import = rss()
rooms.assistant.warm()
t2 = time.perf_counter()
print(json.dumps({"import_s": t1 - t0, "warm_s": t2 - t1, "rss_before": before, "rss_import": after_import, "rss_warm": rss()}))
"""


def accuracy():
    from rooms.assistant.answers import CONFIDENT
    from rooms.assistant.intents import classify, load
    from rooms.assistant.words import keywords

    heldout = load(HELDOUT)
    right = routed = total = 0
    misses, per_intent = [], Counter()
    for intent, phrasings in heldout.items():
        for text in phrasings:
            guess = classify(text)
            total += 1
            right += guess.name == intent
            per_intent[intent] += guess.name == intent
            route = guess.name if guess.confidence >= CONFIDENT else ("find" if keywords(text) else "unknown")
            routed += route == intent
            if guess.name != intent:
                misses.append(f"  {intent:>9} → {guess.name:<9} ({guess.confidence:.2f}) {text!r}")
    print(f"held-out intents: {right}/{total} = {right / total:.1%} (classifier); "
          f"{routed}/{total} = {routed / total:.1%} after the low-confidence fallback to find")
    for intent, phrasings in heldout.items():
        print(f"  {intent:>9}: {per_intent[intent]}/{len(phrasings)}")
    print("misses:", *misses, sep="\n")


def timings(rounds):
    from rooms.assistant import AskerContext, Record, RoomRef, answer

    now = datetime(2026, 11, 18, 13, 5, tzinfo=timezone.utc)
    authors = ["Ana", "Bob", "Carol", "Dan", "Eve"]
    words = "release deploy staging migration review budget logo friday database index notes customer".split()
    unread = [
        Record(id=i, room_slug="general", room_name="General", author_name=authors[i % 5],
               text=f"The {words[i % 12]} needs a {words[(i * 7) % 12]} check. I will look at the {words[(i * 5) % 12]} today.",
               created_at=now - timedelta(minutes=200 - i))
        for i in range(1, 101)
    ]
    context = AskerContext(name="Eve", room=RoomRef("general", "General"), unread=lambda: unread,
                           search=lambda ws, limit: [r for r in unread if all(w in r.text for w in ws)][:limit])
    questions = {
        "help": "what can you do?",
        "summary (100 unread)": "what did I miss?",
        "find": "where did we talk about the release date?",
        "remind": "remind me tomorrow at 9 to send the report",
        "smalltalk": "thanks!",
    }
    print(f"\nanswer() per skill, {rounds} rounds, ms:")
    print(f"{'skill':22} {'median':>8} {'p99':>8}")
    for skill, question in questions.items():
        samples = []
        for _ in range(rounds):
            start = time.perf_counter()
            answer(question, asker=context, now=now)
            samples.append((time.perf_counter() - start) * 1000)
        samples.sort()
        print(f"{skill:22} {statistics.median(samples):8.2f} {samples[int(len(samples) * 0.99) - 1]:8.2f}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args(argv)
    root = Path(__file__).resolve().parent.parent
    runs = [json.loads(subprocess.run([sys.executable, "-c", STARTUP], cwd=root, check=True,
                                      capture_output=True, text=True).stdout) for _ in range(3)]
    median = {key: statistics.median(run[key] for run in runs) for key in runs[0]}
    print(f"startup (median of 3 fresh interpreters): import {median['import_s'] * 1000:.0f} ms, "
          f"warm() {median['warm_s'] * 1000:.0f} ms; memory {median['rss_before']:.0f} MB → "
          f"{median['rss_import']:.0f} MB after import → {median['rss_warm']:.0f} MB after warm() "
          f"(+{median['rss_warm'] - median['rss_before']:.0f} MB)")
    accuracy()
    from rooms.assistant import warm

    warm()
    timings(args.rounds)


if __name__ == "__main__":
    main()
