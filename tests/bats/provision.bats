#!/usr/bin/env bats
#
# tools/nova-docker-provision: --dry-run, and for real into a temporary
# root with package managers, systemctl, usermod and pip recorded.

load helpers/fake_devstack

setup() {
    nd_setup
    PROVISION=$ND_REPO/tools/nova-docker-provision
    ETC=$ND_ROOT/etc
    printf '[DEFAULT]\ndebug = True\n\n[api]\nauth_strategy = keystone\n' > "$ETC/nova/nova.conf"
    printf '[DEFAULT]\nbind_port = 9292\n\n[image_format]\ncontainer_formats = ami,ari,aki,bare,ovf\n' \
        > "$ETC/glance/glance-api.conf"
    ARGS=(--nova-conf "$ETC/nova/nova.conf" --rootwrap-dir "$ETC/nova/rootwrap.d"
          --glance-conf "$ETC/glance/glance-api.conf" --pip "$ND_BIN/pip"
          --systemd-dir "$ETC/systemd/system" --daemon-json "$ND_DAEMON_JSON"
          --fstab "$ETC/fstab")
    DROPIN=$ETC/systemd/system/lxcfs.service.d/nova-docker.conf
    # the fake systemctl mounts LXCFS in this mount table
    export NOVA_DOCKER_MOUNTINFO NOVA_DOCKER_WAIT_TIMEOUT=5
}

teardown() {
    # what a real XFS mount test left mounted
    if [[ -n "${XFS_DIR:-}" ]] && mountpoint -q "$XFS_DIR" 2> /dev/null; then
        umount "$XFS_DIR"
    fi
}

# xfs_args: the XFS data root under the test's root
xfs_args() {
    XFS_DIR=$ND_ROOT/var/lib/docker-xfs
    XFS_FILE=$ND_ROOT/var/lib/docker-xfs.img
    XFS_ARGS=(--xfs-data-root --xfs-data-root-dir "$XFS_DIR" --xfs-data-root-file "$XFS_FILE")
}

daemon_json() {
    python3 -c 'import json, sys; print(json.load(open(sys.argv[1])).get(sys.argv[2], ""))' \
        "$ND_DAEMON_JSON" "$1"
}

require_root() {
    if [ "$(id -u)" != 0 ]; then
        skip "installs root-owned files: run as root"
    fi
}

@test "--help" {
    run "$PROVISION" --help
    [ "$status" -eq 0 ]
    [[ "$output" == *"Usage: nova-docker-provision [options]"* ]]
    [[ "$output" == *"--dry-run"* && "$output" == *"--nova-user"* && "$output" == *"--glance-conf"* ]]
}

@test "unknown option: usage and a clear error" {
    run "$PROVISION" --frobnicate
    [ "$status" -ne 0 ]
    [[ "$output" == *"error: unknown option: --frobnicate"* ]]
    run "$PROVISION" --nova-conf
    [ "$status" -ne 0 ]
    [[ "$output" == *"--nova-conf needs a value"* ]]
    run "$PROVISION" --distro arch "${ARGS[@]}"
    [ "$status" -ne 0 ]
    [[ "$output" == *"--distro must be debian or fedora"* ]]
}

@test "missing nova.conf: clear error, nothing done" {
    run "$PROVISION" --distro debian "${ARGS[@]}" --nova-conf "$ETC/nova/missing.conf"
    [ "$status" -ne 0 ]
    [[ "$output" == *"nova config $ETC/nova/missing.conf not found"* ]]
    [ -z "$(nd_calls '^(apt-get|usermod|pip install|systemctl (restart|enable))')" ]
}

@test "--glance with a missing glance-api.conf: clear error" {
    run "$PROVISION" --distro debian "${ARGS[@]}" --glance --glance-conf "$ETC/glance/missing.conf"
    [ "$status" -ne 0 ]
    [[ "$output" == *"glance config $ETC/glance/missing.conf not found"* ]]
}

@test "a nova user that does not exist: clear error" {
    run "$PROVISION" --distro debian "${ARGS[@]}" --nova-user nobody-here
    [ "$status" -ne 0 ]
    [[ "$output" == *"user nobody-here does not exist"* ]]
}

@test "not root: refuses, except for --dry-run" {
    export ND_FAKE_UID=1000
    run "$PROVISION" --distro debian "${ARGS[@]}"
    [ "$status" -ne 0 ]
    [[ "$output" == *"must run as root"* ]]
    run "$PROVISION" --dry-run --distro debian "${ARGS[@]}"
    [ "$status" -eq 0 ]
}

