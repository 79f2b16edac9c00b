"""The ``onevice`` command: the dev stack, tokens, and the schema."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from typing import NoReturn

from onevice.base.errors import OneViceError
from onevice.base.settings import ENVIRONMENT, Settings, SettingsError
from onevice.services.access import ROLES


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="onevice",
        description="OneVice: AI business intelligence for production companies.",
        epilog="Settings come from the environment; `onevice settings` lists them.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    commands.add_parser(
        "dev",
        help="run the whole stack locally (embedded PostgreSQL and Redis by default)",
        description="Start embedded servers (unless DATABASE_URL/REDIS_URL are set), "
        "the web tier on PORT (8080), a worker and Flower; Ctrl-C stops them all.",
    )

    token = commands.add_parser(
        "token",
        help="print an access token the local stack accepts",
        description="Mint an RS256 access token signed by the local issuer key "
        "(kept under ONEVICE_DATA_DIR).",
    )
    token.add_argument("--role", required=True, choices=ROLES, help="the user's role")
    token.add_argument("--sub", help="the user id (default: a new random id)")
    token.add_argument(
        "--org", default="org_onevice_dev", help="the organisation id (org_onevice_dev)"
    )
    token.add_argument(
        "--ttl", type=int, default=3600, help="lifetime in seconds (default 3600)"
    )

    keys = commands.add_parser(
        "keys",
        help="list, rotate or prune the local issuer's signing keys",
        description="Rotation adds a signing key; tokens signed by older keys stay "
        "valid until they expire. Pruning drops keys no live token can use.",
    )
    keys.add_argument("action", choices=("list", "rotate", "prune"))

    commands.add_parser(
        "migrate",
        help="apply pending schema migrations to DATABASE_URL",
        description="Apply the PostgreSQL migrations not yet applied; safe to repeat.",
    )
    seed = commands.add_parser(
        "seed",
        help="load the film data and the company's synthetic projects",
        description="Import the CC0 film data of bokeh-sampledata into the graph "
        "(REDIS_URL's FalkorDB) and generate the company's synthetic projects in "
        "DATABASE_URL. Safe to repeat: nothing is duplicated.",
    )
    seed.add_argument("--reset", action="store_true", help="empty the graph first")
    seed.add_argument(
        "--if-empty", action="store_true", help="do nothing if the graph holds data"
    )
    autoscale = commands.add_parser(
        "autoscale",
        help="size the worker service on Render by queue depth",
        description="Start the worker tier's autoscaler (python -m workers.autoscale; "
        "its --help tells the policy and the settings). It measures the agents "
        "queue and sets the Render worker service's instance count, one step at "
        "a time, between ONEVICE_AUTOSCALE_MIN_INSTANCES and "
        "ONEVICE_AUTOSCALE_MAX_INSTANCES.",
    )
    autoscale.add_argument(
        "--dry-run",
        action="store_true",
        help="decide and log, never change the instance count",
    )
    autoscale.add_argument(
        "--once", action="store_true", help="measure and decide once, then exit"
    )
    commands.add_parser("settings", help="list the environment variables OneVice reads")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = Settings.from_env()
        return _run(args, settings)
    except (SettingsError, OneViceError) as exc:
        print(f"onevice: {exc}", file=sys.stderr)
        return 2


def _run(args: argparse.Namespace, settings: Settings) -> int:
    if args.command == "token":
        from onevice.identity.tokens import TokenIssuer

        issuer = TokenIssuer.from_settings(settings)
        print(issuer.mint(role=args.role, sub=args.sub, org_id=args.org, ttl=args.ttl))
        return 0
    if args.command == "keys":
        return _keys(args.action, settings)
    if args.command == "autoscale":
        _autoscale(args)
    if args.command == "migrate":
        from onevice.storage.db import migrate

        applied = asyncio.run(migrate(settings.require_database_url()))
        print(f"applied {len(applied)} migration(s): {', '.join(applied) or 'none'}")
        return 0
    if args.command == "seed":
        from onevice.data.seed import seed

        report = asyncio.run(seed(settings, reset=args.reset, if_empty=args.if_empty))
        films = report.films
        if films is None:
            print("films: the graph already holds data; nothing imported (use --reset)")
        else:
            print(
                f"films: {films.films} films, {films.people} people, "
                f"{films.companies} companies, {films.genres} genres"
            )
        if report.projects is None:
            print("projects: none generated (no DATABASE_URL, or they exist)")
        else:
            print(f"projects: {report.projects} synthetic projects generated")
        return 0
    if args.command == "settings":
        width = max(map(len, ENVIRONMENT))
        for name, meaning in ENVIRONMENT.items():
            print(f"{name:<{width}}  {meaning}")
        return 0
    from onevice.devstack import DevStack, DevStackError

    try:
        return DevStack(settings).run()
    except DevStackError as exc:
        print(f"onevice dev: {exc}", file=sys.stderr)
        return 1


def _autoscale(args: argparse.Namespace) -> NoReturn:
    """Become the autoscaler process, which lives in the worker tier.

    The core never imports ``workers``, so the CLI hands over to it as a
    command, as ``onevice dev`` starts the worker tier.
    """
    chosen = (("--dry-run", args.dry_run), ("--once", args.once))
    flags = [flag for flag, on in chosen if on]
    argv = [sys.executable, "-m", "workers.autoscale", *flags]
    os.execv(sys.executable, argv)  # noqa: S606 (our interpreter, no shell)


def _keys(action: str, settings: Settings) -> int:
    import time

    from onevice.identity.keys import KeyringFile

    keyring_file = KeyringFile.for_settings(settings)
    keyring = keyring_file.current()
    now = int(time.time())
    if action == "rotate":
        keyring = keyring.rotated(now)
        keyring_file.save(keyring)
    elif action == "prune":
        keyring = keyring.pruned(now, settings.max_token_ttl_seconds)
        keyring_file.save(keyring)
    for stored in keyring.keys:
        role = "signing" if stored.key is keyring.active else "verifying"
        print(f"{stored.kid}  {role}  created {time.ctime(stored.created_at)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
