"""Options of the Docker virt driver: the ``[docker]`` group of nova.conf."""

from oslo_config import cfg

from novadocker import volume

docker_group = cfg.OptGroup(
    'docker',
    title='Docker virt driver options',
    help='Options for the nova-docker driver, which runs instances as '
         'Docker containers (compute_driver = docker.DockerDriver).')

docker_opts = [
    cfg.StrOpt('api_url',
               default='unix:///var/run/docker.sock',
               help='URL of the Docker engine API: unix:///path/to/socket '
                    'or tcp://host:port. The nova-compute user needs access '
                    'to it, normally by membership of the docker group.'),
    cfg.StrOpt('engine',
               default='auto',
               choices=[
                   ('auto', 'Whichever engine answers at api_url, as its '
                    'version answer says.'),
                   ('docker', 'dockerd; nova-compute does not start on '
                    'another engine.'),
                   ('podman', 'Rootful Podman\'s Docker-compatible service '
                    '(podman system service, as root); nova-compute does '
                    'not start on another engine.')],
               help='The engine behind api_url. Podman answers parts of '
                    'Docker\'s API otherwise; the driver makes its answers '
                    'Docker\'s and refuses what it cannot do there. Podman '
                    'must run as root (its service\'s socket, e.g. '
                    'unix:///run/podman/podman.sock, readable by '
                    'nova-compute only): a rootless one cannot make the '
                    'guests\' network namespaces or mounts.'),
    cfg.IntOpt('api_timeout',
               default=120,
               min=1,
               help='Seconds to wait for an answer from the Docker engine '
                    'before an API call fails. Image loads and saves stream '
                    'and are not bounded by this as a whole.'),
    cfg.StrOpt('api_version',
               default='auto',
               help='Docker engine API version to speak, or "auto" to use '
                    'the version the engine reports (1.41 for Docker 20.10).'),
    cfg.IntOpt('pids_limit',
               default=1024,
               min=0,
               help='Largest number of processes (and threads) one container '
                    'may hold. 0 means no limit.'),
    cfg.IntOpt('soft_reboot_timeout',
               default=60,
               min=0,
               help='Seconds a soft reboot waits for the container to stop '
                    'after the stop signal before it kills it.'),
    cfg.FloatOpt('boot_check_seconds',
                 default=0.2,
                 min=0,
                 help='Longest time spawn watches a newly started '
                      'container, counted from the start of its process. '
                      'If the process exits within it the boot fails and '
                      'the fault shows the end of its log. The watch ends '
                      'sooner once the process has settled: seen asleep '
                      'twice, 0.02 s apart, with no CPU time spent between '
                      '(a healthy guest soon waits for its children, its '
                      'console or a timer). A guest that exits later is '
                      'a stopped server (SHUTOFF). The guest starts once '
                      'Neutron has wired its ports, so the watch adds to '
                      'boot latency only until the guest settles; 0 only '
                      'checks that the process is still there right after '
                      'the start.'),
    cfg.FloatOpt('stop_event_delay',
                 default=15,
                 min=0,
                 help='Seconds between the end of a container\'s process '
                      'and the lifecycle event that tells Nova the instance '
                      'stopped. Nova then records an instance stopped '
                      'behind its back (docker stop or kill, a process '
                      'that exits or runs out of memory) as SHUTOFF. A '
                      'start of the container within that time (a reboot, '
                      'docker restart, a restart policy) cancels the '
                      'event, so that Nova does not stop an instance that '
                      'is coming back; the libvirt driver waits 15 seconds '
                      'likewise. Starts, pauses and unpauses are reported '
                      'at once. Nova\'s [workarounds] '
                      'handle_virt_lifecycle_events turns all of them off.'),
    cfg.IntOpt('console_log_max_bytes',
               default=100 * 1024,
               min=1024,
               help='Largest size of the console log (the container\'s '
                    'output) returned by the console log API.'),
    cfg.StrOpt('log_max_size',
               default='10m',
               regex=r'^[1-9][0-9]*[kmg]?$',
               help='Size at which the engine rotates a container\'s log '
                    '(its console output, kept by the json-file log '
                    'driver): a number of bytes, or of kilobytes, megabytes '
                    'or gigabytes with the suffix k, m or g. Set at create: '
                    'containers made before a change keep theirs.'),
    cfg.IntOpt('log_max_files',
               default=2,
               min=1,
               help='Number of log files the engine keeps per container, '
                    'the one being written included. A container\'s log '
                    'takes at most about log_max_size times log_max_files '
                    'on disk, however much the guest prints; the console '
                    'log API shows the end of what is kept.'),
    cfg.BoolOpt('console_tty',
                default=False,
                help='Create containers with a terminal (a pty as the '
                     'guest\'s /dev/console and its first process\'s '
                     'standard input and output), as a virtual machine\'s '
                     'serial console is one: a login program there (an '
                     'inittab line "::respawn:/bin/login") gives the serial '
                     'console a login prompt, and shells echo and prompt. '
                     'Without it the console is a pipe. With it the guest\'s '
                     'stderr reaches the console log merged into its '
                     'stdout, programs see a terminal, and a Ctrl-C typed on '
                     'the console is a SIGINT to the terminal\'s '
                     'foreground process, which is the guest\'s init '
                     'unless a program there made the console its own '
                     '(busybox init runs its ctrlaltdel action: a reboot '
                     'on CirrOS). Applies to containers created '
                     'afterwards.'),
    cfg.ListOpt('cap_add',
                default=[],
                help='Linux capabilities added to every container on top of '
                     'Docker\'s default set, for example NET_ADMIN. Flavors '
                     'can add more with the extra spec docker:cap_add. '
                     'Image properties never can.'),
    cfg.StrOpt('root_disk_quota',
               default='warn',
               choices=[
                   ('enforce', 'Refuse boots of flavors with root_gb > 0 '
                    'where the engine cannot limit a container\'s root '
                    'disk: the instance goes to ERROR with a fault that '
                    'says why, and no container is made.'),
                   ('warn', 'Boot them without a limit where the engine '
                    'cannot; nova-compute warns at start and at each such '
                    'boot.')],
               help='What to do with a flavor\'s root_gb where the Docker '
                    'engine cannot limit the size of a container\'s '
                    'writable layer. Where it can (overlay2 on XFS mounted '
                    'with project quotas, "pquota"; btrfs; zfs), every '
                    'container of a flavor with root_gb > 0 gets that many '
                    'GiB (--storage-opt size), and a guest that writes more '
                    'to its root file system gets an error (ENOSPC on XFS, '
                    'EDQUOT on btrfs) while the host and other guests are '
                    'unaffected. nova-compute asks the engine at start '
                    '(it creates a container of a small size, never '
                    'started, and removes it) and logs the answer; restart '
                    'it after changing the engine\'s storage. root_gb = 0 '
                    'means no limit either way. Set at create: containers '
                    'keep the limit they were created with.'),
    cfg.BoolOpt('guest_reboot',
                default=True,
                help='Let guests reboot and power off themselves, as '
                     '"reboot", "poweroff" and "halt" in a guest do on a '
                     'virtual machine. New containers get CAP_SYS_BOOT; '
                     'the reboot(2) of a process in a container ends only '
                     'that container (its own PID namespace), and Docker\'s '
                     'default seccomp profile, which the driver never '
                     'turns off, refuses kexec_load and kexec_file_load '
                     'whatever the capabilities. When a guest reboots, '
                     'nova-compute starts its container again and plugs '
                     'its ports, and the instance stays ACTIVE (a guest '
                     'that reboots more than 10 times within 60 seconds '
                     'stays stopped instead); when it powers off or halts, '
                     'Nova records it SHUTOFF. It also '
                     'lets a busybox init (CirrOS) answer the stop signal '
                     'of a soft reboot at once instead of waiting for '
                     'soft_reboot_timeout. With False, containers created '
                     'from then on lack CAP_SYS_BOOT (unless cap_add or a '
                     'flavor adds it), and an end of a guest\'s process is '
                     'always reported to Nova as a stop. Existing '
                     'containers keep the capabilities they were created '
                     'with until they are rebuilt.'),
    cfg.BoolOpt('guest_setuid',
                default=True,
                help='Where the engine remaps user namespaces (dockerd '
                     '--userns-remap), let setuid programs in a guest '
                     '(sudo, su) make its users the guest\'s root, as on a '
                     'virtual machine: that root is an unprivileged user '
                     'of the host and holds no capability beyond those of '
                     'the container. Without a remap every container runs '
                     'with no-new-privileges whatever this says, so that '
                     'no program of an image becomes root of the host\'s '
                     'user namespace; with False, under a remap too. Set '
                     'at create: containers keep what they were created '
                     'with until they are rebuilt.'),
    cfg.BoolOpt('guest_net_admin',
                default=True,
                help='Where the engine remaps user namespaces (dockerd '
                     '--userns-remap), give every guest\'s root '
                     'CAP_NET_ADMIN in its own user namespace, so that it '
                     'configures its interfaces, addresses and routes as '
                     'on a virtual machine (for example "sudo ip link set '
                     'eth1 up" for a second port). The container\'s network '
                     'namespace belongs to its user namespace: the '
                     'capability reaches no other, and Neutron\'s port '
                     'security still filters what leaves the port. Without '
                     'a remap never (unless cap_add asks for it). Set at '
                     'create: containers keep what they were created with '
                     'until they are rebuilt.'),
    cfg.BoolOpt('per_guest_userns',
                default=False,
                help='Give each instance a user namespace of its own, with '
                     '65536 host ids that no other instance has (Podman\'s '
                     'userns=auto, from the ranges of the "containers" user '
                     'in /etc/subuid and /etc/subgid): a guest\'s root is '
                     'then an unprivileged host user that no other guest '
                     'shares, so neither can touch what the other owns. '
                     'guest_setuid and guest_net_admin then apply as under '
                     'an engine\'s remap. Podman only (Docker has one '
                     'remap for all containers at most, dockerd '
                     '--userns-remap): nova-compute refuses to start where '
                     'the engine or the id ranges cannot give it. Off by '
                     'default because Podman\'s commit stores the host ids '
                     'of such a guest\'s files, not the guest\'s: the '
                     'driver refuses snapshots, shelving, resizes and '
                     'migrations of these guests. Set at create: '
                     'containers keep what they were created with until '
                     'they are rebuilt.'),
    cfg.BoolOpt('veth_tx_checksum_offload',
                default=True,
                help='Leave TX checksum offload on for the veth pairs that '
                     'connect containers to Neutron. The driver always turns '
                     'it off for ports whose Open vSwitch bridge uses the '
                     'userspace (netdev) datapath, which forwards packets '
                     'with the checksum the veth left to "hardware" so that '
                     'TCP between containers fails; set this to False where '
                     'another datapath has the same problem.'),
    cfg.StrOpt('catatonit_path',
               help='Path of a statically linked catatonit, the pause '
                    'program of each instance\'s network sandbox: a '
                    'container that holds the instance\'s network '
                    'namespace, so that its ports are plugged and wired '
                    'before the guest\'s init runs, as a VM\'s NICs are '
                    '(its DHCP client gets its lease). The driver makes the '
                    'sandbox image from it. Unset: /usr/bin/catatonit, '
                    '/usr/libexec/catatonit/catatonit or '
                    '/usr/libexec/podman/catatonit, the first that exists. '
                    'nova-compute does not start without one.'),
    cfg.StrOpt('lxcfs_path',
               default='/var/lib/lxcfs',
               help='Where LXCFS is mounted. When a fuse.lxcfs file system '
                    'is mounted there, every new container gets read-only '
                    'bind mounts of the files LXCFS provides over its '
                    '/proc/cpuinfo, /proc/meminfo, /proc/stat, '
                    '/proc/uptime, /proc/diskstats, /proc/swaps, '
                    '/proc/loadavg and /sys/devices/system/cpu/online, so '
                    'that the guest sees its flavor\'s RAM and its own '
                    'uptime, and with "lxcfs --enable-cfs" its flavor\'s '
                    'vCPUs, instead of the host\'s. Such a container needs '
                    'LXCFS mounted at every start, and reads nothing from '
                    'these files after LXCFS restarts until it is itself '
                    'stopped and started. Without LXCFS, containers are '
                    'created without these mounts and nova-compute warns at '
                    'start. Empty disables it.'),
    cfg.StrOpt('volumes_path',
               default='$state_path/docker-volumes',
               help='Host directory below which the file systems of Cinder '
                    'volumes are mounted, one directory per instance. '
                    'nova-compute makes it a shared mount point at start '
                    '(mount --bind and --make-rshared); each container has '
                    'its instance\'s directory bound read-only at '
                    '/mnt/volumes, so that a volume attached as /dev/vdb '
                    'appears at /mnt/volumes/vdb in the guest. Changing it '
                    'hides the volumes of existing instances.'),
    cfg.BoolOpt('format_blank_volumes',
                default=False,
                help='Make a file system (blank_volume_filesystem) on a '
                     'volume that holds no signature at all when it is '
                     'attached writable, instead of refusing it. A volume '
                     'with any signature, or whose file system fails to '
                     'mount, is never formatted.'),
    cfg.StrOpt('blank_volume_filesystem',
               default='ext4',
               choices=volume.FILESYSTEMS,
               help='The file system format_blank_volumes makes; its mkfs '
                    'program must be installed on the compute host.'),
]


def register_opts(conf):
    conf.register_group(docker_group)
    conf.register_opts(docker_opts, group=docker_group)


def list_opts():
    """Entry point for oslo-config-generator (namespace ``novadocker``)."""
    return [(docker_group, docker_opts)]


CONF = cfg.CONF
register_opts(CONF)