@test "--dry-run prints every change and makes none" {
    cp -r "$ETC" "$BATS_TEST_TMPDIR/etc-before"
    run "$PROVISION" --dry-run --distro debian "${ARGS[@]}"
    [ "$status" -eq 0 ]
    [[ "$output" == *"would: install docker.io"* ]]
    [[ "$output" == *"would: enable and start docker"* ]]
    [[ "$output" == *"would: install catatonit"* ]]
    [[ "$output" == *"would: install lxcfs"* ]]
    [[ "$output" == *"would: install $DROPIN (lxcfs --enable-cfs --enable-loadavg)"* ]]
    [[ "$output" == *"would: enable and start lxcfs"* ]]
    [[ "$output" == *"would: add nova to group docker"* ]]
    [[ "$output" == *"would: pip install $ND_REPO"* ]]
    [[ "$output" == *"would: set [DEFAULT] compute_driver = docker.DockerDriver in $ETC/nova/nova.conf"* ]]
    [[ "$output" == *"would: install $ETC/nova/rootwrap.d/docker.filters (root:root 0644)"* ]]
    [[ "$output" == *"would: set [image_format] container_formats = ami,ari,aki,bare,ovf,docker in $ETC/glance/glance-api.conf"* ]]
    [[ "$output" == *"would: restart nova-compute"* ]]
    [[ "$output" == *"would: restart glance-api"* ]]
    diff -r "$BATS_TEST_TMPDIR/etc-before" "$ETC"
    [ -z "$(nd_calls '^(apt-get|dnf|usermod|pip install|systemctl (restart|enable)|install )')" ]
}

@test "for real (Debian/Ubuntu): every change made" {
    require_root
    run "$PROVISION" --distro debian "${ARGS[@]}"
    [ "$status" -eq 0 ]
    nd_calls '^apt-get install -y docker.io$' | grep -q .
    nd_calls '^systemctl enable --now docker$' | grep -q .
    nd_calls '^apt-get install -y catatonit$' | grep -q .
    nd_calls '^apt-get install -y lxcfs$' | grep -q .
    grep -qxF 'ExecStart=' "$DROPIN"
    grep -qxF 'ExecStart=/usr/bin/lxcfs --enable-cfs --enable-loadavg /var/lib/lxcfs' "$DROPIN"
    [ "$(stat -c '%U:%G %a' "$DROPIN")" = "root:root 644" ]
    nd_calls '^systemctl daemon-reload$' | grep -q .
    nd_calls '^systemctl enable --now lxcfs$' | grep -q .
    [[ "$output" == *"ok: LXCFS is mounted at /var/lib/lxcfs"* ]]
    nd_calls '^usermod -aG docker nova$' | grep -q .
    nd_calls "^pip install --upgrade $ND_REPO$" | grep -q .
    iniget "$ETC/nova/nova.conf" DEFAULT compute_driver | grep -qx docker.DockerDriver
    iniget "$ETC/nova/nova.conf" DEFAULT debug | grep -qx True
    iniget "$ETC/nova/nova.conf" api auth_strategy | grep -qx keystone
    local filter=$ETC/nova/rootwrap.d/docker.filters
    cmp "$ND_REPO/etc/nova/rootwrap.d/docker.filters" "$filter"
    [ "$(stat -c '%U:%G %a' "$filter")" = "root:root 644" ]
    iniget "$ETC/glance/glance-api.conf" image_format container_formats | grep -qx ami,ari,aki,bare,ovf,docker
    iniget "$ETC/glance/glance-api.conf" DEFAULT bind_port | grep -qx 9292
    nd_calls '^systemctl restart nova-compute$' | grep -q .
    nd_calls '^systemctl restart glance-api$' | grep -q .
}

@test "for real twice: the same files, and nothing more to do" {
    require_root
    "$PROVISION" --distro debian "${ARGS[@]}"
    nd_snapshot "$BATS_TEST_TMPDIR/one"
    : > "$ND_CALLS"
    run "$PROVISION" --distro debian "${ARGS[@]}"
    [ "$status" -eq 0 ]
    nd_snapshot "$BATS_TEST_TMPDIR/two"
    diff -r "$BATS_TEST_TMPDIR/one" "$BATS_TEST_TMPDIR/two"
    [ -z "$(nd_calls '^(apt-get|usermod|pip install|systemctl (restart|enable))')" ]
    # a dry run now has nothing to print either
    run "$PROVISION" --dry-run --distro debian "${ARGS[@]}"
    [[ "$output" != *"would:"* ]]
}

