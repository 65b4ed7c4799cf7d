"""Compute the triage flags of every dialog that needs them now, rather than waiting for the
worker's sweep (after a large import of dialogs, or to backfill a large database at once)."""

from django.core.management.base import BaseCommand

from dialogs.records.triage import dialogs_triage, triage_left


class Command(BaseCommand):
    help = "Compute the triage flags of the dialogs whose flags are due, with progress."

    def handle(self, *args, **options):
        total = triage_left()
        self.stdout.write(f"{total} dialogs to read")

        def progress(done: int, left: int) -> None:
            self.stdout.write(f"{done} flagged, {left} left")

        done = dialogs_triage(progress=progress)
        self.stdout.write(self.style.SUCCESS(f"Done: {done} dialogs flagged."))
