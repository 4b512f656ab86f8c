"""The `ovh-vps-exporter` command: `serve` (the default), `check`, `credentials` and more."""

import argparse
import asyncio
import os
import signal
import sys
from collections.abc import Sequence

import structlog
from aiohttp import web

from exporter import __version__, logs
from exporter.commands import check as check_command
from exporter.commands import credentials as credentials_command
from exporter.daemon import serve
from exporter.settings import ConfigError, Settings, load_settings, parse_listen_address

log = structlog.stdlib.get_logger(__name__)

EXIT_CONFIG = 2
COMMANDS = ("serve", "check", "credentials", "simulator", "demo")


def _add_common_flags(parser: argparse.ArgumentParser) -> None:
    """Flags in the style of the official Prometheus exporters; each overrides its env variable."""
    parser.add_argument(
        "--web.listen-address",
        dest="web_listen_address",
        help="address to serve /metrics on, HOST:PORT or :PORT "
        "(env OVH_EXPORTER_WEB_LISTEN_ADDRESS, default :10060)",
    )
    parser.add_argument(
        "--web.config.file",
        dest="web_config_file",
        help="web config file enabling TLS and basic auth, in the Prometheus exporters' "
        "format (env OVH_EXPORTER_WEB_CONFIG_FILE)",
    )
    parser.add_argument(
        "--log.level",
        dest="log_level",
        choices=("debug", "info", "warning", "error"),
        help="log level (env OVH_EXPORTER_LOG_LEVEL, default info)",
    )
    parser.add_argument(
        "--log.format",
        dest="log_format",
        choices=("json", "console"),
        help="log format (env OVH_EXPORTER_LOG_FORMAT, default console)",
    )


