"""The host's cpu_info, from /proc/cpuinfo and /sys texts."""

import json
import os
import shutil
import tempfile

import pytest

from novadocker import host

# Two sockets of two cores with two threads each, as x86 Linux lists them.
X86_BLOCK = """processor\t: {n}
vendor_id\t: {vendor}
cpu family\t: 6
model\t\t: 85
model name\t: Intel(R) Xeon(R) Gold 6130 CPU @ 2.10GHz
physical id\t: {package}
siblings\t: 4
core id\t\t: {core}
cpu cores\t: 2
flags\t\t: fpu vme sse4_1 sse4_2 avx2 ht
"""


def x86(vendor='GenuineIntel'):
    places = [(p, c) for p in (0, 1) for c in (0, 1)] * 2
    return '\n'.join(X86_BLOCK.format(n=n, vendor=vendor, package=p, core=c)
                     for n, (p, c) in enumerate(places))


# arm64 names neither package nor core, nor a model.
ARM64 = """processor\t: 0
BogoMIPS\t: 50.00
Features\t: fp asimd evtstrm aes crc32 cpuid
CPU implementer\t: 0x41
CPU part\t: 0xd0c

processor\t: 1
BogoMIPS\t: 50.00
Features\t: fp asimd evtstrm aes crc32 cpuid
CPU implementer\t: 0x41
CPU part\t: 0xd0c
"""


def test_x86_cpuinfo_as_libvirt_reports_it():
    blocks = host.parse_cpuinfo(x86())
    info = host.cpu_info(blocks, 'x86_64', host.cpuinfo_places(blocks))
    assert info == {
        'arch': 'x86_64',
        'model': 'Intel(R) Xeon(R) Gold 6130 CPU @ 2.10GHz',
        'vendor': 'Intel',
        'topology': {'sockets': 2, 'cores': 2, 'threads': 2},
        'features': ['avx2', 'fpu', 'ht', 'sse4_1', 'sse4_2', 'vme'],
    }


@pytest.mark.parametrize('vendor_id,vendor', [
    ('AuthenticAMD', 'AMD'), ('HygonGenuine', 'Hygon'),
    # One libvirt has no word for stays as the CPU says it.
    ('CentaurHauls', 'CentaurHauls')])
def test_vendor_in_libvirts_words(vendor_id, vendor):
    assert host.cpu_info(host.parse_cpuinfo(x86(vendor_id)),
                         'x86_64')['vendor'] == vendor


def test_one_thread_per_core():
    text = '\n'.join(
        X86_BLOCK.format(n=n, vendor='GenuineIntel', package=0, core=n)
        for n in range(4))
    blocks = host.parse_cpuinfo(text)
    assert host.topology(host.cpuinfo_places(blocks), 4) == {
        'sockets': 1, 'cores': 4, 'threads': 1}


def test_arm64_features_and_no_places_in_cpuinfo():
    blocks = host.parse_cpuinfo(ARM64)
    assert host.cpuinfo_places(blocks) == []
    info = host.cpu_info(blocks, 'aarch64')
    assert info['features'] == ['aes', 'asimd', 'cpuid', 'crc32',
                                'evtstrm', 'fp']
    assert (info['model'], info['vendor']) == (None, None)
    # Nothing says where the CPUs sit: one socket of single-thread cores.
    assert info['topology'] == {'sockets': 1, 'cores': 2, 'threads': 1}


def test_empty_cpuinfo_gives_a_description_still():
    info = host.cpu_info(host.parse_cpuinfo(''), 'x86_64')
    assert info == {'arch': 'x86_64', 'model': None, 'vendor': None,
                    'topology': {'sockets': 1, 'cores': 1, 'threads': 1},
                    'features': []}


