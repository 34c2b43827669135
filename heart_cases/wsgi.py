from __future__ import annotations

import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "heart_cases.settings")

application = get_wsgi_application()

# What is loaded by now (Django, the apps, their modules and URL patterns) lives as long as the
# worker: take it out of the cyclic garbage collector's view, so that a full collection, which
# a large response's many objects set off, does not scan all of it again. A page of 200 fully
# nested HSDS services paid ~80 ms for that at its p95 (bench/hsds.py); Python's gc docs
# recommend freeze() once start-up is done.
gc.freeze()
