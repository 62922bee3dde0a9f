"""SenML-JSON (ct 110, RFC 8428) as LwM2M 1.1 uses it for writes to standard clients."""

from __future__ import annotations

import base64
import binascii
import json

from harness.errors import HilError
from harness.lwm2m.tlv import ResourceValues, Value


class SenmlError(HilError):
    """A SenML payload that cannot be encoded or decoded."""


def _record(name: str, value: Value) -> dict[str, object]:
    if isinstance(value, bool):
        return {"n": name, "vb": value}
    if isinstance(value, int | float):
        return {"n": name, "v": value}
    if isinstance(value, str):
        return {"n": name, "vs": value}
    if isinstance(value, bytes | bytearray):
        return {"n": name, "vd": base64.urlsafe_b64encode(bytes(value)).rstrip(b"=").decode()}
    raise SenmlError(
        f"Cannot encode a {type(value).__name__} in SenML; use int, float, bool, str or bytes."
    )


def encode_instance_senml(base_path: str, resources: ResourceValues) -> bytes:
    """Encode one instance's resources as SenML-JSON records under base name `base_path`."""
    base = base_path if base_path.endswith("/") else base_path + "/"
    records: list[dict[str, object]] = []
    for rid, value in sorted(resources.items()):
        if isinstance(value, dict):
            records += [_record(f"{rid}/{iid}", v) for iid, v in sorted(value.items())]
        else:
            records.append(_record(str(rid), value))
    if records:
        records[0] = {"bn": base, **records[0]}
    return json.dumps(records, separators=(",", ":")).encode()


def _decode_vd(text: object) -> bytes:
    if not isinstance(text, str):
        raise SenmlError("SenML 'vd' must be a base64url string; fix the record.")
    try:
        std = text.replace("-", "+").replace("_", "/")
        return base64.b64decode(std + "=" * (-len(std) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise SenmlError("SenML 'vd' is not valid base64url; fix the record.") from None


def decode_senml(data: bytes | str) -> dict[str, Value]:
    """Decode SenML-JSON into {full path: value}, resolving bn/n per RFC 8428."""
    try:
        records = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        raise SenmlError("SenML payload is not JSON; send a JSON array of records.") from None
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise SenmlError("SenML payload must be a JSON array of objects; wrap records in [].")
    out: dict[str, Value] = {}
    base = ""
    for record in records:
        if "bn" in record:
            base = str(record["bn"])
        name = base + str(record.get("n", ""))
        if not name:
            raise SenmlError("SenML record has no name (bn + n is empty); add 'n' or 'bn'.")
        if "vb" in record:
            out[name] = bool(record["vb"])
        elif "v" in record:
            out[name] = record["v"]
        elif "vs" in record:
            out[name] = str(record["vs"])
        elif "vd" in record:
            out[name] = _decode_vd(record["vd"])
        elif "vlo" in record:
            out[name] = str(record["vlo"])
        else:
            raise SenmlError(f"SenML record {name!r} has no value (v, vs, vb, vd); add one.")
    return out
