# Nova's functional package monkey-patches with eventlet when imported: that
# must happen before any module here imports requests, urllib3 or
# oslo.privsep's client, or their sockets and threads block the harness.
import nova.tests.functional  # noqa: F401
