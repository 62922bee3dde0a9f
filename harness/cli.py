"""`hil`: the command line of the harness (run, boards, flash, provision, console, cloud, report)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from harness.errors import HilError

Handler = Callable[[argparse.Namespace], int]


def _lab(args: argparse.Namespace):
    from harness.config import load_lab_config

    return load_lab_config(args.lab_config)


DEFAULT_DATA_DIR = ".hil/cloud"


def _data_dir(args: argparse.Namespace) -> Path:
    """The service's data dir: --data-dir, else service.data_dir of the lab config, else .hil/cloud."""
    if args.data_dir:
        return Path(args.data_dir)
    configured = _lab(args).service.data_dir
    return Path(configured) if configured else Path(DEFAULT_DATA_DIR)


def cmd_config_check(args: argparse.Namespace) -> int:
    """Validate a lab config file and its firmware names."""
    from harness.boards.manifest import load_manifest
    from harness.config import check_firmware, load_lab_config

    config = load_lab_config(args.file or args.lab_config)
    check_firmware(config, load_manifest(config.manifest_path()))
    print(f"{config.source}: OK ({len(config.boards)} boards, {config.service.kind} service, "
          f"transports {', '.join(config.service.transports)})")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    """Run the onboarding suite on the lab and print the summary."""
    from harness.runner import run_suite

    extra = list(args.pytest_args)
    if args.fail_on_purpose:
        extra = ["--hil-fail-on-purpose", *(extra[1:] if extra[:1] == ["--"] else extra)]
    return run_suite(lab_config=args.lab_config, workers=args.workers, extra=extra,
                     junit=args.junitxml)


def cmd_boards(args: argparse.Namespace) -> int:
    """Show the lab's boards, the probes pyOCD sees and the serial ports."""
    from harness.boards.cli import boards_table

    return boards_table(_lab(args))


def cmd_flash(args: argparse.Namespace) -> int:
    """Flash an image onto a board with pyOCD."""
    from harness.boards.cli import flash_board

    return flash_board(_lab(args), args.board, Path(args.image), chip_erase=args.erase,
                       dev_credentials=Path(args.dev_credentials) if args.dev_credentials else None)


def cmd_provision(args: argparse.Namespace) -> int:
    """Provision a board's credentials over its serial port (factory protocol)."""
    from harness.boards.cli import provision_board

    return provision_board(_lab(args), args.board, mode=args.mode, data_dir=_data_dir(args),
                           account=args.account, follow=args.follow, timeout=args.timeout)


def cmd_console(args: argparse.Namespace) -> int:
    """Print a board's console until Ctrl-C, forwarding typed input."""
    from harness.boards.cli import console_session

    return console_session(_lab(args), args.board)


def cmd_cloud_serve(args: argparse.Namespace) -> int:
    """Run the local Device Management service until Ctrl-C."""
    from harness.cloud.serve import run_service_forever
    from harness.services.standard_clients import with_standard_options

    lab = _lab(args)
    config = with_standard_options(lab.service, args.standard_account, args.psk)
    run_service_forever(config, _data_dir(args))
    return 0


def cmd_cloud_device_cert(args: argparse.Namespace) -> int:
    """Issue an X.509 device certificate for a standard (DTLS) client of the standard account."""
    from harness.services.standard_clients import write_device_certificate

    for path in write_device_certificate(_data_dir(args), args.endpoint, Path(args.out_dir),
                                         args.account):
        print(f"wrote {path}")
    return 0


def cmd_cloud_devices(args: argparse.Namespace) -> int:
    """List the device directory of the running service."""
    from harness.services.bench import list_devices

    list_devices(_data_dir(args), account=args.account, state=args.state)
    return 0


def cmd_cloud_dev_cert(args: argparse.Namespace) -> int:
    """Issue a developer certificate and write mbed_cloud_dev_credentials.c."""
    from harness.services.bench import write_developer_certificate

    path = write_developer_certificate(_data_dir(args), Path(args.out), account_name=args.account)
    print(f"wrote {path} (contains a private key: keep it out of version control)")
    return 0


def _bench(action: str) -> Handler:
    """The handler of `hil cloud account|api-key|app ACTION` (harness.services.bench)."""
    def handler(args: argparse.Namespace) -> int:
        from harness.services import bench

        data_dir = _data_dir(args)
        calls = {
            "account create": lambda: bench.account_create(
                data_dir, args.name, device_quota=args.quota, commercial=args.commercial),
            "account list": lambda: bench.account_list(data_dir),
            "api-key create": lambda: bench.api_key_create(data_dir, args.account, args.name),
            "api-key list": lambda: bench.api_key_list(data_dir, args.account),
            "app create": lambda: bench.app_create(data_dir, args.account, args.name,
                                                   args.description),
            "app add-key": lambda: bench.app_add_key(data_dir, args.account, args.app,
                                                     Path(args.cert), args.name),
            "app list": lambda: bench.app_list(data_dir, args.account),
        }
        calls[action]()
        return 0
    return handler


