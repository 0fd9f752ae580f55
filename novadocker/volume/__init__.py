"""Cinder volumes of instances, as file systems the guests find mounted.

``attachment``: an instance's volumes, from Nova's ``block_device_info``
through os-brick to mounted file systems and back; ``layout``: where those
are mounted on the host and seen in the guest, and whether a volume's
device is mounted, formatted or refused.
"""