@test "a filter with the wrong mode is put right" {
    require_root
    mkdir -p "$ETC/nova/rootwrap.d"
    install -m 0666 "$ND_REPO/etc/nova/rootwrap.d/docker.filters" "$ETC/nova/rootwrap.d/docker.filters"
    run "$PROVISION" --distro debian "${ARGS[@]}"
    [ "$status" -eq 0 ]
    [ "$(stat -c %a "$ETC/nova/rootwrap.d/docker.filters")" = 644 ]
}

@test "Fedora/RHEL (RDO): moby-engine with dnf, RDO service names" {
    require_root
    run "$PROVISION" --distro fedora "${ARGS[@]}"
    [ "$status" -eq 0 ]
    nd_calls '^dnf install -y moby-engine$' | grep -q .
    nd_calls '^dnf install -y catatonit$' | grep -q .
    nd_calls '^dnf install -y lxcfs$' | grep -q .
    [ -z "$(nd_calls '^apt-get')" ]
    nd_calls '^systemctl restart openstack-nova-compute$' | grep -q .
    nd_calls '^systemctl restart openstack-glance-api$' | grep -q .
}

@test "LXCFS: running without the options is restarted with them" {
    require_root
    nd_installed lxcfs
    nd_installed docker.io
    "$ND_BIN/systemctl" enable --now lxcfs
    : > "$ND_CALLS"
    run "$PROVISION" --distro debian "${ARGS[@]}" --lxcfs-options --enable-cfs
    [ "$status" -eq 0 ]
    [ -z "$(nd_calls '^apt-get install -y lxcfs')" ]
    grep -qxF 'ExecStart=/usr/bin/lxcfs --enable-cfs /var/lib/lxcfs' "$DROPIN"
    nd_calls '^systemctl restart lxcfs$' | grep -q .
}

@test "LXCFS: not restarted under running instances, nor with --no-restart" {
    require_root
    nd_installed lxcfs
    nd_installed docker.io
    "$ND_BIN/systemctl" enable --now lxcfs
    echo c1 > "$ND_STATE/docker-ps"
    run "$PROVISION" --distro debian "${ARGS[@]}"
    [ "$status" -eq 0 ]
    [ -f "$DROPIN" ]
    [ -z "$(nd_calls '^systemctl restart lxcfs')" ]
    [[ "$output" == *"warning: lxcfs runs without '--enable-cfs --enable-loadavg' until it restarts"* ]]
    nd_calls '^docker ps -q --filter label=org.openstack.nova.instance_uuid$' | grep -q .
    : > "$ND_STATE/docker-ps"
    rm "$DROPIN"
    run "$PROVISION" --distro debian "${ARGS[@]}" --no-restart
    [ "$status" -eq 0 ]
    [ -z "$(nd_calls '^systemctl restart lxcfs')" ]
}

@test "LXCFS that does not mount: a clear error" {
    require_root
    touch "$ND_STATE/lxcfs-broken"
    # its directory, without LXCFS on it
    echo "45 22 0:50 / /var/lib/lxcfs rw - tmpfs tmpfs rw" >> "$NOVA_DOCKER_MOUNTINFO"
    NOVA_DOCKER_WAIT_TIMEOUT=1 run "$PROVISION" --distro debian "${ARGS[@]}"
    [ "$status" -ne 0 ]
    [[ "$output" == *"LXCFS did not mount /var/lib/lxcfs within 1s"*"--no-lxcfs"* ]]
}

@test "--no-lxcfs leaves LXCFS alone" {
    run "$PROVISION" --dry-run --distro debian "${ARGS[@]}" --no-lxcfs
    [ "$status" -eq 0 ]
    [[ "$output" != *"install lxcfs"* && "$output" != *lxcfs.service.d* ]]
    [[ "$output" != *"start lxcfs"* && "$output" != *LXCFS* ]]
}

@test "--docker-source docker-ce installs Docker's packages" {
    run "$PROVISION" --dry-run --distro debian --docker-source docker-ce "${ARGS[@]}"
    [ "$status" -eq 0 ]
    [[ "$output" == *"would: install docker-ce docker-ce-cli containerd.io"* ]]
}

@test "service names, --no-restart, --skip-docker, --no-glance" {
    run "$PROVISION" --dry-run --distro debian "${ARGS[@]}" \
        --compute-service my-compute --glance-service my-glance
    [[ "$output" == *"would: restart my-compute"* && "$output" == *"would: restart my-glance"* ]]
    run "$PROVISION" --dry-run --distro debian "${ARGS[@]}" --no-restart --skip-docker --no-glance \
        --userns-remap off
    [ "$status" -eq 0 ]
    [[ "$output" != *restart* && "$output" != *docker.io* && "$output" != *container_formats* ]]
    # the driver needs catatonit whoever installs the engine
    [[ "$output" == *"would: install catatonit"* ]]
}

