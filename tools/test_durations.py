"""Writes tests/durations.json, the seconds each test file took under `make test`, from
pytest's JUnit XML reports: tests/conftest.py starts the heaviest files first.

    .venv/bin/python -m pytest -n 2 --dist loadfile --junitxml=report.xml
    python tools/test_durations.py report.xml [more.xml ...]

Several reports are averaged, file by file.
"""

import collections
import json
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "tests" / "durations.json"


def file_seconds(report: Path) -> dict:
    """{test file: seconds} of one report; a test's time includes its fixtures'.

    Args:
        report: a pytest `--junitxml` file.

    Returns:
        The seconds of each file's tests, summed, by path from the repository's root.
    """
    seconds = collections.Counter()
    for case in ET.parse(report).iter("testcase"):
        # classname is `tests.serving.test_inference` or `...test_inference.TestClass`.
        parts = [part for part in case.get("classname").split(".") if not part[:1].isupper()]
        seconds["/".join(parts) + ".py"] += float(case.get("time"))
    return seconds


def main(reports: list) -> int:
    if not reports:
        print("usage: python tools/test_durations.py REPORT.xml [...]", file=sys.stderr)
        return 2
    totals, counts = collections.Counter(), collections.Counter()
    for report in reports:
        for name, seconds in file_seconds(Path(report)).items():
            totals[name] += seconds
            counts[name] += 1
    means = {name: round(totals[name] / counts[name], 1) for name in sorted(totals)}
    OUT.write_text(json.dumps(means, indent=1) + "\n")
    print(f"wrote {OUT}: {len(means)} files, {sum(means.values()):.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
