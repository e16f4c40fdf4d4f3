"""Assemble one Lambda's deployment folder: the modules it needs, straight from the source
tree, plus its third-party requirements built for the Lambda platform.

    python deploy/lambda/package.py publish OUT_DIR

``sam build`` calls this through deploy/lambda/Makefile; tests call it directly and run the
result in a clean interpreter. Standard library only.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# What each function ships, as paths relative to the project root: the contracts it uses
# (standard library only, but for PyJWT in verify.py and tokens.py) and itself. Parent
# packages get an empty __init__.py rather than the real one, which may import what a Lambda
# lacks.
ACCESS = ("robot/contracts/access.py", "robot/contracts/refusals.py")
FUNCTIONS: dict[str, tuple[str, ...]] = {
    "publish": (
        *ACCESS,
        "robot/contracts/admission.py",
        "robot/contracts/protocol.py",
        "cloud/api.py",
        "cloud/publish",
    ),
    "authorizer": (
        *ACCESS,
        "robot/contracts/admission.py",
        "robot/contracts/protocol.py",
        "robot/contracts/verify.py",
        "cloud/authorizer",
    ),
    "endpoints": ("cloud/endpoints",),
    "viewer": (*ACCESS, "cloud/api.py", "cloud/viewer"),
    "fleet": (*ACCESS, "cloud/api.py", "cloud/fleet"),
    "guests": (*ACCESS, "robot/contracts/tokens.py", "cloud/api.py", "cloud/guests"),
    "site": ("cloud/site", "cloud/console"),
}
# Functions that need the `cloud` extra's libraries besides boto3 (which the runtime has).
NEEDS_REQUIREMENTS = {"authorizer", "guests"}

# Must match the template's Runtime and Architectures (a test checks).
LAMBDA_PYTHON = "3.13"
LAMBDA_PLATFORM = "manylinux2014_aarch64"


def requirements() -> list[str]:
    """The `cloud` extra of pyproject.toml, less boto3, which the Lambda runtime provides."""
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    cloud = extras["optional-dependencies"]["cloud"]
    return [req for req in cloud if not re.match(r"(boto3|botocore)\b", req)]


def copy_sources(function: str, out: Path) -> list[Path]:
    """Copy the function's modules into ``out``; return the files written."""
    written = []
    for entry in FUNCTIONS[function]:
        source = ROOT / entry
        # A folder ships whole: its modules and its data (the console's pages and scripts).
        files = sorted(source.rglob("*")) if source.is_dir() else [source]
        for file in files:
            if "__pycache__" in file.parts or not file.is_file():
                continue
            target = out / file.relative_to(ROOT)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(file, target)
            written.append(target)
    for target in [file for file in written if file.suffix == ".py"]:
        for parent in target.relative_to(out).parents:
            marker = out / parent / "__init__.py"
            if parent != Path(".") and not marker.exists():
                marker.write_text("")
                written.append(marker)
    return written


def install_requirements(
    out: Path, python: str = LAMBDA_PYTHON, platform: str = LAMBDA_PLATFORM
) -> None:
    """pip-install the requirements as wheels for the Lambda platform, whatever this host is."""
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--target",
            str(out),
            "--platform",
            platform,
            "--implementation",
            "cp",
            "--python-version",
            python,
            "--only-binary=:all:",
            "--no-compile",
            "--upgrade",
            *requirements(),
        ],
        check=True,
    )


def build(function: str, out: Path, with_requirements: bool = True) -> None:
    out.mkdir(parents=True, exist_ok=True)
    copy_sources(function, out)
    if with_requirements and function in NEEDS_REQUIREMENTS:
        install_requirements(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("function", choices=sorted(FUNCTIONS))
    parser.add_argument("out", type=Path, help="the folder to fill (sam build's ARTIFACTS_DIR)")
    parser.add_argument(
        "--no-requirements",
        action="store_true",
        help="copy the sources only (tests supply the libraries themselves)",
    )
    args = parser.parse_args(argv)
    build(args.function, args.out, with_requirements=not args.no_requirements)
    return 0


if __name__ == "__main__":
    sys.exit(main())
