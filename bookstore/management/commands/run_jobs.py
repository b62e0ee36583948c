"""The scheduler process (Procfile `clock`).

Every job is a management command of the app that owns the work, run by name, so this project
package imports no app. Each job is safe to run on several machines at once (row locks with
SKIP LOCKED, or idempotent deletes), so two clocks (a deploy's overlap, or a second dyno by
mistake) do no harm. A job that fails is logged with its name and traceback through logging
(so ADMINS mail and the error tracker see it) and the other jobs keep running.
"""

import logging
import signal
import time

from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import close_old_connections

logger = logging.getLogger("bookstore.jobs")

MINUTE = 60
HOUR = 60 * MINUTE

# command -> every how many seconds
JOBS = {
    "expire_orders": MINUTE,
    "send_emails": MINUTE,
    "reconcile_payments": 5 * MINUTE,
    # Retention: small batches, hourly (see README "Keeping the database lean").
    "purge_idempotency_keys": HOUR,
    "purge_sent_emails": HOUR,
    "purge_webhook_triggers": HOUR,
    "purge_carts": HOUR,
}


class Command(BaseCommand):
    help = (
        "The scheduler process (Procfile `clock`): expire_orders and send_emails every minute, "
        "reconcile_payments every five minutes, the retention jobs every hour, until stopped."
    )

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="run every job once and exit")
        parser.add_argument(
            "--every",
            type=float,
            metavar="SECONDS",
            help="run every job this often instead of its own interval (tests, the cluster proof)",
        )

    def handle(self, *args, once=False, every=None, **options):
        self.stopping = False
        signal.signal(signal.SIGTERM, self._stop)
        last_run = dict.fromkeys(JOBS, float("-inf"))
        while not self.stopping:
            for job, interval in JOBS.items():
                if self.stopping:
                    break
                if once or time.monotonic() - last_run[job] >= (every or interval):
                    job_run(job, stdout=self.stdout, stderr=self.stderr)
                    last_run[job] = time.monotonic()
            if once:
                return
            time.sleep(min(1.0, every or 1.0))

    def _stop(self, *args):
        self.stopping = True


def job_run(job, *, stdout=None, stderr=None):
    """Run one job; True if it finished. A failure is logged, never raised."""
    close_old_connections()
    try:
        call_command(job, stdout=stdout, stderr=stderr)
    except Exception:  # one failing job must not stop the others
        logger.exception("Job %s failed", job, extra={"job": job})
        return False
    finally:
        close_old_connections()
    return True
