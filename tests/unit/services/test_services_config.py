"""`service.kind` in the lab config: local or remote, each checked with one clear sentence."""

from __future__ import annotations

import json
import os

import pytest

from harness.config import ConfigError, parse_lab_config
from harness.errors import HilError
from harness.services.remote import remote_endpoint


@pytest.mark.parametrize(("text", "message"), [
    ("service: {kind: remote}", "a remote service needs url (its REST API) or data_dir"),
    ("service: {url: 'http://h:1'}", "url and operator_key_file are for a remote service"),
    ("service: {kind: remote, url: 'ftp://h', operator_key_file: k}", "is not an http:// or https://"),
    ("service: {kind: remote, url: 'http://h:1'}", "needs operator_key_file"),
    ("service: {kind: cloud}", "service.kind (line 1): Input should be 'local' or 'remote'"),
])
def test_service_kind_mistakes_are_one_sentence_each(text, message):
    with pytest.raises(ConfigError) as info:
        parse_lab_config(text)
    assert message in str(info.value)
    assert len(info.value.problems) == 1


def test_remote_service_by_url_reads_the_operator_key_file(tmp_path):
    key_file = tmp_path / "operator-key"
    key_file.write_text("op_" + "a" * 48 + "\n")
    config = parse_lab_config(f"service: {{kind: remote, url: 'http://127.0.0.1:9', "
                              f"operator_key_file: {key_file}}}").service
    assert remote_endpoint(config) == ("http://127.0.0.1:9", "op_" + "a" * 48)
    key_file.write_text("not a key")
    with pytest.raises(HilError, match="does not hold an operator key"):
        remote_endpoint(config)


def test_remote_service_by_data_dir_finds_the_running_service(tmp_path):
    config = parse_lab_config(f"service: {{kind: remote, data_dir: {tmp_path}}}").service
    with pytest.raises(HilError, match="No local Device Management service is running"):
        remote_endpoint(config)
    (tmp_path / "service.json").write_text(json.dumps({"pid": os.getpid(),
                                                       "rest": "http://127.0.0.1:7"}))
    with pytest.raises(HilError, match="Cannot read the service's operator key"):
        remote_endpoint(config)
    (tmp_path / "operator-key").write_text("op_" + "b" * 48)
    assert remote_endpoint(config) == ("http://127.0.0.1:7", "op_" + "b" * 48)
    other = tmp_path / "other"
    with pytest.raises(HilError, match=f"running on {other}"):
        remote_endpoint(config, other)  # --service-data-dir overrides the config
