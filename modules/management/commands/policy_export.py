"""`manage.py policy_export [FILE]`: the allow/deny rules in force as an Athens filter file."""

from django.core.management.base import BaseCommand, CommandError

from modules.policy import changes as rule_changes


class Command(BaseCommand):
    help = (
        "Write the allow/deny rules in force (enabled, unexpired) as an Athens filter file, to FILE or "
        "standard output. policy_import reads it back."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", nargs="?", default=None, help="where to write (default: standard output)")

    def handle(self, *args, file, **options):
        text = rule_changes.export_rules()
        if file is None or file == "-":
            self.stdout.write(text, ending="")
            return
        try:
            with open(file, "w", encoding="utf-8") as handle:
                handle.write(text)
        except OSError as exc:
            raise CommandError(f"cannot write {file}: {exc}") from None
        self.stdout.write(f"wrote {file}")
