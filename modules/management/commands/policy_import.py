"""`manage.py policy_import FILE`: put the rules of an Athens filter file in force.

Goes through modules.policy.changes like the admin and the API, so each change is recorded
with the name given by --user; a file with a bad line changes nothing.
"""

import getpass
import sys

from django.core.management.base import BaseCommand, CommandError

from modules.policy import changes as rule_changes
from modules.policy.filterfile import FilterFileError, parse_filter_file


class Command(BaseCommand):
    help = (
        "Import allow/deny rules from an Athens filter file ('-' reads standard input). A rule with the "
        "same pattern and versions as an existing one updates it; --replace also deletes every rule the "
        "file does not list. All or nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="the filter file, or - for standard input")
        parser.add_argument(
            "--replace", action="store_true", help="delete the existing rules that the file does not list"
        )
        parser.add_argument(
            "--user", default=None,
            help="the name recorded in the rules' history (default: the operating system user)",
        )

    def handle(self, *args, file, replace, user, **options):
        text = _read(file)
        try:
            rules = parse_filter_file(text)
            summary = rule_changes.import_rules(rules, user or getpass.getuser(), replace=replace)
        except FilterFileError as exc:
            lines = "\n".join(f"  {file}:{line}: {message}" for line, message in exc.errors)
            raise CommandError(f"{file}: {len(exc.errors)} bad line(s), nothing imported:\n{lines}") from None
        self.stdout.write(f"{file}: {summary}")


def _read(file: str) -> str:
    if file == "-":
        return sys.stdin.read()
    try:
        with open(file, encoding="utf-8") as handle:
            return handle.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise CommandError(f"cannot read {file}: {exc}") from None