def _add_bench_commands(add: Callable[..., argparse.ArgumentParser], cloud_sub: Any) -> None:
    """hil cloud account|api-key|app: accounts, API keys and applications of a running service."""
    data_dir = {"default": None, "help": "data dir of the running `hil cloud serve` (default: "
                "service.data_dir of the lab config, else .hil/cloud)"}
    account = add("account", lambda a: 0, "accounts of the running service", cloud_sub)
    sub = account.add_subparsers(dest="action", required=True, metavar="ACTION")
    create = add("create", _bench("account create"), "create an account (prints its id)", sub)
    create.add_argument("name", help="account name")
    create.add_argument("--quota", type=int, default=1000, help="device quota (default 1000)")
    create.add_argument("--commercial", action="store_true", help="allow direct LwM2M")
    create.add_argument("--data-dir", **data_dir)
    add("list", _bench("account list"), "list the accounts", sub).add_argument("--data-dir",
                                                                               **data_dir)

    key = add("api-key", lambda a: 0, "API keys of an account (shown once)", cloud_sub)
    sub = key.add_subparsers(dest="action", required=True, metavar="ACTION")
    create = add("create", _bench("api-key create"), "make an API key and print it once", sub)
    create.add_argument("--name", default="bench", help="a name for the key (default bench)")
    listing = add("list", _bench("api-key list"), "list an account's API keys (never the keys)",
                  sub)
    for parser in (create, listing):
        parser.add_argument("--account", required=True, help="account name or id")
        parser.add_argument("--data-dir", **data_dir)

    app = add("app", lambda a: 0, "applications of an account (JWT verification keys)", cloud_sub)
    sub = app.add_subparsers(dest="action", required=True, metavar="ACTION")
    create = add("create", _bench("app create"), "create an application (prints its id)", sub)
    create.add_argument("name", help="application name")
    create.add_argument("--description", default="", help="a description")
    add_key = add("add-key", _bench("app add-key"), "add a verification key (X.509 PEM) to an "
                  "application", sub)
    add_key.add_argument("--app", required=True, help="application id")
    add_key.add_argument("--cert", required=True, metavar="FILE",
                         help="the certificate (PEM) whose public key verifies the app's JWTs")
    add_key.add_argument("--name", default="bench-key", help="key name (default bench-key)")
    listing = add("list", _bench("app list"), "list applications and their keys", sub)
    for parser in (create, add_key, listing):
        parser.add_argument("--account", required=True, help="account name or id")
        parser.add_argument("--data-dir", **data_dir)


def cmd_report_merge(args: argparse.Namespace) -> int:
    """Merge JUnit files of several runs into one."""
    from harness.report import report_merge

    return report_merge([Path(p) for p in args.inputs], Path(args.output))


def cmd_report_summary(args: argparse.Namespace) -> int:
    """Print per-board and per-scenario tables of a JUnit file."""
    from harness.report import report_summary

    return report_summary(Path(args.file), markdown=args.markdown)