def sys_tree(root, places, offline=()):
    for n, (package, core) in enumerate(places):
        cpu = os.path.join(root, 'cpu%d' % n)
        os.makedirs(cpu)
        if n in offline:
            continue
        os.mkdir(os.path.join(cpu, 'topology'))
        for name, value in (('physical_package_id', package),
                            ('core_id', core)):
            with open(os.path.join(cpu, 'topology', name), 'w') as f:
                f.write('%d\n' % value)
    # Entries that are not CPUs.
    os.makedirs(os.path.join(root, 'cpufreq'))
    os.makedirs(os.path.join(root, 'cpuidle'))


def test_sys_topology_of_online_cpus(tmp_path):
    sys_tree(str(tmp_path), [(0, 0), (0, 1), (0, 0), (0, 1), (9, 9)],
             offline=[4])
    places = host.sys_places(str(tmp_path))
    assert sorted(places) == [('0', '0'), ('0', '0'), ('0', '1'),
                              ('0', '1')]
    assert host.topology(places, 4) == {'sockets': 1, 'cores': 2,
                                        'threads': 2}


def test_read_cpu_info_takes_topology_from_sys_when_cpuinfo_lacks_it(
        tmp_path, monkeypatch):
    cpuinfo = tmp_path / 'cpuinfo'
    cpuinfo.write_text(ARM64)
    sys_tree(str(tmp_path / 'cpu'), [(0, 0), (0, 1)])
    monkeypatch.setattr(host, 'CPUINFO', str(cpuinfo))
    monkeypatch.setattr(host, 'SYS_CPU', str(tmp_path / 'cpu'))
    assert host.read_cpu_info('aarch64')['topology'] == {
        'sockets': 1, 'cores': 2, 'threads': 1}
    # Without /sys: the count of processors, and a warning.
    monkeypatch.setattr(host, 'SYS_CPU', str(tmp_path / 'absent'))
    assert host.read_cpu_info('aarch64')['topology'] == {
        'sockets': 1, 'cores': 2, 'threads': 1}


def test_measure_reports_cpu_info_as_json(tmp_path, monkeypatch):
    cpuinfo = tmp_path / 'cpuinfo'
    cpuinfo.write_text(x86())
    monkeypatch.setattr(host, 'CPUINFO', str(cpuinfo))

    class Client:
        def info(self):
            return {'NCPU': 8, 'MemTotal': 16 * 2**30,
                    'DockerRootDir': str(tmp_path),
                    'Architecture': 'amd64',
                    'ServerVersion': '20.10.24+dfsg1'}

    measured = host.measure(Client())
    assert (measured['arch'], measured['version']) == ('x86_64', 20010024)
    cpu = json.loads(measured['cpu_info'])
    assert (cpu['arch'], cpu['vendor'], cpu['topology']['sockets']) == (
        'x86_64', 'Intel', 2)


def _statvfs_as_nobody(path):
    """host.data_root_statvfs(path) run by an unprivileged user: its
    f_fsid, or the error's name."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        try:
            if os.geteuid() == 0:
                os.setgid(65534)
                os.setgroups([])
                os.setuid(65534)
            result = str(host.data_root_statvfs(path).f_fsid)
        except Exception as e:
            result = type(e).__name__
        os.write(write, result.encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as f:
        result = f.read()
    os.waitpid(pid, 0)
    return result


def test_a_remapped_data_root_nova_compute_cannot_enter_gives_its_fs():
    # As the engine leaves it under userns-remap: <data root>/<uid>.<gid>
    # inside a data root that only root and the remapped root may search.
    top = tempfile.mkdtemp(dir='/tmp')
    try:
        os.chmod(top, 0o755)
        data_root = os.path.join(top, 'docker')
        remapped = os.path.join(data_root, '165536.165536')
        os.makedirs(remapped)
        os.chmod(data_root, 0o700 if os.geteuid() == 0 else 0o000)
        assert _statvfs_as_nobody(remapped) == str(os.statvfs(top).f_fsid)
    finally:
        os.chmod(os.path.join(top, 'docker'), 0o755)
        shutil.rmtree(top)
