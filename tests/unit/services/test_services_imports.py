"""Clients of a service never load the service: the REST client, the remote seam, the bench."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from harness.config import REPO_ROOT

SERVER = ("harness.cloud.rest", "harness.cloud.service", "harness.cloud.store",
          "harness.cloud.bootstrap", "harness.cloud.lwm2m_server", "fastapi", "uvicorn", "aiocoap")


@pytest.mark.parametrize("module", ["harness.rest_client", "harness.services.remote",
                                    "harness.services.bench", "harness.factory"])
def test_a_client_module_loads_no_server_code(module):
    code = (f"import json, sys, {module}; "
            "print(json.dumps(sorted(m for m in sys.modules if m.startswith('harness') "
            "or m in ('fastapi', 'uvicorn', 'aiocoap'))))")
    loaded = json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                       check=True, cwd=REPO_ROOT).stdout)
    server = [m for m in loaded if any(m == s or m.startswith(s + ".") for s in SERVER)]
    assert server == [], f"{module} loads server modules: {server}"


def test_a_broken_rest_package_stops_the_service_loudly(tmp_path):
    """No silent optional import: the service imports its REST API outright."""
    code = ("import sys; sys.modules['harness.cloud.rest'] = None\n"
            "import harness.cloud.service\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=REPO_ROOT)
    assert done.returncode != 0 and "harness.cloud.rest" in done.stderr
