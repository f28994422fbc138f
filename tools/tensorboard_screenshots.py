"""Screenshots of TensorBoard's Scalars and HParams pages over a small sweep, for docs/monitoring.md.

Runs a four-job sweep (unless --logdir names existing runs), starts the real `tensorboard`
server on a loopback port, and has headless Chromium (Debian's `chromium` package:
`apt-get install chromium`) render each page to a PNG.

    python tools/tensorboard_screenshots.py                 # sweep, then screenshots
    python tools/tensorboard_screenshots.py --logdir multirun/2026-11-22/10-00-00
"""

import argparse
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAGES = {
    "scalars": "#scalars",
    "hparams": "#hparams",
    "images": "#images&tagFilter=attention",
    "text": "#text&tagFilter=decoded_samples",
}
SWEEP = [
    "-m",
    "model=lstm,attention",
    "model.units=32,64",
    "task.train_size=6000",
    "task.val_size=200",
    "task.test_size=200",
    "trainer.epochs=4",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url + "/data/runs", timeout=5).read()
            return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError(f"tensorboard did not answer at {url}")


def screenshot(chromium: str, url: str, path: Path) -> None:
    """Renders `url` in headless Chromium and saves a PNG; the network stays on loopback."""
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [
                chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--no-first-run", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", f"--user-data-dir={profile}", "--hide-scrollbars",
                "--window-size=1400,900", "--virtual-time-budget=15000",
                f"--screenshot={path}", url,
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--logdir", help="runs to show; by default a new small sweep")
    parser.add_argument("--out", default=str(ROOT / "docs" / "images"))
    args = parser.parse_args()
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        sys.exit(
            "error: chromium not found; allowed: Debian's chromium package (apt-get install chromium)"
        )
    logdir = args.logdir
    if logdir is None:
        logdir = tempfile.mkdtemp(prefix="sweep-")
        command = [sys.executable, str(ROOT / "train.py"), *SWEEP, f"hydra.sweep.dir={logdir}"]
        subprocess.run(command, cwd=ROOT, check=True)
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    server = subprocess.Popen(
        [sys.executable, "-m", "tensorboard.main", "--logdir", logdir, "--host", "127.0.0.1",
         "--port", str(port), "--load_fast", "false"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_for(url.rstrip("/"))
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        for name, fragment in PAGES.items():
            path = out / f"tensorboard_{name}.png"
            screenshot(chromium, url + fragment, path)
            print(f"written: {path}")
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