def build_parser() -> argparse.ArgumentParser:
    """The command-line parser with its subcommands."""
    parser = argparse.ArgumentParser(
        prog="ovh-vps-exporter",
        description="Prometheus exporter for fleets of OVHcloud VPS. "
        "Settings come from flags and environment variables (see README).",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    serve_parser = commands.add_parser("serve", help="run the exporter (the default command)")
    _add_common_flags(serve_parser)
    serve_parser.add_argument(
        "--config.file",
        dest="config_file",
        help="YAML file listing the OVH accounts to export (env OVH_EXPORTER_CONFIG_FILE; "
        "see exporter/accounts.py)",
    )

    check = commands.add_parser(
        "check",
        help="check that each account reaches OVH, authenticates and can read every route "
        "the exporter needs; exit 0 only when all do",
    )
    check.add_argument(
        "--config.file",
        dest="config_file",
        help="YAML file listing the OVH accounts (env OVH_EXPORTER_CONFIG_FILE)",
    )

    credentials = commands.add_parser(
        "credentials",
        help="create a consumer key limited to the GET access rules the exporter needs",
    )
    credentials.add_argument(
        "--endpoint", help="OVH endpoint alias or URL (env OVH_ENDPOINT, default ovh-eu)"
    )
    credentials.add_argument(
        "--application-key",
        dest="application_key",
        help="the application key to create the consumer key for (env OVH_APPLICATION_KEY)",
    )
    credentials.add_argument(
        "--redirection", help="URL the browser is sent to once the key is validated"
    )

    simulator = commands.add_parser(
        "simulator", help="serve a simulated OVH account, for tests and demos"
    )
    _add_simulator_flags(simulator, default_listen="127.0.0.1:8080")

    demo = commands.add_parser(
        "demo", help="run the exporter against a simulated OVH account started with it"
    )
    _add_common_flags(demo)
    _add_simulator_flags(demo, default_listen="127.0.0.1:0")
    return parser


def _add_simulator_flags(parser: argparse.ArgumentParser, default_listen: str) -> None:
    prefix = "simulator." if parser.prog.endswith("demo") else ""
    parser.add_argument(
        f"--{prefix}listen",
        dest="simulator_listen",
        default=default_listen,
        help=f"HOST:PORT for the simulated OVH API (default {default_listen})",
    )
    parser.add_argument(
        "--fleet-size", type=int, default=25, help="number of simulated VPS (default 25)"
    )
    parser.add_argument(
        "--seed", type=int, default=1, help="seed of the generated fleet (default 1)"
    )
    parser.add_argument(
        "--latency",
        type=float,
        default=0.0,
        help="seconds the simulator waits before each answer (default 0)",
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the exit code."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    if not args_list or args_list[0] not in (*COMMANDS, "-h", "--help", "--version"):
        args_list.insert(0, "serve")
    args = build_parser().parse_args(args_list)

    if args.command == "simulator":
        logs.configure()
        return asyncio.run(_run_simulator(args))
    if args.command == "credentials":
        return asyncio.run(
            credentials_command.run(args.endpoint, args.application_key, args.redirection)
        )
    if args.command == "check":
        return asyncio.run(check_command.run({"config_file": args.config_file}))

    overrides = {
        "web_listen_address": args.web_listen_address,
        "web_config_file": args.web_config_file,
        "log_level": args.log_level,
        "log_format": args.log_format,
        "config_file": getattr(args, "config_file", None),
    }
    if args.command == "demo":
        return asyncio.run(_run_demo(args, overrides))
    try:
        settings = load_settings(overrides)
    except ConfigError as error:
        print(f"ovh-vps-exporter: {error}", file=sys.stderr)
        return EXIT_CONFIG
    logs.configure(settings.log_level, settings.log_format)
    return asyncio.run(serve(settings))


async def _start_simulator(args: argparse.Namespace) -> tuple[web.AppRunner, str]:
    """Start the simulated OVH account; returns its runner and API base URL."""
    from exporter import simulator  # noqa: PLC0415 - only the simulator commands need it.

    listen = parse_listen_address(args.simulator_listen)
    fleet = simulator.generate_fleet(size=args.fleet_size, seed=args.seed)
    config = simulator.SimulatorConfig(latency=args.latency)
    runner = await simulator.serve(fleet, config, listen.host or "127.0.0.1", listen.port)
    port = listen.port
    for address in runner.addresses:
        if isinstance(address, tuple):
            port = int(address[1])
    host = listen.host or "127.0.0.1"
    return runner, f"http://{host}:{port}/1.0"


async def _run_simulator(args: argparse.Namespace) -> int:
    from exporter import simulator  # noqa: PLC0415 - only the simulator commands need it.

    try:
        runner, url = await _start_simulator(args)
    except (OSError, ValueError) as error:
        print(f"ovh-vps-exporter simulator: {error}", file=sys.stderr)
        return 1
    print(
        f"Simulated OVH account with {args.fleet_size} VPS at {url}\n"
        f"  OVH_ENDPOINT={url}\n"
        f"  OVH_APPLICATION_KEY={simulator.DEMO_APPLICATION_KEY}\n"
        f"  OVH_APPLICATION_SECRET={simulator.DEMO_APPLICATION_SECRET}\n"
        f"  OVH_CONSUMER_KEY={simulator.DEMO_CONSUMER_KEY}\n"
        "or, through its simulated manager:\n"
        f"  OVH_EXPORTER_MANAGER={url.removesuffix('/1.0')}\n"
        f"  OVH_EXPORTER_MANAGER_COOKIE='{simulator.DEMO_MANAGER_COOKIE}'\n"
        "These are the simulator's public demo credentials, not secrets.",
        flush=True,
    )
    await _until_stopped()
    await runner.cleanup()
    return 0


async def _until_stopped() -> None:
    """Wait for SIGTERM or SIGINT."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()


async def _run_demo(args: argparse.Namespace, overrides: dict[str, object]) -> int:
    from exporter import simulator  # noqa: PLC0415 - only the simulator commands need it.

    # The demo talks to its own simulator only: the user's own OVH settings stay out of it.
    for name in [name for name in os.environ if name.startswith("OVH_")]:
        del os.environ[name]
    try:
        runner, url = await _start_simulator(args)
    except (OSError, ValueError) as error:
        print(f"ovh-vps-exporter demo: simulator: {error}", file=sys.stderr)
        return 1
    overrides = {
        **overrides,
        "web_listen_address": overrides["web_listen_address"] or "127.0.0.1:10060",
        "OVH_ENDPOINT": url,
        "OVH_APPLICATION_KEY": simulator.DEMO_APPLICATION_KEY,
        "OVH_APPLICATION_SECRET": simulator.DEMO_APPLICATION_SECRET,
        "OVH_CONSUMER_KEY": simulator.DEMO_CONSUMER_KEY,
        # The simulator has no fair-use limit: the whole fleet shows within seconds.
        "requests_per_minute": 60_000.0,
        "requests_burst": 1_000,
    }
    try:
        settings: Settings = load_settings(overrides)
    except ConfigError as error:
        print(f"ovh-vps-exporter demo: {error}", file=sys.stderr)
        await runner.cleanup()
        return EXIT_CONFIG
    logs.configure(settings.log_level, settings.log_format)
    listen = settings.listen
    print(
        f"Simulated OVH API: {url}\n"
        f"Exporter metrics:  http://{listen.host or '127.0.0.1'}:{listen.port}/metrics",
        flush=True,
    )
    try:
        return await serve(settings)
    finally:
        await runner.cleanup()