@test "Glance: absent config is skipped, default list and docker kept as they are" {
    rm "$ETC/glance/glance-api.conf"
    run "$PROVISION" --dry-run --distro debian "${ARGS[@]}"
    [ "$status" -eq 0 ]
    [[ "$output" != *container_formats* && "$output" != *glance-api* ]]
    printf '[DEFAULT]\nbind_port = 9292\n' > "$ETC/glance/glance-api.conf"
    run "$PROVISION" --dry-run --distro debian "${ARGS[@]}"
    [[ "$output" == *"ok: Glance accepts container_format docker"* ]]
    printf '[image_format]\ncontainer_formats = bare, docker\n' > "$ETC/glance/glance-api.conf"
    run "$PROVISION" --dry-run --distro debian "${ARGS[@]}"
    [[ "$output" == *"ok: Glance accepts container_format docker"* ]]
}

@test "Glance: the deprecated [DEFAULT] list is carried over, not written" {
    require_root
    printf '[DEFAULT]\ncontainer_formats = ami,bare\n' > "$ETC/glance/glance-api.conf"
    run "$PROVISION" --distro debian "${ARGS[@]}"
    [ "$status" -eq 0 ]
    iniget "$ETC/glance/glance-api.conf" image_format container_formats | grep -qx ami,bare,docker
    iniget "$ETC/glance/glance-api.conf" DEFAULT container_formats | grep -qx ami,bare
}

@test "--venv installs with the virtualenv's pip" {
    mkdir -p "$BATS_TEST_TMPDIR/venv/bin"
    ln -s "$ND_BIN/pip" "$BATS_TEST_TMPDIR/venv/bin/pip"
    run "$PROVISION" --dry-run --distro debian "${ARGS[@]}" --venv "$BATS_TEST_TMPDIR/venv"
    [ "$status" -eq 0 ]
    [[ "$output" == *"(with $BATS_TEST_TMPDIR/venv/bin/pip)"* ]]
    run "$PROVISION" --dry-run --distro debian "${ARGS[@]}" --venv "$BATS_TEST_TMPDIR/novenv"
    [ "$status" -ne 0 ]
    [[ "$output" == *"no pip in virtualenv"* ]]
}

@test "never opens the Docker socket to everyone" {
    run grep -nE 'chmod|chown|setfacl' "$PROVISION"
    [[ "$output" != *docker.sock* && "$output" != *666* && "$output" != *777* ]]
}

# --- the engine's options --------------------------------------------------

@test "--xfs-data-root --dry-run: every change printed, none made" {
    xfs_args
    run "$PROVISION" --dry-run --distro debian "${ARGS[@]}" "${XFS_ARGS[@]}" --userns-remap off
    [ "$status" -eq 0 ]
    [[ "$output" == *"would: install xfsprogs"* ]]
    [[ "$output" == *"would: make $XFS_FILE (sparse, 20G)"* ]]
    [[ "$output" == *"would: make XFS on $XFS_FILE"* ]]
    [[ "$output" == *"would: mount $XFS_FILE at $XFS_DIR (XFS, pquota)"* ]]
    [[ "$output" == *"would: add '$XFS_FILE $XFS_DIR xfs loop,pquota,nofail 0 0' to $ETC/fstab"* ]]
    [[ "$output" == *"would: set data-root, storage-driver in $ND_DAEMON_JSON"* ]]
    [[ "$output" == *"would: restart docker"* ]]
    [[ "$output" == *"would: set [docker] root_disk_quota = enforce in $ETC/nova/nova.conf"* ]]
    [ ! -e "$XFS_FILE" ] && [ ! -e "$ND_DAEMON_JSON" ] && [ ! -e "$ETC/fstab" ]
    [ -z "$(nd_calls '^(mount|systemctl restart docker|docker .*create)')" ]
}

