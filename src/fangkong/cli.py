"""The `fangkong` command: one entry for everything a user or operator runs."""

import os
import sys


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["fangkong", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    main()
