"""Cinder volumes of instances, as file systems the guests find mounted.

``attachment``: an instance's volumes, from Nova's ``block_device_info``
through os-brick to mounted file systems and back; ``layout``: where those
are mounted on the host and seen in the guest, and whether a volume's
device is mounted, formatted or refused.

Nothing is imported here: the options (``novadocker.conf``) and the
privsep daemon (``novadocker.privsep``) read FILESYSTEMS from it.
"""

# The file systems a volume may hold, and that a blank one may get (each
# needs its mkfs.<name> on the host).
FILESYSTEMS = ('ext4', 'xfs', 'btrfs')
