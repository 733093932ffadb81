"""``import gradsight`` (and the integrations package) never imports a framework, nor torch."""

from __future__ import annotations

import subprocess
import sys


def test_importing_gradsight_imports_no_framework() -> None:
    code = (
        "import sys, gradsight, gradsight.integrations, gradsight.metric_names\n"
        "loaded = sorted(m for m in ('torch', 'lightning', 'pytorch_lightning', 'transformers',"
        " 'accelerate', 'tensorboard') if m in sys.modules)\n"
        "print(','.join(loaded))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""
