"""Whether the engine limits root disks, and what a boot then does."""

import logging

import docker.errors
from nova import objects
import pytest

from novadocker import disk_quota

objects.register_all()

XFS_REFUSAL = ("--storage-opt is supported only for overlay over xfs with "
               "'pquota' mount option")
ENFORCED = disk_quota.Quota(True, 'overlay2 on xfs', 'limited')
NOT_ENFORCED = disk_quota.Quota(False, 'overlay2 on extfs', 'no size')


def make_flavor(root_gb):
    return objects.Flavor(name='small', root_gb=root_gb)


def test_an_engine_that_takes_the_size_enforces():
    quota = disk_quota.verdict('overlay2', 'xfs', None)
    assert quota.enforced
    assert 'overlay2 on xfs' in quota.why


def test_xfs_without_project_quotas_says_to_mount_with_pquota():
    quota = disk_quota.verdict('overlay2', 'xfs', XFS_REFUSAL)
    assert not quota.enforced
    assert 'mount it with -o pquota' in quota.why
    assert XFS_REFUSAL in quota.why


def test_overlay2_on_another_file_system_needs_xfs():
    quota = disk_quota.verdict('overlay2', 'extfs', XFS_REFUSAL)
    assert not quota.enforced
    assert 'overlay2 on extfs' in quota.why
    assert 'only on XFS mounted with project quotas' in quota.why


def test_another_storage_driver_that_refuses():
    quota = disk_quota.verdict('vfs', None, 'unknown option size')
    assert not quota.enforced
    assert 'vfs on an unknown file system' in quota.why


def test_the_engine_decides_not_its_file_system_name():
    # btrfs takes a size (qgroups) though it is not XFS.
    assert disk_quota.verdict('btrfs', 'btrfs', None).enforced


@pytest.mark.parametrize('root_gb,quota,mode', [
    (1, ENFORCED, disk_quota.ENFORCE),
    (0, NOT_ENFORCED, disk_quota.ENFORCE),
    (1, NOT_ENFORCED, disk_quota.WARN),
    (0, NOT_ENFORCED, disk_quota.WARN)])
def test_boots_that_go_on(root_gb, quota, mode):
    assert disk_quota.refusal(make_flavor(root_gb), quota, mode) is None


def test_enforce_refuses_a_root_gb_the_engine_cannot_limit():
    why = disk_quota.refusal(make_flavor(1), NOT_ENFORCED,
                             disk_quota.ENFORCE)
    assert 'root_gb=1 refused' in why
    assert why.endswith('flavor small')
    assert 'root_disk_quota = enforce' in why
    assert 'overlay2 on extfs' in why


def test_the_refusal_fits_a_fault():
    # Nova keeps 255 characters of a fault's message, after its own
    # "Build of instance <uuid> aborted: ": what matters comes first.
    flavor = objects.Flavor(name='x' * 255, root_gb=2 ** 31 - 1)
    quota = disk_quota.verdict('fuse-overlayfs', 'extfs', 'no ' * 100)
    why = disk_quota.refusal(flavor, quota, disk_quota.ENFORCE)
    assert why.index('; flavor') + 70 <= 255


class FakeAPI:
    """The engine calls of the probe; ``refusal`` fails its create."""

    def __init__(self, refusal=None):
        self.refusal = refusal
        self.images = set()
        self.containers = set()
        self.host_configs = []

    def import_image_from_data(self, data, repository, tag):
        if self.refusal == 'no import':
            raise docker.errors.APIError('500 Server Error',
                                         explanation='no space left')
        self.images.add('%s:%s' % (repository, tag))

    def create_host_config(self, **kw):
        self.host_configs.append(kw)
        return kw

    def create_container(self, image, **kw):
        assert image in self.images
        if self.refusal:
            raise docker.errors.APIError(
                '500 Server Error', explanation=self.refusal)
        self.containers.add('c1')
        return {'Id': 'c1'}

    def remove_container(self, container, force):
        self.containers.remove(container)

    def remove_image(self, image, force):
        if image not in self.images:
            raise docker.errors.ImageNotFound('no such image')
        self.images.remove(image)


class FakeClient:
    def __init__(self, driver, backing, refusal=None):
        self.api = FakeAPI(refusal)
        self._info = {'Driver': driver,
                      'DriverStatus': [['Backing Filesystem', backing]]}

    def info(self):
        return self._info


@pytest.mark.parametrize('refusal', [None, XFS_REFUSAL])
def test_the_probe_leaves_nothing_in_the_engine(refusal):
    client = FakeClient('overlay2', 'xfs', refusal)
    quota = disk_quota.probe(client)
    assert quota.enforced is (refusal is None)
    assert client.api.host_configs[0]['storage_opt'] == {
        'size': disk_quota.PROBE_SIZE}
    assert client.api.images == set() and client.api.containers == set()


def test_a_probe_that_cannot_import_its_image_finds_no_quota():
    quota = disk_quota.probe(FakeClient('overlay2', 'xfs', 'no import'))
    assert not quota.enforced
    assert 'no space left' in quota.why


def test_the_probe_reports_the_engines_refusal():
    quota = disk_quota.probe(FakeClient('overlay2', 'extfs', XFS_REFUSAL))
    assert not quota.enforced
    assert quota.storage == 'overlay2 on extfs'
    assert XFS_REFUSAL in quota.why


@pytest.mark.parametrize('quota,mode,level,text', [
    (ENFORCED, disk_quota.ENFORCE, logging.INFO, 'Root disks are limited'),
    (NOT_ENFORCED, disk_quota.ENFORCE, logging.ERROR,
     'boots of flavors with root_gb > 0 fail'),
    (NOT_ENFORCED, disk_quota.WARN, logging.WARNING,
     'may fill the engine\'s data root')])
def test_nova_compute_says_at_start(caplog, quota, mode, level, text):
    caplog.set_level(logging.INFO, logger='novadocker.disk_quota')
    disk_quota.check_host(quota, mode)
    assert [(r.levelno, text in r.getMessage()) for r in caplog.records] \
        == [(level, True)]
