"""What the real Device Management Client does, in one place: its error enum per client version
(errors), how server answers become errors (failures), its console lines (console) and how to read
them (dialect), the documented troubleshooting texts (troubleshooting) and wire constants (wire).

The virtual board prints with it, the service answers with it, the fixtures and the report judge
boards by it. It imports nothing else of the harness.
"""
