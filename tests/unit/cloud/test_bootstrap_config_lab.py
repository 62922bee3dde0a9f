"""The service's bootstrap configuration in the lab config: validated, one sentence per mistake."""

from __future__ import annotations

import pytest

from harness.config.errors import ConfigError
from harness.config.loading import load_lab_config


def _load(tmp_path, section: str):
    path = tmp_path / "lab.yaml"
    path.write_text("service:\n  bootstrap_config:\n" + section)
    return load_lab_config(path)


def test_a_service_bootstrap_configuration_is_read(tmp_path):
    config = _load(tmp_path, "    delete: [/, /0/1]\n    write: resources\n"
                             "    extra_writes:\n      - {path: /3/0/14, value: '+02:00'}\n")
    bootstrap = config.service.bootstrap_config
    assert bootstrap.delete == ["/", "/0/1"] and bootstrap.write == "resources"
    assert bootstrap.extra_writes[0].ids() == (3, 0, 14) and bootstrap.extra_writes[0].value == "+02:00"
    assert not bootstrap.is_default


def test_without_the_section_the_default_sequence_is_kept(tmp_path):
    path = tmp_path / "lab.yaml"
    path.write_text("service:\n  kind: local\n")
    assert load_lab_config(path).service.bootstrap_config.is_default


@pytest.mark.parametrize(("section", "sentence"), [
    ("    delete: [/3]\n", "service.bootstrap_config.delete (line 3): delete path '/3' is not /, /0, "
                         "/1 or one instance of them (/0/<i>, /1/<i>); use one of those"),
    ("    discover: [/0/1]\n", "service.bootstrap_config.discover (line 3): discover path '/0/1' "
                             "cannot be discovered at bootstrap; use /, /0, /1"),
    ("    extra_writes:\n      - {path: /3/0, value: 1}\n",
     "service.bootstrap_config.extra_writes[0].path (line 4): extra write path '/3/0' is not a "
     "resource of /0, /1, /2 or /3; write it as /<object>/<instance>/<resource>, e.g. /3/0/14"),
    ("    instance_writes:\n      - {path: /1/0, values: {1: 60}}\n",
     "service.bootstrap_config.instance_writes[0].path (line 4): instance write path '/1/0' is "
     "not an instance of /0, /2 or /3; write it as /<object>/<instance>, e.g. /3/0"),
])
def test_a_bad_value_is_one_clear_sentence(tmp_path, section, sentence):
    with pytest.raises(ConfigError) as raised:
        _load(tmp_path, section)
    assert str(raised.value).endswith(sentence), str(raised.value)
    assert len(str(raised.value).splitlines()) == 1
