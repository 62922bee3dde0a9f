"""Link-format (with Izuma extensions) and SenML-JSON codecs."""

import json

import pytest

from harness.lwm2m.linkformat import Link, LinkFormatError, format_links, parse_links, resource_paths
from harness.lwm2m.senml import SenmlError, decode_senml, encode_instance_senml

REGISTER_BODY = (
    '</3/0/0>;rt="x";if="y";v="val";aobs="tok";obs;d,</1/0>,'
    '</>;rt="oma.lwm2m";ct=11543,</3/0/1>;v="a,b;c",</rd-extra>'
)


def test_lwm2m_links_parse_izuma_extensions():
    links = parse_links(REGISTER_BODY.encode())
    first = links[0]
    assert first.path == "/3/0/0"
    assert first.attrs == {"rt": "x", "if": "y", "v": "val", "aobs": "tok", "obs": True, "d": True}
    assert links[3].attrs["v"] == "a,b;c"
    assert resource_paths(links) == [(3, 0, 0), (1, 0), (3, 0, 1)]


def test_lwm2m_links_format_round_trip():
    links = [Link("/3/0/0", {"rt": "x", "v": 'say "hi"', "obs": True}),
             Link("/1/0"), Link("/", {"ct": "11543"})]
    text = format_links(links)
    assert text.startswith('</3/0/0>;rt="x";v="say \\"hi\\"";obs,</1/0>,</>;ct=11543')
    assert parse_links(text) == links


@pytest.mark.parametrize("bad", ["<3/0", "garbage<<", b"\xff\xfe"])
def test_lwm2m_links_bad_input_raises(bad):
    with pytest.raises(LinkFormatError):
        parse_links(bad)


def test_lwm2m_links_empty_and_bad_paths():
    assert parse_links(b"  ") == []
    with pytest.raises(LinkFormatError):
        format_links([Link("/3/<0>")])


def test_lwm2m_senml_instance_encoding():
    payload = encode_instance_senml("/0/1", {
        0: "coaps://127.0.0.1:5684", 1: False, 2: 2, 3: b"\x01\x02\xff", 6: {0: 1.5},
    })
    records = json.loads(payload)
    assert records[0] == {"bn": "/0/1/", "n": "0", "vs": "coaps://127.0.0.1:5684"}
    assert records[1] == {"n": "1", "vb": False}
    assert records[3] == {"n": "3", "vd": "AQL_"}
    assert records[4] == {"n": "6/0", "v": 1.5}
    assert decode_senml(payload) == {
        "/0/1/0": "coaps://127.0.0.1:5684", "/0/1/1": False, "/0/1/2": 2,
        "/0/1/3": b"\x01\x02\xff", "/0/1/6/0": 1.5,
    }


@pytest.mark.parametrize("bad", [b"not json", b'{"n": "x"}', b'[{"n": "/1"}]', b'[{"v": 1}]',
                                 b'[{"n": "/1", "vd": "***"}]'])
def test_lwm2m_senml_bad_input_raises(bad):
    with pytest.raises(SenmlError):
        decode_senml(bad)


def test_lwm2m_senml_rejects_unencodable_values():
    with pytest.raises(SenmlError, match="list"):
        encode_instance_senml("/1/0/", {0: [1]})
