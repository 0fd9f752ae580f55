"""The console log: a container's output, kept bounded on disk.

The engine keeps what a guest prints in the json-file log driver's files,
rotated at ``[docker] log_max_size`` with ``log_max_files`` kept, whatever
the engine's default log driver: a guest that prints without end fills no
disk, and the console log API reads the end of what is kept.
"""

import docker.types

LOG_DRIVER = 'json-file'
# Lines asked of the engine per byte of the limit: console lines are
# rarely shorter than 40 bytes, and at least this many are asked for.
BYTES_PER_LINE = 40
MIN_LINES = 100


def container_settings(max_size, max_files):
    """Engine settings at create for a log rotated at a size."""
    return {'log_config': docker.types.LogConfig(
        type=LOG_DRIVER,
        config={'max-size': max_size, 'max-file': str(max_files)})}


def tail(container, limit):
    """The last ``limit`` bytes (at most) of a container's output."""
    output = container.logs(stdout=True, stderr=True,
                            tail=max(limit // BYTES_PER_LINE, MIN_LINES))
    return output[-limit:]
