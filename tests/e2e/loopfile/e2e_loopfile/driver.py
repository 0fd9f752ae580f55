"""A Cinder volume driver for the e2e gate: sparse files on loop devices.

The gate's kernel has loop devices but no device-mapper (so no LVM), iSCSI
initiator or NFS client, and cinder-volume runs on the same host as
nova-compute: a volume's connection is os-brick's ``local`` type, the path
of its file's loop device. The loop device is attached when a connection
is made and detached when it ends (and at delete). Snapshots and clones are
sparse copies of the file. No multi-attach, no attached extend.
"""

import os

from oslo_config import cfg
from oslo_log import log as logging

from cinder import exception
from cinder.volume import configuration
from cinder.volume import driver

from e2e_loopfile import files

LOG = logging.getLogger(__name__)
CONF = cfg.CONF

loopfile_opts = [
    cfg.StrOpt('loopfile_volumes_dir',
               help='Where the volumes\' sparse files are; empty means '
                    '$state_path/loopfile-volumes.'),
]
CONF.register_opts(loopfile_opts, group=configuration.SHARED_CONF_GROUP)


class LoopFileDriver(driver.VolumeDriver):
    VERSION = '1.0.0'

    def __init__(self, *args, **kwargs):
        super(LoopFileDriver, self).__init__(*args, **kwargs)
        self.configuration.append_config_values(loopfile_opts)
        self.backend_name = (
            self.configuration.safe_get('volume_backend_name') or 'loopfile')
        directory = (self.configuration.safe_get('loopfile_volumes_dir') or
                     os.path.join(CONF.state_path, 'loopfile-volumes'))
        self.files = files.LoopFiles(directory, self._execute)

    @staticmethod
    def get_driver_options():
        return loopfile_opts

    def do_setup(self, context):
        os.makedirs(self.files.directory, mode=0o700, exist_ok=True)

    def check_for_setup_error(self):
        if not os.access(self.files.directory, os.W_OK | os.X_OK):
            raise exception.VolumeBackendAPIException(
                data='%s is not writable by the volume service'
                     % self.files.directory)

    def local_path(self, volume):
        return self.files.path(volume.name)

    def create_volume(self, volume):
        self.files.create(volume.name, volume.size)

    def delete_volume(self, volume):
        self.files.delete(volume.name)

    def create_snapshot(self, snapshot):
        self.files.copy(snapshot.volume_name, snapshot.name,
                        snapshot.volume_size)

    def delete_snapshot(self, snapshot):
        self.files.delete(snapshot.name)

    def create_volume_from_snapshot(self, volume, snapshot):
        self.files.copy(snapshot.name, volume.name, volume.size)

    def create_cloned_volume(self, volume, src_vref):
        self.files.copy(src_vref.name, volume.name, volume.size)

    def extend_volume(self, volume, new_size):
        self.files.extend(volume.name, new_size)

    def ensure_export(self, context, volume):
        pass

    def create_export(self, context, volume, connector):
        pass

    def remove_export(self, context, volume):
        pass

    def initialize_connection(self, volume, connector, **kwargs):
        device = self.files.attach(volume.name)
        LOG.info('Volume %s is at %s', volume.name, device)
        return {'driver_volume_type': 'local',
                'data': {'device_path': device}}

    def terminate_connection(self, volume, connector, **kwargs):
        self.files.detach(volume.name)

    def _update_volume_stats(self):
        fs = os.statvfs(self.files.directory)
        self._stats = {
            'volume_backend_name': self.backend_name,
            'vendor_name': 'nova-docker e2e gate',
            'driver_version': self.VERSION,
            'storage_protocol': 'local',
            'shared_targets': False,
            'pools': [{
                'pool_name': self.backend_name,
                'total_capacity_gb': fs.f_blocks * fs.f_frsize // files.GIB,
                'free_capacity_gb': fs.f_bavail * fs.f_frsize // files.GIB,
                'provisioned_capacity_gb':
                    round(self.files.provisioned_gb(), 2),
                'reserved_percentage':
                    self.configuration.reserved_percentage,
                'max_over_subscription_ratio':
                    self.configuration.max_over_subscription_ratio,
                'thin_provisioning_support': True,
                'thick_provisioning_support': False,
                'multiattach': False,
                'QoS_support': False,
                'backend_state': 'up',
            }],
        }
