"""Cinder volumes of an instance: the one place that reads block_device_info.

os-brick connects each volume to the host with the connector for its
``driver_volume_type`` (as Nova's libvirt driver does), which gives a block
device; its file system is mounted below the instance's directory (see
``layout``) under the name Nova gave the device, so that the guest finds
``/dev/vdb`` at ``/mnt/volumes/vdb``.
"""

import os
import re
import stat

from nova import exception
from nova import utils
from nova.virt import block_device as driver_block_device
from nova.virt import driver
from os_brick import exception as brick_exception
from os_brick.initiator import connector
from oslo_log import log as logging

from novadocker import conf
from novadocker import mountinfo
from novadocker import userns
from novadocker.volume import layout

CONF = conf.CONF
LOG = logging.getLogger(__name__)

# The root disk's name Nova records; volumes get the names after it.
ROOT_DEVICE_NAME = '/dev/vda'
# A device name as Nova assigns it (vdb, /dev/vdb, sdc, xvdb...).
_DEVICE_NAME = re.compile(r'^(?:/dev/)?([a-z][a-z0-9]{0,31})$')


def guest_name(device_name):
    """The name of a volume in the guest's /mnt/volumes: '/dev/vdb' -> 'vdb'.

    :raises ValueError: for a name that cannot be a directory of its own.
    """
    found = _DEVICE_NAME.match(device_name or '')
    if not found:
        raise ValueError('device name %r is not a name like /dev/vdb'
                         % (device_name,))
    return found.group(1)


def guest_path(device_name):
    return '%s/%s' % (layout.GUEST_PATH, guest_name(device_name))


def volume_id(connection_info):
    return driver_block_device.get_volume_id(connection_info) or '?'


def read_only(connection_info):
    return (connection_info.get('data') or {}).get('access_mode') == 'ro'


def refusal(connection_info, encryption=None):
    """Why this driver cannot attach the volume, or None."""
    data = connection_info.get('data') or {}
    if encryption or data.get('encrypted'):
        return ('encrypted volumes are not supported by the Docker driver '
                '(the host would have to open the encryption for the '
                'container)')
    if connection_info.get('multiattach'):
        return 'multi-attach volumes are not supported by the Docker driver'
    return None


def boot_refusal(block_device_info):
    """Why an instance with these block devices cannot boot, or None."""
    root = driver.block_device_info_get_root_device(block_device_info)
    for bdm in driver.block_device_info_get_mapping(block_device_info):
        if bdm.get('boot_index') == 0 or (
                root and bdm.get('mount_device') == root):
            return ('booting from a volume is not supported: a container\'s '
                    'root file system is its image, and the engine cannot '
                    'use a block device for it. Boot from an image and '
                    'attach the volume (it appears at %s/<device name>)'
                    % layout.GUEST_PATH)
        reason = refusal(bdm['connection_info'] or {})
        if reason:
            return 'volume %s: %s' % (bdm.volume_id, reason)
    return None


def _connected(block_device_info):
    """The volumes of block_device_info that Cinder has connection info
    for (none yet while Nova is still attaching one)."""
    return [bdm for bdm in driver.block_device_info_get_mapping(
        block_device_info) if bdm.get('connection_info')]


