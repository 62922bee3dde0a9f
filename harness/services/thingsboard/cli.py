"""`hil tb ...`: the ThingsBoard-style service from the command line (the "manual" way)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.serialization import Encoding

from harness.config import ThingsBoardConfig
from harness.errors import HilError
from harness.services.thingsboard.client import STATE_FILE, TbRestClient, read_state

DEFAULT_DATA_DIR = ".hil/tb"
STRATEGIES = {"allow-create": "ALLOW_CREATE_NEW_DEVICES",
              "check-pre-provisioned": "CHECK_PRE_PROVISIONED_DEVICES",
              "x509-chain": "X509_CERTIFICATE_CHAIN"}


def _tb_config(args: argparse.Namespace) -> ThingsBoardConfig:
    from harness.config import load_lab_config

    return load_lab_config(getattr(args, "lab_config", None)).thingsboard or ThingsBoardConfig()


def _client(args: argparse.Namespace) -> TbRestClient:
    config = _tb_config(args)
    url = args.url or read_state(Path(args.data_dir))["rest"]
    return TbRestClient(url, config.tenant_username, config.tenant_password)


def _masked(value: Any) -> str:
    text = str(value or "")
    return text[:2] + "*" * max(len(text) - 2, 0) if text else "-"


def cmd_serve(args: argparse.Namespace) -> int:
    """Run the service until Ctrl-C; print its URIs and the CA devices trust."""
    from harness.services.thingsboard.service import ThingsBoardService

    config = _tb_config(args)
    service = ThingsBoardService(config, Path(args.data_dir))

    async def main() -> None:
        await service.start()
        info = service.describe()
        (Path(args.data_dir) / STATE_FILE).write_text(json.dumps(info))
        for key, value in info.items():
            print(f"{key:9} {value}", flush=True)
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        try:
            await stop.wait()
        finally:
            await service.stop()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())
    return 0


def cmd_device_create(args: argparse.Namespace) -> int:
    """POST /api/device; prints the id and the credentials type."""
    client = _client(args)
    device = client.create_device(args.name, args.token)
    creds = client.credentials(device["id"]["id"])
    print(f"{device['name']}  id {device['id']['id']}  {creds['credentialsType']} "
          f"{_masked(creds['credentialsId'])}")
    return 0


def cmd_credentials_get(args: argparse.Namespace) -> int:
    """GET /api/device/{id}/credentials (secrets masked unless --show-secret)."""
    client = _client(args)
    creds = client.credentials(client.device(args.name)["id"]["id"])
    if not args.show_secret:
        if creds["credentialsType"] == "ACCESS_TOKEN":
            creds["credentialsId"] = _masked(creds["credentialsId"])
        if creds["credentialsType"] == "MQTT_BASIC" and creds["credentialsValue"]:
            value = json.loads(creds["credentialsValue"])
            value["password"] = "********" if value.get("password") else None
            creds["credentialsValue"] = json.dumps(value)
    print(json.dumps(creds, indent=2))
    return 0


def cmd_credentials_set(args: argparse.Namespace) -> int:
    """POST /api/device/credentials with one credentials type."""
    client = _client(args)
    device_id = client.device(args.name)["id"]["id"]
    if args.token:
        creds = client.set_credentials(device_id, "ACCESS_TOKEN", credentials_id=args.token)
    elif args.cert:
        try:
            pem = Path(args.cert).read_text()
        except OSError as exc:
            raise HilError(f"Cannot read the certificate {args.cert} ({exc.strerror}); "
                           "give a PEM file.") from None
        creds = client.set_credentials(device_id, "X509_CERTIFICATE", value=pem)
    elif args.client_id or args.username:
        value = {"clientId": args.client_id, "userName": args.username, "password": args.password}
        creds = client.set_credentials(device_id, "MQTT_BASIC", value=value)
    else:
        raise HilError("Say which credentials to set: --token, --cert FILE, or --client-id/--username "
                       "[--password].")
    print(f"{args.name}: credentials set to {creds['credentialsType']}")
    return 0


def cmd_profile_create(args: argparse.Namespace) -> int:
    """POST /api/deviceProfile with a provisioning strategy."""
    strategy = STRATEGIES[args.strategy]
    ca_pem = None
    if strategy == "X509_CERTIFICATE_CHAIN":
        if not args.ca:
            raise HilError("--strategy x509-chain needs --ca FILE (the CA that signs the device "
                           "certificates).")
        ca_pem = Path(args.ca).read_text()
    elif not (args.key and args.secret):
        raise HilError(f"--strategy {args.strategy} needs --key and --secret (the provision key and "
                       "secret).")
    profile = _client(args).create_profile(args.name, strategy, key=args.key, secret=args.secret,
                                           ca_pem=ca_pem, allow_create=not args.no_create)
    print(f"{profile['name']}  id {profile['id']['id']}  {strategy}")
    return 0


def cmd_events(args: argparse.Namespace) -> int:
    """Print the service's events (connects accepted/refused with the reason, provisioning)."""
    client = _client(args)
    device_id = client.device(args.device)["id"]["id"] if args.device else None
    for event in client.events(device_id):
        code = "" if event["code"] is None else f" CONNACK {event['code']}"
        print(f"{event['id']:5} {event['type']:18} {event['transport'] or '-':8}{code}  {event['reason']}")
    return 0


