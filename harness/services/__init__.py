"""What a test needs from a Device Management service, behind one interface (see base.py).

`local.py` runs the service in-process (harness.cloud); `remote.py` is a client of a service
started elsewhere (`hil cloud serve`), over its REST API and URIs only. `connect()` picks one
from the lab config.
"""
