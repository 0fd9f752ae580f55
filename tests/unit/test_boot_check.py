"""The boot check's look at a guest's first process, on real processes."""

import subprocess
import time

import pytest

from novadocker import boot_check

WINDOW = 30


@pytest.fixture
def process():
    started = []

    def start(script):
        child = subprocess.Popen(['sh', '-c', script])
        started.append(child)
        return child

    yield start
    for child in started:
        child.kill()
        child.wait()


def test_a_waiting_process_settles_long_before_the_window_ends(process):
    child = process('sleep %d' % (WINDOW * 2))
    begin = time.time()
    assert boot_check.settles(child.pid, begin + WINDOW) is True
    assert time.time() - begin < WINDOW / 2


def test_a_busy_process_never_settles(process):
    child = process('while :; do :; done')
    assert boot_check.settles(child.pid, time.time() + 0.3) is None
    assert child.poll() is None


def test_a_process_that_ends_is_seen_ending(process):
    # It prints, works a little and ends: never asleep twice in a row.
    child = process('echo fatal; i=0; while [ $i -lt 20000 ]; do '
                    'i=$((i+1)); done; exit 3')
    assert boot_check.settles(child.pid, time.time() + WINDOW) is False
    assert child.wait(WINDOW) == 3


def test_a_process_already_gone():
    child = subprocess.Popen(['true'])
    child.wait()
    assert boot_check.sample(child.pid) is None
    assert boot_check.settles(child.pid, time.time() + WINDOW) is False


def test_only_the_containers_own_process_is_looked_at(process):
    child = process('sleep %d' % WINDOW)
    # A process of this host, not of the container: the engine decides.
    assert not boot_check.ours(child.pid, 'c0ffee' * 10)
    assert not boot_check.ours(None, 'c0ffee' * 10)