@test "--xfs-data-root for real: the engine on a loop-backed XFS with pquota" {
    require_root
    xfs_args
    run "$PROVISION" --distro debian "${ARGS[@]}" "${XFS_ARGS[@]}" --xfs-data-root-size 2G
    [ "$status" -eq 0 ]
    nd_calls '^apt-get install -y xfsprogs$' | grep -q .
    [ "$(stat -c '%U %a %s' "$XFS_FILE")" = "root 600 $((2 * 1024 ** 3))" ]
    [ "$(blkid -p -o value -s TYPE "$XFS_FILE")" = xfs ]
    nd_calls "^mount -t xfs -o loop,pquota $XFS_FILE $XFS_DIR$" | grep -q .
    grep -qxF "$XFS_FILE $XFS_DIR xfs loop,pquota,nofail 0 0" "$ETC/fstab"
    grep -qxF "RequiresMountsFor=$XFS_DIR" "$ETC/systemd/system/docker.service.d/nova-docker-data-root.conf"
    [ "$(daemon_json data-root)" = "$XFS_DIR" ]
    [ "$(daemon_json storage-driver)" = overlay2 ]
    nd_calls '^systemctl restart docker$' | grep -q .
    nd_calls '^docker create --storage-opt size=1G ' | grep -q .
    [[ "$output" == *"ok: the Docker engine limits root disks"* ]]
    iniget "$ETC/nova/nova.conf" docker root_disk_quota | grep -qx enforce
    nd_calls '^systemctl restart nova-compute$' | grep -q .

    # again: nothing more to do
    : > "$ND_CALLS"
    run "$PROVISION" --distro debian "${ARGS[@]}" "${XFS_ARGS[@]}" --xfs-data-root-size 2G
    [ "$status" -eq 0 ]
    [ -z "$(nd_calls '^(apt-get|mount|systemctl restart)')" ]
    [[ "$output" == *"ok: $XFS_DIR is XFS with project quotas"* ]]
}

@test "--xfs-data-root keeps a root_disk_quota nova.conf sets" {
    require_root
    xfs_args
    printf '[docker]\nroot_disk_quota = warn\n' >> "$ETC/nova/nova.conf"
    run "$PROVISION" --distro debian "${ARGS[@]}" "${XFS_ARGS[@]}"
    [ "$status" -eq 0 ]
    iniget "$ETC/nova/nova.conf" docker root_disk_quota | grep -qx warn
}

@test "engine options: bad values, each a clear error, nothing done" {
    xfs_args
    run "$PROVISION" --dry-run --distro debian "${ARGS[@]}" "${XFS_ARGS[@]}" --xfs-data-root-size 10
    [ "$status" -ne 0 ]
    [[ "$output" == *"--xfs-data-root-size must be a size such as 20G"*"not '10'"* ]]
    run "$PROVISION" --dry-run --distro debian "${ARGS[@]}" "${XFS_ARGS[@]}" --xfs-data-root-size big
    [ "$status" -ne 0 ]
    [[ "$output" == *"not 'big'"* ]]
    run "$PROVISION" --dry-run --distro debian "${ARGS[@]}" "${XFS_ARGS[@]}" --xfs-data-root-dir docker
    [ "$status" -ne 0 ]
    [[ "$output" == *"--xfs-data-root-dir must be an absolute path"* ]]
    run "$PROVISION" --dry-run --distro debian "${ARGS[@]}" "${XFS_ARGS[@]}" --xfs-data-root-file "$XFS_DIR/img"
    [ "$status" -ne 0 ]
    [[ "$output" == *"--xfs-data-root-file ($XFS_DIR/img) cannot be in the directory it is mounted at"* ]]
    run "$PROVISION" --dry-run --distro debian "${ARGS[@]}" --userns-remap nobody-here
    [ "$status" -ne 0 ]
    [[ "$output" == *"--userns-remap: no user 'nobody-here'"* ]]
    run "$PROVISION" --dry-run --distro debian "${ARGS[@]}" --userns-remap nova
    [ "$status" -ne 0 ]
    [[ "$output" == *"--userns-remap: 'nova' owns no subordinate ids"* ]]
    run "$PROVISION" --dry-run --distro debian "${ARGS[@]}" --userns-remap
    [ "$status" -ne 0 ]
    [[ "$output" == *"--userns-remap needs a value"* ]]
    [ -z "$(nd_calls '^(apt-get|mount|systemctl|docker )')" ]
}

@test "--xfs-data-root: an engine with containers or images is not moved off them" {
    require_root
    xfs_args
    echo "0 4" > "$ND_STATE/docker-counts"
    run "$PROVISION" --distro debian "${ARGS[@]}" "${XFS_ARGS[@]}"
    [ "$status" -ne 0 ]
    [[ "$output" == *"The Docker engine holds 0 containers and 4 images in /var/lib/docker"*"(--leave-engine-contents)"* ]]
    [ ! -e "$XFS_FILE" ] && [ ! -e "$ND_DAEMON_JSON" ]
    run "$PROVISION" --distro debian "${ARGS[@]}" "${XFS_ARGS[@]}" --leave-engine-contents
    [ "$status" -eq 0 ]
    [ "$(daemon_json data-root)" = "$XFS_DIR" ]
}

