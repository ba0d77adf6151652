"""Fixtures of the Python package's tests (ctest -L python).

ctest passes the build's paths in the environment: PYTHONPATH (the build tree's
package), OCRCORE_TEST_OCR_INFER and OCRCORE_TEST_OCR_SYNTH (the tools the
results are compared with and the lines are rendered by), OCRCORE_SOURCE_DIR.
"""

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Dict, List

import pytest

SOURCE_DIR = Path(os.environ.get("OCRCORE_SOURCE_DIR", Path(__file__).resolve().parents[2]))
SAMPLES = SOURCE_DIR / "models" / "samples"
OCR_INFER = os.environ.get("OCRCORE_TEST_OCR_INFER", str(SOURCE_DIR / "build/tools/ocr-infer"))
OCR_SYNTH = os.environ.get("OCRCORE_TEST_OCR_SYNTH", str(SOURCE_DIR / "build/tools/ocr-synth"))


def ocr_infer_jsonl(inputs: List[str], *options: str) -> List[Dict]:
    """ocr-infer's results (--format jsonl) for `inputs`, in input order."""
    done = subprocess.run(
        [OCR_INFER, "-q", "--format", "jsonl", *options, *inputs],
        check=True, capture_output=True, text=True,
    )
    return [json.loads(line) for line in done.stdout.splitlines()]


def ocr_infer_tsv(inputs: List[str], *options: str) -> List[List[str]]:
    """ocr-infer's results as rows of path, text, confidence (%.4f), rotation."""
    done = subprocess.run(
        [OCR_INFER, "-q", "--format", "tsv", *options, *inputs],
        check=True, capture_output=True, text=True,
    )
    return [line.split("\t") for line in done.stdout.splitlines()]


@pytest.fixture(scope="session")
def rendered_lines(tmp_path_factory) -> Path:
    """1,000 lines rendered by ocr-synth from the repository's own documents."""
    out = tmp_path_factory.mktemp("lines")
    if not Path(OCR_SYNTH).exists():
        pytest.skip(f"{OCR_SYNTH} not built (the training side renders the test lines)")
    subprocess.run(
        [OCR_SYNTH, "--corpus", str(SOURCE_DIR / "docs"), str(SOURCE_DIR / "LICENSE"),
         "-o", str(out), "--count", "1000", "--height", "0", "--seed", "7"],
        check=True, capture_output=True,
    )
    return out


def python_module_command(module: str, *args: str) -> List[str]:
    return [sys.executable, "-m", module, *args]