def cmd_report_html(args: argparse.Namespace) -> int:
    """Write one self-contained HTML report of JUnit files (one file per run)."""
    from harness.report.html import write_html_report

    out = write_html_report([Path(p) for p in args.inputs], Path(args.output))
    print(f"wrote {out}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of `hil` with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="hil",
        description="dm-hil: flash, provision and onboard boards to a Device Management service.",
    )
    lab_help = "lab config file (default: $HIL_LAB_CONFIG or ./lab_config.yaml)"
    parser.add_argument("--lab-config", metavar="FILE", help=lab_help)
    # accepted after the subcommand too: `hil cloud serve --lab-config F`
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--lab-config", metavar="FILE", default=argparse.SUPPRESS, help=lab_help)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, handler: Handler, helptext: str, parent=sub) -> argparse.ArgumentParser:
        p = parent.add_parser(name, help=helptext, description=helptext, parents=[common])
        p.set_defaults(handler=handler)
        return p

    run = add("run", cmd_run, "run the onboarding suite on the lab, write reports/junit.xml and "
              "reports/report.html")
    run.add_argument("-n", "--workers", default=None,
                     help="pytest-xdist workers: a number, auto, or 0 (default: one per lab board)")
    run.add_argument("--junitxml", default=None, help="JUnit file (default: <reports_dir>/junit.xml; "
                     "report.html is written next to it)")
    run.add_argument("--fail-on-purpose", action="store_true",
                     help="also run the scenario that fails deliberately, to see a failure report")
    run.add_argument("pytest_args", nargs=argparse.REMAINDER, help="extra pytest arguments after --")

    add("boards", cmd_boards, "show lab boards, pyOCD probes and serial ports, and what is missing")

    flash = add("flash", cmd_flash, "flash an image onto a board with pyOCD")
    flash.add_argument("board", help="board id from the lab config")
    flash.add_argument("image", help="firmware image file (.bin/.hex/.elf) or a manifest image name")
    flash.add_argument("--erase", action="store_true",
                       help="chip erase first, stored credentials included (a factory-new board)")
    flash.add_argument("--dev-credentials", metavar="FILE.c", default=None,
                       help="mbed_cloud_dev_credentials.c to build a virtual developer image with")

    prov = add("provision", cmd_provision, "provision credentials over the board's serial port")
    prov.add_argument("board", help="board id from the lab config")
    prov.add_argument("--mode", choices=["bootstrap", "lwm2m", "first-to-claim"], default="bootstrap",
                      help="credential set to inject (default: bootstrap)")
    prov.add_argument("--data-dir", default=None,
                      help="data dir of the running `hil cloud serve` whose URIs and CA to use "
                           "(default: service.data_dir of the lab config, else .hil/cloud)")
    prov.add_argument("--account", default="developer", help="account name (made if missing)")
    prov.add_argument("--timeout", type=float, default=30.0, metavar="SECONDS",
                      help="how long to wait for the board's answer (default 30)")
    prov.add_argument("--follow", type=float, default=30.0, metavar="SECONDS",
                      help="then show the console until the board registers (0: don't wait)")

    con = add("console", cmd_console, "show a board's serial console until Ctrl-C")
    con.add_argument("board", help="board id from the lab config")

    cloud = add("cloud", lambda a: 0, "the local Device Management service")
    cloud_sub = cloud.add_subparsers(dest="cloud_command", required=True, metavar="COMMAND")
    serve = add("serve", cmd_cloud_serve, "run the service until Ctrl-C (prints URIs and CA)", cloud_sub)
    serve.add_argument("--data-dir", default=None, help="where the service keeps its state "
                       "(default: service.data_dir of the lab config, else .hil/cloud)")
    serve.add_argument("--standard-account", default=None, metavar="NAME",
                       help="account (made if missing) that NoSec and PSK devices join")
    serve.add_argument("--psk", action="append", default=[], metavar="IDENTITY:KEY",
                       help="let a DTLS PSK device in (KEY as text, or 0x + hex); repeatable")
    dcert = add("device-cert", cmd_cloud_device_cert,
                "issue an X.509 certificate for a standard DTLS client", cloud_sub)
    dcert.add_argument("endpoint", help="the client's endpoint name (the certificate's CN)")
    dcert.add_argument("--out-dir", default=".", help="where ENDPOINT.crt/.key and server-ca.pem go")
    dcert.add_argument("--data-dir", default=None, help="the service's data dir (default: "
                       "service.data_dir of the lab config, else .hil/cloud)")
    dcert.add_argument("--account", default="standard", help="account name (made if missing)")
    devices = add("devices", cmd_cloud_devices, "list the device directory", cloud_sub)
    devices.add_argument("--data-dir", default=None, help="the service's data dir (default: "
                         "service.data_dir of the lab config, else .hil/cloud)")
    devices.add_argument("--account", default=None, help="only this account (name or id)")
    devices.add_argument("--state", default=None, help="only devices in this state",
                         choices=["unenrolled", "cloud_enrolling", "bootstrapped", "registered",
                                  "deregistered"])
    dev = add("dev-cert", cmd_cloud_dev_cert, "issue a developer certificate as a C file", cloud_sub)
    dev.add_argument("--out", default="mbed_cloud_dev_credentials.c", help="output C file")
    dev.add_argument("--data-dir", default=None, help="the service's data dir (default: "
                     "service.data_dir of the lab config, else .hil/cloud)")
    dev.add_argument("--account", default="developer", help="account name (made if missing)")
    _add_bench_commands(add, cloud_sub)

    report = add("report", lambda a: 0, "merge, summarize and render JUnit reports")
    report_sub = report.add_subparsers(dest="report_command", required=True, metavar="COMMAND")
    merge = add("merge", cmd_report_merge, "merge JUnit files into one", report_sub)
    merge.add_argument("inputs", nargs="+", help="JUnit XML files")
    merge.add_argument("-o", "--output", required=True, help="merged JUnit XML file")
    summary = add("summary", cmd_report_summary, "tables per board and per scenario", report_sub)
    summary.add_argument("file", help="JUnit XML file")
    summary.add_argument("--markdown", action="store_true", help="print Markdown instead of tables")
    html = add("html", cmd_report_html, "one self-contained HTML report (timelines, trends, flaky "
               "scenarios) of one or more runs", report_sub)
    html.add_argument("inputs", nargs="+", metavar="RUN.xml",
                      help="JUnit XML files, one per run (e.g. one per night), oldest first")
    html.add_argument("-o", "--output", default="report.html", help="HTML file (default: report.html)")

    config = add("config", lambda a: 0, "lab config tools")
    config_sub = config.add_subparsers(dest="config_command", required=True, metavar="COMMAND")
    check = add("check", cmd_config_check, "validate a lab config file", config_sub)
    check.add_argument("file", nargs="?", help="lab config file (default: the active one)")

    from harness.services.thingsboard.cli import add_tb_commands

    add_tb_commands(add, sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `hil`; user errors print one sentence and exit 2."""
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except HilError as exc:
        print(f"hil: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `hil ... | head`: the reader left; not an error of ours
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


if __name__ == "__main__":
    sys.exit(main())
