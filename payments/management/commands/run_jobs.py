import signal
import time

from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import close_old_connections

# command -> every how many seconds. Each is safe to run on several machines at once.
JOBS = {
    "expire_orders": 60,
    "send_emails": 60,
    "reconcile_payments": 300,
}


class Command(BaseCommand):
    help = (
        "The scheduler process (Procfile `clock`): runs expire_orders and send_emails every "
        "minute and reconcile_payments every five minutes, until stopped."
    )

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="run every job once and exit")

    def handle(self, *args, once=False, **options):
        self.stopping = False
        signal.signal(signal.SIGTERM, self._stop)
        last_run = dict.fromkeys(JOBS, 0.0)
        while not self.stopping:
            for job, every in JOBS.items():
                if once or time.monotonic() - last_run[job] >= every:
                    self._run(job)
                    last_run[job] = time.monotonic()
            if once:
                return
            time.sleep(1)

    def _run(self, job):
        close_old_connections()
        try:
            call_command(job, stdout=self.stdout, stderr=self.stderr)
        except Exception as exc:  # one failing job must not stop the others
            self.stderr.write(f"{job} failed: {exc}")
        finally:
            close_old_connections()

    def _stop(self, *args):
        self.stopping = True