@test "--userns-remap auto (the default): an engine that holds images is left, said so; an empty one remapped" {
    require_root
    echo "0 4" > "$ND_STATE/docker-counts"
    run "$PROVISION" --distro debian "${ARGS[@]}"
    [ "$status" -eq 0 ]
    [[ "$output" == *"WARNING: the Docker engine holds 0 containers and 4 images: left without userns-remap (--userns-remap=auto)"* ]]
    [ ! -e "$ND_DAEMON_JSON" ]
    echo "0 0" > "$ND_STATE/docker-counts"
    run "$PROVISION" --distro debian "${ARGS[@]}"
    [ "$status" -eq 0 ]
    [ "$(daemon_json userns-remap)" = default ]
    [[ "$output" == *"ok: the Docker engine remaps user namespaces"* ]]
    # once remapped, auto keeps the engine's own setting
    : > "$ND_CALLS"
    run "$PROVISION" --distro debian "${ARGS[@]}"
    [ "$status" -eq 0 ]
    [ -z "$(nd_calls '^systemctl restart docker')" ]
}

@test "--userns-remap with --no-restart: written, the engine not restarted, said so" {
    require_root
    run "$PROVISION" --distro debian "${ARGS[@]}" --userns-remap default --no-restart
    [ "$status" -eq 0 ]
    [ "$(daemon_json userns-remap)" = default ]
    [ -z "$(nd_calls '^systemctl restart')" ]
    [[ "$output" == *"warning: docker runs without the new settings of $ND_DAEMON_JSON until 'systemctl restart docker' (--no-restart)"* ]]
    # with the restart, checked
    rm "$ND_DAEMON_JSON"
    run "$PROVISION" --distro debian "${ARGS[@]}" --userns-remap default
    [ "$status" -eq 0 ]
    nd_calls '^systemctl restart docker$' | grep -q .
    [[ "$output" == *"ok: the Docker engine remaps user namespaces"* ]]
}

# real_xfs_args: the real mount(8) and the real mount table
real_xfs_args() {
    require_root
    xfs_args
    rm "$ND_BIN/mount"
    export NOVA_DOCKER_MOUNTINFO=/proc/self/mountinfo
    ARGS+=(--no-lxcfs --xfs-data-root-size 1G)
}

@test "real kernel: the XFS file mounted with project quotas" {
    if [ ! -e /proc/fs/xfs/xqmstat ]; then
        skip "this kernel lacks XFS quota support (CONFIG_XFS_QUOTA; no /proc/fs/xfs/xqmstat)"
    fi
    real_xfs_args
    run "$PROVISION" --distro debian "${ARGS[@]}" "${XFS_ARGS[@]}"
    [ "$status" -eq 0 ]
    grep -q " $XFS_DIR .* - xfs /dev/loop[0-9]* .*prjquota" /proc/self/mountinfo
    grep -qxF "$XFS_FILE $XFS_DIR xfs loop,pquota,nofail 0 0" "$ETC/fstab"
}

@test "real kernel without XFS quotas: a clear error, nothing persisted" {
    if [ -e /proc/fs/xfs/xqmstat ]; then
        skip "this kernel has XFS quota support"
    fi
    real_xfs_args
    run "$PROVISION" --distro debian "${ARGS[@]}" "${XFS_ARGS[@]}"
    [ "$status" -ne 0 ]
    [[ "$output" == *"Could not mount $XFS_FILE at $XFS_DIR with project quotas (pquota): this kernel lacks XFS quota support (CONFIG_XFS_QUOTA; no /proc/fs/xfs/xqmstat)"* ]]
    # the real mkfs.xfs made it; nothing mounted, no loop device kept
    [ "$(blkid -p -o value -s TYPE "$XFS_FILE")" = xfs ]
    run ! mountpoint -q "$XFS_DIR"
    [ -z "$(losetup -j "$XFS_FILE")" ]
    [ ! -e "$ETC/fstab" ] && [ ! -e "$ND_DAEMON_JSON" ]
    [ -z "$(nd_calls '^systemctl restart docker')" ]
}

@test "--engine podman --dry-run: podman, its socket open to the docker group, nova's api_url" {
    run "$PROVISION" --dry-run --distro fedora --engine podman "${ARGS[@]}"
    [ "$status" -eq 0 ]
    [[ "$output" == *"would: install podman"* ]]
    [[ "$output" != *"moby-engine"* ]]
    [[ "$output" == *"would: install $ETC/systemd/system/podman.socket.d/nova-docker.conf (podman.socket for the group docker)"* ]]
    [[ "$output" == *"would: enable and start podman.socket"* ]]
    [[ "$output" == *"would: set [docker] api_url = unix:///run/podman/podman.sock in $ETC/nova/nova.conf"* ]]
    [[ "$output" == *"ok: Podman: no daemon.json to write"* ]]
    [ ! -e "$ETC/systemd/system/podman.socket.d" ]
    [ -z "$(nd_calls '^(dnf|systemctl (start|restart|enable)|groupadd)')" ]
}

