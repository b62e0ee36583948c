"""gunicorn settings for the Procfile's web process and the container (all from the environment)."""

import multiprocessing
import os

bind = f"0.0.0.0:{os.environ.get('PORT', '8000')}"
# Heroku sets WEB_CONCURRENCY from the dyno size; elsewhere two per core is a sane start.
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2))
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 20
keepalive = 5
# Recycle workers now and then so a slow leak never takes a dyno down.
max_requests = 2000
max_requests_jitter = 200
# Load the app once in the master: a recycled worker is then a fork that serves at once, not
# ~1 s of CPU importing Django while its requests wait. Django and the Stripe client open their
# connections lazily, so nothing opened before the fork is shared between workers.
preload_app = True
accesslog = "-"
errorlog = "-"
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms request_id=%({x-request-id}o)s'
# The router in front (Heroku's, or the container platform's) is the only client that reaches us.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "*")