class InstanceVolumes:
    """Connect, mount, unmount and disconnect the volumes of instances."""

    def __init__(self):
        self._connectors = {}
        # The host ids of an instance's guest's ids, which its volumes'
        # owners are shown as (an idmapped mount), or None: a function of
        # the instance's uuid (userns.engine_root_ids,
        # sandbox.Sandboxes.root_ids).
        self._root_ids = userns.engine_root_ids(None)

    @property
    def root(self):
        return CONF.docker.volumes_path

    def init_host(self, root_ids=None):
        """At nova-compute start; ``root_ids``: the host ids of an
        instance's root, a function of its uuid (see __init__)."""
        if root_ids is not None:
            self._root_ids = root_ids
        reason = self.unready()
        if reason:
            LOG.error('Volumes cannot be attached: %s', reason)

    def unready(self):
        """Why volumes cannot reach containers now, or None.

        Makes ``volumes_path`` a shared mount if it is not one yet.
        """
        if mountinfo.is_shared(self.root):
            return None
        try:
            layout.prepare_root(self.root)
        except Exception as e:
            return ('%s ([docker] volumes_path) is not a shared mount point '
                    'and could not be made one: %s' % (self.root, e))
        return None

    def connector_properties(self):
        """What Cinder needs to export a volume to this host."""
        return connector.get_connector_properties(
            utils.get_root_helper(), CONF.my_block_storage_ip,
            multipath=False, enforce_multipath=False, host=CONF.host)

    def _connector(self, connection_info):
        protocol = (connection_info.get('driver_volume_type') or '').upper()
        if protocol not in self._connectors:
            try:
                self._connectors[protocol] = (
                    connector.InitiatorConnector.factory(
                        protocol, utils.get_root_helper()))
            except (ValueError, brick_exception.InvalidConnectorProtocol):
                raise exception.VolumeDriverNotFound(
                    driver_type=connection_info.get('driver_volume_type'))
        return self._connectors[protocol]

    def create_settings(self, instance):
        """Engine settings at create: the instance's directory, bound.

        None where volumes cannot reach containers (nova-compute said why
        at start): attaching to such a container is refused.
        """
        if not mountinfo.is_shared(self.root):
            return {}
        return layout.container_settings(self.root, instance.uuid)

    def _target(self, instance, device_name):
        return os.path.join(layout.instance_dir(self.root, instance.uuid),
                            guest_name(device_name))

    # -- one volume ------------------------------------------------------

    def attach(self, connection_info, instance, mountpoint, container=None,
               encryption=None):
        """Connect the volume and mount it where the guest sees it.

        :returns: whether this call mounted it (False: it already was).
        :raises VolumeAttachFailed: with the reason, having left nothing
            connected or mounted.
        """
        vol = volume_id(connection_info)
        reason = refusal(connection_info, encryption) or self.unready()
        if reason is None and container is not None and not layout.has_bind(
                container):
            reason = ('the container was created without %s; rebuild the '
                      'server to attach volumes' % layout.GUEST_PATH)
        try:
            target = self._target(instance, mountpoint)
        except ValueError as e:
            reason = reason or str(e)
        if reason:
            raise exception.VolumeAttachFailed(volume_id=vol, reason=reason)
        device = self._connect(connection_info, vol)
        if mountinfo.mounted(target):
            # Connected again (after a host boot the device may be new),
            # but mounted already: at a start, or a stale mount.
            if mountinfo.holds(target, device):
                LOG.info('Volume %s is already mounted at %s', vol, target,
                         instance=instance)
                return False
            self._disconnect(connection_info, instance)
            raise exception.VolumeAttachFailed(
                volume_id=vol, reason='another file system is mounted at '
                '%s on the host' % target)
        try:
            layout.mount(target, device, read_only(connection_info),
                         CONF.docker.blank_volume_filesystem
                         if CONF.docker.format_blank_volumes else None,
                         self._root_ids(instance.uuid))
        except Exception as e:
            self._disconnect(connection_info, instance)
            raise exception.VolumeAttachFailed(volume_id=vol, reason=e)
        LOG.info('Volume %s (%s) mounted at %s for the guest\'s %s', vol,
                 device, target, guest_path(mountpoint), instance=instance)
        return True

    def _connect(self, connection_info, vol):
        brick = self._connector(connection_info)
        info = brick.connect_volume(connection_info['data'])
        path = info.get('path')
        if not isinstance(path, str) or not stat.S_ISBLK(
                os.stat(path).st_mode):
            brick.disconnect_volume(connection_info['data'], info)
            raise exception.VolumeAttachFailed(
                volume_id=vol,
                reason='its %s connection gives no block device (%r); the '
                       'Docker driver mounts block devices only' % (
                           connection_info.get('driver_volume_type'), path))
        # As Nova's libvirt driver does: Nova saves it with the BDM.
        connection_info['data']['device_path'] = path
        return path

    def detach(self, connection_info, instance, mountpoint):
        """Unmount the volume and disconnect it.

        :raises DeviceDetachFailed: while the guest uses it; it stays
            mounted and connected, and Nova keeps it attached.
        """
        try:
            layout.unmount(self._target(instance, mountpoint))
        except layout.Busy:
            raise exception.DeviceDetachFailed(
                device=guest_path(mountpoint),
                reason='the guest is using it (a process has a file open '
                       'there or works in it); stop using it in the '
                       'guest, then detach again')
        self._disconnect(connection_info, instance)

    def _disconnect(self, connection_info, instance):
        try:
            self._connector(connection_info).disconnect_volume(
                connection_info['data'], None)
        except brick_exception.VolumeDeviceNotFound as e:
            LOG.warning('Ignoring VolumeDeviceNotFound: %s', e,
                        instance=instance)

    # -- every volume of an instance ------------------------------------

    def mount_all(self, instance, block_device_info):
        """Before a start (boot, start, reboot, host boot, a move's end):
        the instance's directory, which its container binds, and every
        volume not mounted yet; undo this call's mounts if one fails."""
        if mountinfo.is_shared(self.root):
            layout.make_instance_dir(self.root, instance.uuid)
        done = []
        try:
            for bdm in _connected(block_device_info):
                if self.attach(bdm['connection_info'], instance,
                               bdm['mount_device']):
                    done.append(bdm)
        except Exception:
            for bdm in done:
                self._quietly(self.detach, bdm['connection_info'], instance,
                              bdm['mount_device'])
            raise

    def undo(self, instance, block_device_info):
        """After a failed boot: clean up without hiding the failure."""
        self._quietly(self.cleanup, instance, block_device_info)

    def cleanup(self, instance, block_device_info):
        """After the container is gone: unmount and disconnect every
        volume, remove the instance's directory."""
        for bdm in _connected(block_device_info):
            self.detach(bdm['connection_info'], instance,
                        bdm['mount_device'])
        layout.remove_instance_dir(self.root, instance.uuid)

    @staticmethod
    def _quietly(call, *args):
        try:
            call(*args)
        except Exception as e:
            LOG.warning('Cleaning up volumes after a failure: %s', e)
