#!/usr/bin/env python3
"""Set-up in one command: `python3 dev.py demo` serves the demo city, `python3 dev.py test` runs the suite.

Both create the virtual environment in .venv if there is none and install what they need, so a
fresh machine with only Python 3.11 needs nothing else by hand.
"""

import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / "python"


def ensure_venv(extras: str) -> None:
    if not PYTHON.exists():
        print(f"creating virtual environment in {VENV}", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    stamp = VENV / f".installed-{extras or 'base'}"
    pyproject = ROOT / "pyproject.toml"
    if stamp.exists() and stamp.stat().st_mtime >= pyproject.stat().st_mtime:
        return
    target = f"{ROOT}[{extras}]" if extras else str(ROOT)
    print(f"installing fangkong ({extras or 'runtime'}) into {VENV}", flush=True)
    subprocess.run(
        [str(PYTHON), "-m", "pip", "install", "--disable-pip-version-check", "-q", "-e", target],
        check=True,
    )
    stamp.touch()


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in {"demo", "test"}:
        print(__doc__)
        return 2
    command, rest = argv[0], argv[1:]
    os.chdir(ROOT)
    if command == "demo":
        ensure_venv("")
        return subprocess.call([str(BIN / "fangkong"), "demo", *rest])
    ensure_venv("dev")
    return subprocess.call([str(PYTHON), "-m", "pytest", *rest])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
