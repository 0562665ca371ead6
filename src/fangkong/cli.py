"""The `fangkong` command: one entry for everything a user or operator runs."""

import os
import sys


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["colocate"] and not {"--settings", "--pythonpath", "--traceback"} & set(args):
        # Co-location reads files and writes a file; it needs no database, so no Django start-up.
        from fangkong.tracing.engine import cli

        sys.exit(cli.main(args[1:]))
    if args[:1] == ["db-roles"]:
        args = ["db_roles", *args[1:]]
    # `serve` is the production server: it runs the production settings (and so refuses to start
    # without a secret key) unless told otherwise; everything else, the demo included, is dev.
    default = "config.settings.prod" if args[:1] == ["serve"] else "config.settings.dev"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", default)
    from django.core.management import execute_from_command_line

    execute_from_command_line(["fangkong", *args])


if __name__ == "__main__":
    main()