@test "RHEL and its rebuilds get Podman by default, Fedora Docker" {
    NOVA_DOCKER_OS_RELEASE=$BATS_TEST_TMPDIR/os-release
    export NOVA_DOCKER_OS_RELEASE
    printf 'ID="rocky"\nID_LIKE="rhel centos fedora"\nVERSION_ID="9.5"\n' > "$NOVA_DOCKER_OS_RELEASE"
    run "$PROVISION" --dry-run "${ARGS[@]}"
    [ "$status" -eq 0 ]
    [[ "$output" == *"would: install podman"* ]]
    [[ "$output" == *"would: set [docker] api_url = unix:///run/podman/podman.sock"* ]]
    printf 'ID=fedora\nVERSION_ID=42\n' > "$NOVA_DOCKER_OS_RELEASE"
    run "$PROVISION" --dry-run "${ARGS[@]}"
    [ "$status" -eq 0 ]
    [[ "$output" == *"would: install moby-engine"* ]]
    [[ "$output" != *"podman"* ]]
}

@test "--engine: a wrong engine, or Docker's options with Podman, each a clear error, nothing done" {
    run "$PROVISION" --dry-run --distro debian --engine lxd "${ARGS[@]}"
    [ "$status" -ne 0 ]
    [[ "$output" == *"--engine must be 'docker' or 'podman', not 'lxd'"* ]]
    run "$PROVISION" --dry-run --distro debian --engine podman --docker-source docker-ce "${ARGS[@]}"
    [ "$status" -ne 0 ]
    [[ "$output" == *"--engine podman installs the distribution's podman; --docker-source docker-ce is Docker's"* ]]
    xfs_args
    run "$PROVISION" --dry-run --distro debian --engine podman "${ARGS[@]}" "${XFS_ARGS[@]}"
    [ "$status" -ne 0 ]
    [[ "$output" == *"--xfs-data-root is the Docker engine's (its daemon.json)"* ]]
    run "$PROVISION" --dry-run --distro debian --engine podman "${ARGS[@]}" --userns-remap default
    [ "$status" -ne 0 ]
    [[ "$output" == *"--userns-remap default is the Docker engine's"* ]]
    [[ "$output" != *"would:"* ]]
}