def cmd_provision(args: argparse.Namespace) -> int:
    """Give a board its ThingsBoard server and credentials over its serial port (tb.* items)."""
    from harness import pki
    from harness.boards.board import Board
    from harness.boards.dialect import dialect_named
    from harness.boards.manifest import load_manifest
    from harness.config import load_lab_config
    from harness.provisioning.host import provision
    from harness.provisioning.thingsboard import tb_bundle

    lab = load_lab_config(getattr(args, "lab_config", None))
    config = lab.board(args.board)
    state = read_state(Path(args.data_dir))
    ca_der = pki.load_certificate(Path(state["ca"]).read_bytes()).public_bytes(Encoding.DER)
    device = None
    if args.cert or args.key:
        if not (args.cert and args.key):
            raise HilError("X.509 needs both --cert and --key (PEM files of the device).")
        try:
            device = pki.Credential(pki.load_certificate(Path(args.cert).read_bytes()),
                                    pki.load_private_key(Path(args.key).read_bytes()))
        except OSError as exc:
            raise HilError(f"Cannot read {exc.filename} ({exc.strerror}); give PEM files.") from None
    tls = args.tls or device is not None
    bundle = tb_bundle(state["mqtts" if tls else "mqtt"], server_ca_der=ca_der if tls else None,
                       access_token=args.token, client_id=args.client_id, user_name=args.username,
                       password=args.password, device=device, provision_key=args.provision_key,
                       provision_secret=args.provision_secret, device_name=args.device_name)
    dialect = dialect_named("thingsboard_device", load_manifest(lab.manifest_path()))
    board = Board(config)
    console = board.open_console()
    try:
        with console.handed_over() as port:
            result = provision(port, bundle, timeout=args.timeout)
            console.feed(result.console)
        print(f"{args.board}: {result.status_name}: {result.info.strip()}")
        if not result.ok:
            return 1
        outcome = "|".join(dialect[k].pattern for k in ("connected", "refused", "tls_failed",
                                                        "provision_failed"))
        for line in console.readlines_until(outcome, args.follow) if args.follow > 0 else []:
            print(f"  | {line}")
        return 0 if args.follow <= 0 or any(dialect.match("connected", x) for x in console.lines) else 1
    finally:
        board.close_console()


def add_tb_commands(add: Callable[..., argparse.ArgumentParser], sub: Any) -> None:
    """Register `hil tb ...` with the main parser's `add` helper."""
    tb = add("tb", lambda a: 0, "the local ThingsBoard-style device service (MQTT + device credentials)")
    tb_sub = tb.add_subparsers(dest="tb_command", required=True, metavar="COMMAND")

    def common(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument("--data-dir", default=DEFAULT_DATA_DIR, help="the service's data dir")
        p.add_argument("--url", default=None, help="REST URL of the service (default: from the data dir)")
        return p

    serve = add("serve", cmd_serve, "run the service until Ctrl-C (prints URIs and CA)", tb_sub)
    serve.add_argument("--data-dir", default=DEFAULT_DATA_DIR, help="where the service keeps its state")
    create = common(add("create-device", cmd_device_create, "create a device (POST /api/device)", tb_sub))
    create.add_argument("name", help="device name")
    create.add_argument("--token", default=None, help="its access token (default: generated)")
    get = common(add("credentials", cmd_credentials_get, "show a device's credentials", tb_sub))
    get.add_argument("name", help="device name")
    get.add_argument("--show-secret", action="store_true", help="print the token/password unmasked")
    put = common(add("set-credentials", cmd_credentials_set, "set a device's credentials", tb_sub))
    put.add_argument("name", help="device name")
    put.add_argument("--token", help="ACCESS_TOKEN")
    put.add_argument("--client-id", help="MQTT_BASIC client ID")
    put.add_argument("--username", help="MQTT_BASIC user name")
    put.add_argument("--password", help="MQTT_BASIC password")
    put.add_argument("--cert", metavar="PEM", help="X509_CERTIFICATE: the device certificate file")
    prof = common(add("create-profile", cmd_profile_create, "create a provisioning device profile", tb_sub))
    prof.add_argument("name", help="profile name")
    prof.add_argument("--strategy", choices=sorted(STRATEGIES), required=True)
    prof.add_argument("--key", help="provisionDeviceKey")
    prof.add_argument("--secret", help="provisionDeviceSecret")
    prof.add_argument("--ca", metavar="PEM", help="x509-chain: the trusted CA certificate file")
    prof.add_argument("--no-create", action="store_true", help="x509-chain: do not create new devices")
    prov = add("provision", cmd_provision, "give a board its server and credentials over serial", tb_sub)
    prov.add_argument("board", help="board id (flashed with the tb-device image)")
    prov.add_argument("--data-dir", default=DEFAULT_DATA_DIR, help="the running `hil tb serve` data dir")
    prov.add_argument("--tls", action="store_true", help="connect over TLS (implied by --cert)")
    prov.add_argument("--token", help="access token")
    prov.add_argument("--client-id", help="basic MQTT client ID")
    prov.add_argument("--username", help="basic MQTT user name")
    prov.add_argument("--password", help="basic MQTT password")
    prov.add_argument("--cert", metavar="PEM", help="X.509 device certificate")
    prov.add_argument("--key", metavar="PEM", help="X.509 device private key (EC)")
    prov.add_argument("--provision-key", help="provisionDeviceKey (device provisioning request)")
    prov.add_argument("--provision-secret", help="provisionDeviceSecret")
    prov.add_argument("--device-name", help="device name for the provisioning request")
    prov.add_argument("--timeout", type=float, default=30.0, help="serial answer timeout (s)")
    prov.add_argument("--follow", type=float, default=30.0, help="then follow the console (s)")
    events = common(add("events", cmd_events, "the service's events (refusals with their reason)", tb_sub))
    events.add_argument("--device", default=None, help="only this device name")
