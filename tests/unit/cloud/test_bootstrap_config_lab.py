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


def test_paths_outside_the_bootstrap_operations_of_oma_core_are_read_for_negative_tests(tmp_path):
    """Discover of an instance or a resource, Delete of a resource, a write of /1/<i>, Deletes
    after the writes and the security write again: what a client answers to them is measured."""
    config = _load(tmp_path, "    discover: [/0/0, /1/0/1]\n    delete: [/0/0/1]\n"
                             "    instance_writes:\n      - {path: /1/0, values: {9: 1}}\n"
                             "    delete_after_writes: [/, /1/0]\n    execute: [/1/0/8]\n"
                             "    discover_after_writes: [/0/1]\n    rewrite_security: true\n")
    bootstrap = config.service.bootstrap_config
    assert bootstrap.discover == ["/0/0", "/1/0/1"] and bootstrap.delete == ["/0/0/1"]
    assert bootstrap.instance_writes[0].ids() == (1, 0)
    assert bootstrap.delete_after_writes == ["/", "/1/0"] and bootstrap.execute == ["/1/0/8"]
    assert bootstrap.discover_after_writes == ["/0/1"] and bootstrap.rewrite_security is True


@pytest.mark.parametrize(("section", "sentence"), [
    ("    delete: [/3]\n", "service.bootstrap_config.delete (line 3): delete path '/3' is not /, /0, "
                         "/1 or an instance or resource of them (/0/<i>, /1/<i>/<r>); use one of "
                         "those"),
    ("    delete_after_writes: [/0/0/1/2]\n", "service.bootstrap_config.delete_after_writes (line "
     "3): delete path '/0/0/1/2' is not /, /0, /1 or an instance or resource of them (/0/<i>, "
     "/1/<i>/<r>); use one of those"),
    ("    discover: [/3/0]\n", "service.bootstrap_config.discover (line 3): discover path '/3/0' "
                             "cannot be discovered at bootstrap; use /, /0, /1 or an instance or "
                             "resource of /0 or /1 (/0/<i>, /1/<i>/<r>)"),
    ("    discover_after_writes: [/0/0/0/0]\n", "service.bootstrap_config.discover_after_writes "
     "(line 3): discover path '/0/0/0/0' cannot be discovered at bootstrap; use /, /0, /1 or an "
     "instance or resource of /0 or /1 (/0/<i>, /1/<i>/<r>)"),
    ("    execute: [/1/0]\n", "service.bootstrap_config.execute (line 3): execute path '/1/0' is "
                           "not a resource; write it as /<object>/<instance>/<resource>, e.g. "
                           "/1/0/8"),
    ("    write: none\n    rewrite_security: true\n", "rewrite_security needs an account to write "
     "again; set write to instance or resources, or drop rewrite_security"),
    ("    rewrite_security: 1\n", "service.bootstrap_config.rewrite_security (line 3): Input "
                                "should be a valid boolean"),
    ("    extra_writes:\n      - {path: /3/0, value: 1}\n",
     "service.bootstrap_config.extra_writes[0].path (line 4): extra write path '/3/0' is not a "
     "resource of /0, /1, /2 or /3; write it as /<object>/<instance>/<resource>, e.g. /3/0/14"),
    ("    instance_writes:\n      - {path: /4/0, values: {1: 60}}\n",
     "service.bootstrap_config.instance_writes[0].path (line 4): instance write path '/4/0' is "
     "not an instance of /0, /1, /2 or /3; write it as /<object>/<instance>, e.g. /3/0"),
])
def test_a_bad_value_is_one_clear_sentence(tmp_path, section, sentence):
    with pytest.raises(ConfigError) as raised:
        _load(tmp_path, section)
    assert str(raised.value).endswith(sentence), str(raised.value)
    assert len(str(raised.value).splitlines()) == 1
