"""The `fangkong` command: one entry for everything a user or operator runs."""

import os
import sys


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["colocate"] and not {"--settings", "--pythonpath", "--traceback"} & set(args):
        # Co-location reads files and writes a file; it needs no database, so no Django start-up.
        from fangkong.tracing.engine import cli

        sys.exit(cli.main(args[1:]))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["fangkong", *args])


if __name__ == "__main__":
    main()