@test "--engine podman for real: the drop-in (root, 0644), the socket restarted once, api_url kept where set" {
    require_root
    run "$PROVISION" --distro fedora --engine podman "${ARGS[@]}"
    [ "$status" -eq 0 ]
    local dropin=$ETC/systemd/system/podman.socket.d/nova-docker.conf
    [ "$(stat -c '%u %a' "$dropin")" = "0 644" ]
    grep -qxF 'SocketGroup=docker' "$dropin"
    grep -qxF 'SocketMode=0660' "$dropin"
    nd_calls '^dnf install -y podman$' | grep -q .
    nd_calls '^systemctl enable --now podman.socket$' | grep -q .
    [ "$(iniget "$ETC/nova/nova.conf" docker api_url)" = unix:///run/podman/podman.sock ]
    [ "$(iniget "$ETC/nova/nova.conf" docker engine)" = podman ]
    : > "$ND_CALLS"
    run "$PROVISION" --distro fedora --engine podman "${ARGS[@]}"
    [ "$status" -eq 0 ]
    [[ "$output" == *"ok: podman.socket enabled and running"* ]]
    [ -z "$(nd_calls '^(dnf|systemctl (restart|enable))')" ]
    # an operator's own api_url stays
    sed -i 's|^api_url = .*|api_url = unix:///srv/podman.sock|' "$ETC/nova/nova.conf"
    run "$PROVISION" --distro fedora --engine podman "${ARGS[@]}"
    [ "$(iniget "$ETC/nova/nova.conf" docker api_url)" = unix:///srv/podman.sock ]
}

# --- per-guest user namespaces ----------------------------------------------

CONTAINERS_LINE=containers:2147483647:2147483648

# subid_files: the script's subuid and subgid under the test's root (never
# the machine's), the first with a user's range
subid_files() {
    export ND_ENGINE_SUBUID ND_ENGINE_SUBGID
    mkdir -p "${ND_ENGINE_SUBUID%/*}"
    echo "stack:100000:65536" > "$ND_ENGINE_SUBUID"
}

@test "--userns-remap per-guest: refused on Docker, nothing done" {
    subid_files
    run "$PROVISION" --dry-run --distro debian "${ARGS[@]}" --userns-remap per-guest
    [ "$status" -ne 0 ]
    [[ "$output" == *"--userns-remap per-guest is Podman's (a user namespace of its own for each guest); the Docker engine has one remap for all containers (its daemon.json): use 'default' or user[:group]"* ]]
    [[ "$output" != *"would:"* ]]
}

@test "--engine podman --userns-remap per-guest --dry-run: the ranges and per_guest_userns printed, nothing made" {
    subid_files
    run "$PROVISION" --dry-run --distro fedora --engine podman "${ARGS[@]}" --userns-remap per-guest
    [ "$status" -eq 0 ]
    [[ "$output" == *"would: add '$CONTAINERS_LINE' to $ND_ENGINE_SUBUID (Podman's per-guest user namespaces)"* ]]
    [[ "$output" == *"would: make $ND_ENGINE_SUBGID with '$CONTAINERS_LINE' (Podman's per-guest user namespaces)"* ]]
    [[ "$output" == *"would: set [docker] per_guest_userns = True in $ETC/nova/nova.conf"* ]]
    [ "$(cat "$ND_ENGINE_SUBUID")" = "stack:100000:65536" ]
    [ ! -e "$ND_ENGINE_SUBGID" ]
    [ -z "$(iniget "$ETC/nova/nova.conf" docker per_guest_userns)" ]
}

@test "--engine podman --userns-remap per-guest for real: the ranges once, per_guest_userns, nova-compute restarted" {
    require_root
    subid_files
    echo "stack:100000:65536" > "$ND_ENGINE_SUBGID"
    # a node set up before: per-guest alone restarts nova-compute
    "$PROVISION" --distro fedora --engine podman "${ARGS[@]}"
    : > "$ND_CALLS"
    run "$PROVISION" --distro fedora --engine podman "${ARGS[@]}" --userns-remap per-guest
    [ "$status" -eq 0 ]
    [ "$(cat "$ND_ENGINE_SUBUID")" = "$(printf 'stack:100000:65536\n%s' "$CONTAINERS_LINE")" ]
    [ "$(cat "$ND_ENGINE_SUBGID")" = "$(printf 'stack:100000:65536\n%s' "$CONTAINERS_LINE")" ]
    [ "$(iniget "$ETC/nova/nova.conf" docker per_guest_userns)" = True ]
    nd_calls '^systemctl restart openstack-nova-compute$' | grep -q .
    # again: nothing more to do
    : > "$ND_CALLS"
    run "$PROVISION" --distro fedora --engine podman "${ARGS[@]}" --userns-remap per-guest
    [ "$status" -eq 0 ]
    [[ "$output" == *"ok: $ND_ENGINE_SUBUID gives containers 65536 ids or more"* ]]
    [[ "$output" == *"ok: $ND_ENGINE_SUBGID gives containers 65536 ids or more"* ]]
    [[ "$output" == *"ok: [docker] per_guest_userns in $ETC/nova/nova.conf"* ]]
    [ "$(grep -c '^containers:' "$ND_ENGINE_SUBUID")" -eq 1 ]
    [ "$(grep -c '^containers:' "$ND_ENGINE_SUBGID")" -eq 1 ]
    [ -z "$(nd_calls '^systemctl restart')" ]
    # the defaults after it: nova.conf's value and the ranges stay
    run "$PROVISION" --distro fedora --engine podman "${ARGS[@]}"
    [ "$status" -eq 0 ]
    [ "$(iniget "$ETC/nova/nova.conf" docker per_guest_userns)" = True ]
    [ "$(grep -c '^containers:' "$ND_ENGINE_SUBUID")" -eq 1 ]
}

@test "--engine podman without per-guest: no per_guest_userns, the subordinate ids left alone" {
    require_root
    subid_files
    local value
    for value in auto off; do
        run "$PROVISION" --distro fedora --engine podman "${ARGS[@]}" --userns-remap "$value"
        [ "$status" -eq 0 ]
        [ -z "$(iniget "$ETC/nova/nova.conf" docker per_guest_userns)" ]
        [ "$(cat "$ND_ENGINE_SUBUID")" = "stack:100000:65536" ]
        [ ! -e "$ND_ENGINE_SUBGID" ]
    done
}

@test "RHEL with --docker-source docker-ce keeps Docker" {
    NOVA_DOCKER_OS_RELEASE=$BATS_TEST_TMPDIR/os-release
    export NOVA_DOCKER_OS_RELEASE
    printf 'ID="almalinux"\nID_LIKE="rhel centos fedora"\n' > "$NOVA_DOCKER_OS_RELEASE"
    run "$PROVISION" --dry-run --docker-source docker-ce "${ARGS[@]}"
    [ "$status" -eq 0 ]
    [[ "$output" == *"would: install docker-ce docker-ce-cli containerd.io"* ]]
    [[ "$output" != *"podman"* ]]
}
