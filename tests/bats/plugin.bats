#!/usr/bin/env bats
#
# devstack/plugin.sh, devstack/settings and devstack/lib/nova_docker, phase
# by phase, against the harness (or the real DevStack functions when
# DEVSTACK_DIR is set).

load helpers/fake_devstack

setup() {
    nd_setup
}

# run_stack <phase...>: stack.sh's phases in order, each like stack.sh
run_stack() {
    local phase status
    for phase in "$@"; do
        nd_phase stack "$phase"
        status=$?
        [ "$status" -eq 0 ] || return "$status"
    done
}

ALL_PHASES="pre-install install post-config extra test-config"

# --- settings --------------------------------------------------------------

@test "settings: defaults" {
    [ "$NOVA_DOCKER_DIR" = "$ND_REPO" ]
    [ "$DOCKER_PACKAGE_SOURCE" = distro ]
    [ "$NOVA_DOCKER_API_URL" = unix:///var/run/docker.sock ]
    [ "$DEFAULT_IMAGE_NAME" = cirros ]
    [ "$NOVA_DOCKER_ALT_IMAGE_NAME" = cirros-alt ]
    # validation is DevStack's to set (lib/tempest's default)
    [ -z "${TEMPEST_RUN_VALIDATION+set}" ]
    [ "$NOVA_DOCKER_STATE_DIR" = "$DATA_DIR/nova-docker" ]
    [ "$NOVA_DOCKER_LXCFS" = True ]
    [ "$NOVA_DOCKER_LXCFS_OPTIONS" = "--enable-cfs --enable-loadavg" ]
    unset NOVA_DOCKER_DIR
    source "$ND_REPO/devstack/settings"
    [ "$NOVA_DOCKER_DIR" = "$DEST/nova-docker" ]
}

@test "settings: local.conf values win" {
    DOCKER_PACKAGE_SOURCE=docker-ce NOVA_DOCKER_API_URL=tcp://127.0.0.1:2375 \
        DEFAULT_IMAGE_NAME=mycirros TEMPEST_RUN_VALIDATION=False
    unset NOVA_DOCKER_ALT_IMAGE_NAME
    source "$ND_REPO/devstack/settings"
    [ "$DOCKER_PACKAGE_SOURCE" = docker-ce ]
    [ "$NOVA_DOCKER_API_URL" = tcp://127.0.0.1:2375 ]
    [ "$DEFAULT_IMAGE_NAME" = mycirros ]
    [ "$NOVA_DOCKER_ALT_IMAGE_NAME" = mycirros-alt ]
    [ "$TEMPEST_RUN_VALIDATION" = False ]
}

@test "settings: do not set VIRT_DRIVER (too late for stackrc)" {
    VIRT_DRIVER=libvirt
    source "$ND_REPO/devstack/settings"
    [ "$VIRT_DRIVER" = libvirt ]
    run grep -E '^[^#]*VIRT_DRIVER=' "$ND_REPO/devstack/settings"
    [ "$status" -eq 1 ]
}

# --- pre-install -----------------------------------------------------------

@test "pre-install: dies clearly without VIRT_DRIVER=docker" {
    VIRT_DRIVER=libvirt
    run nd_phase stack pre-install
    [ "$status" -ne 0 ]
    [[ "$output" == *"VIRT_DRIVER=docker"*"local.conf"* ]]
    [ -z "$(nd_calls '^(apt-get|dnf) ')" ]
}

@test "pre-install: Debian/Ubuntu distro package, group, service, wait" {
    nd_distro ubuntu
    run nd_phase stack pre-install
    [ "$status" -eq 0 ]
    nd_calls '^apt-get .*install docker.io$' | grep -q .
    # the init the driver runs in containers
    nd_calls '^apt-get .*install catatonit$' | grep -q .
    grep -qxF "package catatonit" "$NOVA_DOCKER_STATE_DIR/installed"
    [ -z "$(nd_calls '^dnf ')" ]
    nd_calls '^usermod -a -G docker stack$' | grep -q .
    nd_calls '^systemctl enable docker$' | grep -q .
    nd_calls '^systemctl start docker$' | grep -q .
    nd_calls '^docker --host unix:///var/run/docker.sock version$' | grep -q .
    grep -qxF "package docker.io" "$NOVA_DOCKER_STATE_DIR/installed"
    grep -qxF "member stack:docker" "$NOVA_DOCKER_STATE_DIR/installed"
}

@test "pre-install: Fedora distro package is moby-engine" {
    nd_distro fedora
    run nd_phase stack pre-install
    [ "$status" -eq 0 ]
    nd_calls '^dnf install -y moby-engine$' | grep -q .
    nd_calls '^dnf install -y catatonit$' | grep -q .
    [ -z "$(nd_calls '^apt-get ')" ]
}

@test "pre-install: docker-ce on Ubuntu adds Docker's apt repository" {
    nd_distro ubuntu
    DOCKER_PACKAGE_SOURCE=docker-ce
    run nd_phase stack pre-install
    [ "$status" -eq 0 ]
    nd_calls '^curl .*https://download.docker.com/linux/ubuntu/gpg$' | grep -q .
    grep -q "^deb \[arch=amd64 signed-by=$NOVA_DOCKER_APT_DIR/keyrings/docker.asc\] https://download.docker.com/linux/ubuntu noble stable$" \
        "$NOVA_DOCKER_APT_DIR/sources.list.d/docker.list"
    nd_calls '^apt-get .*install docker-ce docker-ce-cli containerd.io$' | grep -q .
}

@test "pre-install: docker-ce on Debian uses Docker's debian repository" {
    nd_distro debian
    DOCKER_PACKAGE_SOURCE=docker-ce
    run nd_phase stack pre-install
    [ "$status" -eq 0 ]
    grep -q " https://download.docker.com/linux/debian bookworm stable$" \
        "$NOVA_DOCKER_APT_DIR/sources.list.d/docker.list"
}

@test "pre-install: docker-ce on Fedora and RHEL adds Docker's dnf repository" {
    nd_distro fedora
    DOCKER_PACKAGE_SOURCE=docker-ce
    run nd_phase stack pre-install
    [ "$status" -eq 0 ]
    grep -q "download.docker.com/linux/fedora/docker-ce.repo" "$NOVA_DOCKER_YUM_REPOS_DIR/docker-ce.repo"
    nd_calls '^dnf install -y docker-ce docker-ce-cli containerd.io$' | grep -q .

    rm "$NOVA_DOCKER_YUM_REPOS_DIR/docker-ce.repo"
    nd_distro rhel
    run nd_phase stack pre-install
    [ "$status" -eq 0 ]
    grep -q "download.docker.com/linux/rhel/docker-ce.repo" "$NOVA_DOCKER_YUM_REPOS_DIR/docker-ce.repo"
}

@test "pre-install: unknown DOCKER_PACKAGE_SOURCE dies" {
    DOCKER_PACKAGE_SOURCE=snap
    run nd_phase stack pre-install
    [ "$status" -ne 0 ]
    [[ "$output" == *"package source must be 'distro' or 'docker-ce', not 'snap'"* ]]
}

@test "pre-install: an installed Docker engine is used as it is" {
    ln -s "$ND_BIN/service" "$ND_BIN/dockerd"
    run nd_phase stack pre-install
    [ "$status" -eq 0 ]
    [ -z "$(nd_calls '^(apt-get|dnf) .*(docker|moby)')" ]
    run ! grep -q "^package docker" "$NOVA_DOCKER_STATE_DIR/installed"
}

@test "pre-install: what was there before is not recorded as installed" {
    nd_installed docker.io
    nd_installed catatonit
    nd_installed lxcfs
    echo docker > "$ND_STATE/member-stack"
    run nd_phase stack pre-install
    [ "$status" -eq 0 ]
    [ -z "$(nd_calls '^usermod')" ]
    # only the plugin's own drop-in for lxcfs.service
    [ "$(cat "$NOVA_DOCKER_STATE_DIR/installed")" = \
        "file $NOVA_DOCKER_SYSTEMD_DIR/lxcfs.service.d/nova-docker.conf" ]
}

@test "pre-install: creates the docker group when no package did" {
    : > "$ND_STATE/groups"
    run nd_phase stack pre-install
    [ "$status" -eq 0 ]
    nd_calls '^groupadd --system docker$' | grep -q .
    grep -qxF "group docker" "$NOVA_DOCKER_STATE_DIR/installed"
}

@test "pre-install: never opens the Docker socket to everyone" {
    run nd_phase stack pre-install
    [ "$status" -eq 0 ]
    [ -z "$(nd_calls 'docker\.sock' | grep -vE ' (version|info .*)$')" ]
    [ -z "$(nd_calls '^(chmod|chown|setfacl)')" ]
    run grep -nE 'chmod|chown|setfacl' "$ND_REPO/devstack/lib/nova_docker"
    [[ "$output" != *docker.sock* ]]
    [[ "$output" != *666* && "$output" != *777* && "$output" != *o+* ]]
}

@test "pre-install: twice gives the same files" {
    run_stack pre-install
    nd_snapshot "$BATS_TEST_TMPDIR/one"
    cp "$NOVA_DOCKER_STATE_DIR/installed" "$BATS_TEST_TMPDIR/one/state"
    run_stack pre-install
    nd_snapshot "$BATS_TEST_TMPDIR/two"
    cmp "$BATS_TEST_TMPDIR/one/state" "$NOVA_DOCKER_STATE_DIR/installed"
    diff -r "$BATS_TEST_TMPDIR/one/files" "$BATS_TEST_TMPDIR/two/files"
}

# --- pre-install: LXCFS ---------------------------------------------------

LXCFS_DROPIN=etc/systemd/system/lxcfs.service.d/nova-docker.conf

@test "pre-install: LXCFS installed and run with --enable-cfs, until mounted" {
    run nd_phase stack pre-install
    [ "$status" -eq 0 ]
    nd_calls '^apt-get .*install lxcfs$' | grep -q .
    grep -qxF "package lxcfs" "$NOVA_DOCKER_STATE_DIR/installed"
    local dropin=$ND_ROOT/$LXCFS_DROPIN
    grep -qxF "file $dropin" "$NOVA_DOCKER_STATE_DIR/installed"
    # the distribution's ExecStart replaced, not added to
    [ "$(grep -c '^ExecStart=' "$dropin")" -eq 2 ]
    grep -qxF 'ExecStart=' "$dropin"
    grep -qxF 'ExecStart=/usr/bin/lxcfs --enable-cfs --enable-loadavg /var/lib/lxcfs' "$dropin"
    grep -qxF 'ConditionVirtualization=' "$dropin"
    [ "$(stat -c %a "$dropin")" = 644 ]
    # the package started it without the options: restarted with them
    nd_calls '^systemctl daemon-reload$' | grep -q .
    nd_calls '^systemctl enable lxcfs$' | grep -q .
    nd_calls '^systemctl restart lxcfs$' | grep -q .
    grep -q ' /var/lib/lxcfs .* - fuse.lxcfs ' "$NOVA_DOCKER_MOUNTINFO"
}

@test "pre-install: LXCFS again, unchanged, is only started" {
    run_stack pre-install
    : > "$ND_CALLS"
    run nd_phase stack pre-install
    [ "$status" -eq 0 ]
    nd_calls '^systemctl start lxcfs$' | grep -q .
    [ -z "$(nd_calls '^systemctl (restart lxcfs|daemon-reload)')" ]
    [ -z "$(nd_calls '^apt-get .*install lxcfs')" ]
    [ "$(grep -c lxcfs "$NOVA_DOCKER_STATE_DIR/installed")" -eq 2 ]
}

@test "pre-install: other LXCFS options restart it with them" {
    run_stack pre-install
    : > "$ND_CALLS"
    NOVA_DOCKER_LXCFS_OPTIONS=--enable-cfs
    run nd_phase stack pre-install
    [ "$status" -eq 0 ]
    grep -qxF 'ExecStart=/usr/bin/lxcfs --enable-cfs /var/lib/lxcfs' "$ND_ROOT/$LXCFS_DROPIN"
    nd_calls '^systemctl restart lxcfs$' | grep -q .
}

@test "pre-install: dies clearly when LXCFS does not mount" {
    touch "$ND_STATE/lxcfs-broken"
    NOVA_DOCKER_WAIT_TIMEOUT=1
    run nd_phase stack pre-install
    [ "$status" -ne 0 ]
    [[ "$output" == *"LXCFS did not mount /var/lib/lxcfs within 1s"*"NOVA_DOCKER_LXCFS=False"* ]]
}

@test "pre-install: LXCFS's directory without its file system is not enough" {
    touch "$ND_STATE/lxcfs-broken"
    echo "45 22 0:50 / /var/lib/lxcfs rw - tmpfs tmpfs rw" >> "$NOVA_DOCKER_MOUNTINFO"
    NOVA_DOCKER_WAIT_TIMEOUT=1
    run nd_phase stack pre-install
    [ "$status" -ne 0 ]
    [[ "$output" == *"LXCFS did not mount"* ]]
}

@test "pre-install: NOVA_DOCKER_LXCFS=False, or no n-cpu: no LXCFS" {
    NOVA_DOCKER_LXCFS=False
    run nd_phase stack pre-install
    [ "$status" -eq 0 ]
    [ -z "$(nd_calls ' lxcfs$')" ]
    [ ! -e "$ND_ROOT/$LXCFS_DROPIN" ]
    NOVA_DOCKER_LXCFS=True ENABLED_SERVICES=key,g-api,mysql
    run nd_phase stack pre-install
    [ "$status" -eq 0 ]
    [ -z "$(nd_calls ' lxcfs$')" ]
}

# --- pre-install: the engine's options -------------------------------------

# xfs_data_root: the XFS data root under the test's root
xfs_data_root() {
    NOVA_DOCKER_XFS_DATA_ROOT=True
    NOVA_DOCKER_XFS_DATA_ROOT_DIR=$ND_ROOT/var/lib/docker-xfs
    NOVA_DOCKER_XFS_DATA_ROOT_FILE=$ND_ROOT/var/lib/docker-xfs.img
    XFS_DIR=$NOVA_DOCKER_XFS_DATA_ROOT_DIR
    XFS_FILE=$NOVA_DOCKER_XFS_DATA_ROOT_FILE
    DATA_ROOT_DROPIN=$NOVA_DOCKER_SYSTEMD_DIR/docker.service.d/nova-docker-data-root.conf
}

# daemon_json <key>: the value daemon.json holds for it
daemon_json() {
    python3 -c 'import json, sys; print(json.load(open(sys.argv[1])).get(sys.argv[2], ""))' \
        "$NOVA_DOCKER_DAEMON_JSON" "$1"
}

# subids <user>: the user owns subordinate uids and gids
subids() {
    echo "$1:100000:65536" >> "$ND_ENGINE_SUBUID"
    echo "$1:100000:65536" >> "$ND_ENGINE_SUBGID"
}

@test "engine options: by default no XFS data root; an empty engine remapped" {
    [ "$NOVA_DOCKER_XFS_DATA_ROOT" = False ]
    [ "$NOVA_DOCKER_USERNS_REMAP" = auto ]
    [ "$NOVA_DOCKER_ENGINE_LEAVE_CONTENTS" = False ]
    [ -z "$NOVA_DOCKER_ROOT_DISK_QUOTA" ]
    run nd_phase stack pre-install
    [ "$status" -eq 0 ]
    [ "$(daemon_json userns-remap)" = default ]
    [ -z "$(daemon_json data-root)" ]
    [ "$(nd_calls '^systemctl restart docker$' | wc -l)" -eq 1 ]
    [[ "$output" == *"ok: the Docker engine remaps user namespaces"* ]]
    [ -z "$(nd_calls '^(mount|apt-get .*xfsprogs|docker .*create)')" ]
}

@test "userns-remap auto: an engine that holds anything is left as it is, said so" {
    echo "0 2" > "$ND_STATE/docker-counts"
    run nd_phase stack pre-install
    [ "$status" -eq 0 ]
    [[ "$output" == *"WARNING: the Docker engine holds 0 containers and 2 images: left without userns-remap (NOVA_DOCKER_USERNS_REMAP=auto)"* ]]
    [ ! -e "$NOVA_DOCKER_DAEMON_JSON" ]
    [ -z "$(nd_calls '^systemctl restart docker')" ]
}

@test "userns-remap off: the engine left as it is" {
    NOVA_DOCKER_USERNS_REMAP=off
    run nd_phase stack pre-install
    [ "$status" -eq 0 ]
    [ ! -e "$NOVA_DOCKER_DAEMON_JSON" ]
    [ -z "$(nd_calls '^(systemctl restart docker|mount|apt-get .*xfsprogs|docker .*(info|create))')" ]
}

@test "post-config: the XFS data root makes root_disk_quota enforce, unless set" {
    NOVA_DOCKER_XFS_DATA_ROOT=True
    run nd_phase stack post-config
    [ "$status" -eq 0 ]
    iniget "$NOVA_CPU_CONF" docker root_disk_quota | grep -qx enforce
    NOVA_DOCKER_ROOT_DISK_QUOTA=warn
    run nd_phase stack post-config
    [ "$status" -eq 0 ]
    iniget "$NOVA_CPU_CONF" docker root_disk_quota | grep -qx warn
}

@test "XFS data root: a sparse XFS file mounted with pquota, in fstab, the engine on it" {
    xfs_data_root
    run nd_phase stack pre-install
    [ "$status" -eq 0 ]
    nd_calls '^apt-get .*install xfsprogs$' | grep -q .
    grep -qxF "package xfsprogs" "$NOVA_DOCKER_STATE_DIR/installed"
    # the file: root's only, sparse, XFS with the d_type overlay2 needs
    [ "$(stat -c '%a %s' "$XFS_FILE")" = "600 $((20 * 1024 ** 3))" ]
    [ "$(du -k "$XFS_FILE" | cut -f1)" -lt $((1024 * 1024)) ]
    [ "$(blkid -p -o value -s TYPE "$XFS_FILE")" = xfs ]
    xfs_db -r -c version "$XFS_FILE" | grep -q ',FTYPE,'
    nd_calls "^mount -t xfs -o loop,pquota $XFS_FILE $XFS_DIR$" | grep -q .
    [ "$(stat -c %a "$XFS_DIR")" = 711 ]
    # kept across reboots, and the engine starts only once it is mounted
    grep -qxF "$XFS_FILE $XFS_DIR xfs loop,pquota,nofail 0 0" "$NOVA_DOCKER_FSTAB"
    grep -qxF "RequiresMountsFor=$XFS_DIR" "$DATA_ROOT_DROPIN"
    nd_calls '^systemctl daemon-reload$' | grep -q .
    # the engine restarted on it, then a root disk size asked of it
    [ "$(daemon_json data-root)" = "$XFS_DIR" ]
    [ "$(daemon_json storage-driver)" = overlay2 ]
    [ "$(nd_calls '^systemctl restart docker$' | wc -l)" -eq 1 ]
    nd_calls '^docker --host unix:///var/run/docker.sock create --storage-opt size=1G nova-docker/quota-probe:[0-9]+ true$' | grep -q .
    [[ "$output" == *"ok: the Docker engine limits root disks"* ]]
    # the probe's image is gone again
    run ! grep -q quota-probe "$ND_STATE/docker-images"
}

@test "XFS data root: a second run changes nothing" {
    xfs_data_root
    run_stack pre-install
    local before
    before=$(stat -c '%Y' "$XFS_FILE" "$NOVA_DOCKER_FSTAB" "$NOVA_DOCKER_DAEMON_JSON")
    : > "$ND_CALLS"
    run nd_phase stack pre-install
    [ "$status" -eq 0 ]
    [ -z "$(nd_calls '^(systemctl restart docker|mount|truncate|mkfs|install )')" ]
    [ "$(stat -c '%Y' "$XFS_FILE" "$NOVA_DOCKER_FSTAB" "$NOVA_DOCKER_DAEMON_JSON")" = "$before" ]
    [ "$(grep -c docker-xfs "$NOVA_DOCKER_FSTAB")" -eq 1 ]
    # the engine is still checked
    nd_calls ' create --storage-opt size=1G ' | grep -q .
}

@test "XFS data root: daemon.json keeps its other settings" {
    xfs_data_root
    mkdir -p "${NOVA_DOCKER_DAEMON_JSON%/*}"
    echo '{"log-driver": "journald", "data-root": "/srv/docker"}' > "$NOVA_DOCKER_DAEMON_JSON"
    echo "/dev/vdb /srv xfs defaults 0 0" > "$NOVA_DOCKER_FSTAB"
    run nd_phase stack pre-install
    [ "$status" -eq 0 ]
    [ "$(daemon_json log-driver)" = journald ]
    [ "$(daemon_json data-root)" = "$XFS_DIR" ]
    grep -qxF "/dev/vdb /srv xfs defaults 0 0" "$NOVA_DOCKER_FSTAB"
}

@test "XFS data root: a daemon.json that is not JSON is refused, left as it is" {
    xfs_data_root
    mkdir -p "${NOVA_DOCKER_DAEMON_JSON%/*}"
    echo '{"log-driver": ' > "$NOVA_DOCKER_DAEMON_JSON"
    run nd_phase stack pre-install
    [ "$status" -ne 0 ]
    [[ "$output" == *"$NOVA_DOCKER_DAEMON_JSON is not valid JSON"*"fix it first"* ]]
    [ "$(cat "$NOVA_DOCKER_DAEMON_JSON")" = '{"log-driver": ' ]
    [ ! -e "$XFS_FILE" ]
    [ -z "$(nd_calls '^(systemctl restart docker|mount)')" ]
    echo '["data-root"]' > "$NOVA_DOCKER_DAEMON_JSON"
    run nd_phase stack pre-install
    [ "$status" -ne 0 ]
    [[ "$output" == *"holds no JSON object"* ]]
}

@test "XFS data root: a size that is not a size is refused before anything" {
    xfs_data_root
    local size
    for size in abc 20GB 0G -1G 512M 1.5G "" 20g; do
        NOVA_DOCKER_XFS_DATA_ROOT_SIZE=$size
        run nd_phase stack pre-install
        [ "$status" -ne 0 ]
        [[ "$output" == *"NOVA_DOCKER_XFS_DATA_ROOT_SIZE must be a size such as 20G"*"at least 1G"*"not '$size'"* ]]
    done
    [ ! -e "$XFS_FILE" ]
    [ -z "$(nd_calls '^(apt-get|systemctl|mount)')" ]
    NOVA_DOCKER_XFS_DATA_ROOT_SIZE=1G
    run nd_phase stack pre-install
    [ "$status" -eq 0 ]
    [ "$(stat -c %s "$XFS_FILE")" = $((1024 ** 3)) ]
}

@test "XFS data root: bad paths and switches are refused before anything" {
    xfs_data_root
    NOVA_DOCKER_XFS_DATA_ROOT_DIR=var/lib/docker-xfs
    run nd_phase stack pre-install
    [ "$status" -ne 0 ]
    [[ "$output" == *"NOVA_DOCKER_XFS_DATA_ROOT_DIR must be an absolute path"*"not 'var/lib/docker-xfs'"* ]]
    NOVA_DOCKER_XFS_DATA_ROOT_DIR="/var/lib/docker xfs"
    run nd_phase stack pre-install
    [ "$status" -ne 0 ]
    [[ "$output" == *"must be an absolute path without blanks"* ]]
    NOVA_DOCKER_XFS_DATA_ROOT_DIR=$XFS_DIR NOVA_DOCKER_XFS_DATA_ROOT_FILE=$XFS_DIR/disk.img
    run nd_phase stack pre-install
    [ "$status" -ne 0 ]
    [[ "$output" == *"NOVA_DOCKER_XFS_DATA_ROOT_FILE ($XFS_DIR/disk.img) cannot be in the directory it is mounted at"* ]]
    NOVA_DOCKER_XFS_DATA_ROOT_FILE=$XFS_FILE NOVA_DOCKER_XFS_DATA_ROOT=yes
    run nd_phase stack pre-install
    [ "$status" -ne 0 ]
    [[ "$output" == *"NOVA_DOCKER_XFS_DATA_ROOT must be True or False, not 'yes'"* ]]
    NOVA_DOCKER_XFS_DATA_ROOT=True NOVA_DOCKER_ENGINE_LEAVE_CONTENTS=1
    run nd_phase stack pre-install
    [ "$status" -ne 0 ]
    [[ "$output" == *"NOVA_DOCKER_ENGINE_LEAVE_CONTENTS must be True or False, not '1'"* ]]
    [ -z "$(nd_calls '^(apt-get|systemctl|mount)')" ]
}

@test "XFS data root: an engine with containers or images is not moved off them" {
    xfs_data_root
    echo "2 3" > "$ND_STATE/docker-counts"
    run nd_phase stack pre-install
    [ "$status" -ne 0 ]
    [[ "$output" == *"The Docker engine holds 2 containers and 3 images in /var/lib/docker"*"no longer see them"*"NOVA_DOCKER_ENGINE_LEAVE_CONTENTS=True"* ]]
    [ ! -e "$XFS_FILE" ] && [ ! -e "$NOVA_DOCKER_DAEMON_JSON" ] && [ ! -e "$NOVA_DOCKER_FSTAB" ]
    [ -z "$(nd_calls '^(systemctl restart docker|mount)')" ]
    # another storage driver alone would hide them too
    mkdir -p "${NOVA_DOCKER_DAEMON_JSON%/*}"
    echo "{\"data-root\": \"$XFS_DIR\", \"storage-driver\": \"vfs\"}" > "$NOVA_DOCKER_DAEMON_JSON"
    run nd_phase stack pre-install
    [ "$status" -ne 0 ]
    [[ "$output" == *"holds 2 containers and 3 images"* ]]
    [ "$(daemon_json storage-driver)" = vfs ]
    rm "$NOVA_DOCKER_DAEMON_JSON"
    # the operator agrees: they stay in /var/lib/docker, unseen
    NOVA_DOCKER_ENGINE_LEAVE_CONTENTS=True
    run nd_phase stack pre-install
    [ "$status" -eq 0 ]
    [ "$(daemon_json data-root)" = "$XFS_DIR" ]
}

@test "XFS data root: a file there that is not XFS is refused and kept" {
    xfs_data_root
    mkdir -p "${XFS_FILE%/*}"
    echo "someone's data" > "$XFS_FILE"
    run nd_phase stack pre-install
    [ "$status" -ne 0 ]
    [[ "$output" == *"$XFS_FILE exists and holds no file system, not XFS: move it away"* ]]
    [ "$(cat "$XFS_FILE")" = "someone's data" ]
    if command -v mkfs.ext4 > /dev/null; then
        truncate -s 64M "$XFS_FILE" && mkfs.ext4 -q "$XFS_FILE"
        run nd_phase stack pre-install
        [ "$status" -ne 0 ]
        [[ "$output" == *"holds ext4, not XFS"* ]]
    fi
    [ -z "$(nd_calls '^(mount|mkfs)')" ]
}

@test "XFS data root: an XFS file there is used as it is, not made again" {
    xfs_data_root
    mkdir -p "${XFS_FILE%/*}"
    truncate -s 2G "$XFS_FILE" && mkfs.xfs -q "$XFS_FILE"
    local uuid
    uuid=$(blkid -p -o value -s UUID "$XFS_FILE")
    run nd_phase stack pre-install
    [ "$status" -eq 0 ]
    [[ "$output" == *"ok: $XFS_FILE holds XFS (kept, with its own size)"* ]]
    [ "$(blkid -p -o value -s UUID "$XFS_FILE")" = "$uuid" ]
    [ "$(stat -c %s "$XFS_FILE")" = $((2 * 1024 ** 3)) ]
    nd_calls "^mount -t xfs -o loop,pquota $XFS_FILE $XFS_DIR$" | grep -q .
}

@test "XFS data root: an XFS with pquota mounted there already is used, no file made" {
    xfs_data_root
    echo "70 22 8:16 / $XFS_DIR rw,relatime - xfs /dev/vdb rw,attr2,inode64,prjquota" >> "$NOVA_DOCKER_MOUNTINFO"
    run nd_phase stack pre-install
    [ "$status" -eq 0 ]
    [[ "$output" == *"ok: $XFS_DIR is XFS with project quotas"* ]]
    [ ! -e "$XFS_FILE" ] && [ ! -e "$NOVA_DOCKER_FSTAB" ]
    [ -z "$(nd_calls '^mount')" ]
    [ "$(daemon_json data-root)" = "$XFS_DIR" ]
}

@test "XFS data root: another file system there, or XFS without pquota, is refused" {
    xfs_data_root
    echo "70 22 8:16 / $XFS_DIR rw,relatime - xfs /dev/vdb rw,attr2,inode64,noquota" >> "$NOVA_DOCKER_MOUNTINFO"
    run nd_phase stack pre-install
    [ "$status" -ne 0 ]
    [[ "$output" == *"$XFS_DIR is XFS mounted without project quotas (rw,attr2,inode64,noquota): mount it with -o pquota"* ]]
    echo "71 22 8:16 / $XFS_DIR rw,relatime - ext4 /dev/vdb rw" >> "$NOVA_DOCKER_MOUNTINFO"
    run nd_phase stack pre-install
    [ "$status" -ne 0 ]
    [[ "$output" == *"$XFS_DIR is a ext4 mount, not an XFS mount"* ]]
    [ ! -e "$NOVA_DOCKER_DAEMON_JSON" ]
    [ -z "$(nd_calls '^(mount|systemctl restart docker)')" ]
}

@test "XFS data root: a kernel that refuses pquota: a clear error, nothing persisted" {
    xfs_data_root
    touch "$ND_STATE/xfs-no-quota"
    ND_ENGINE_XQMSTAT=$ND_STATE/no-xqmstat
    run nd_phase stack pre-install
    [ "$status" -ne 0 ]
    [[ "$output" == *"Could not mount $XFS_FILE at $XFS_DIR with project quotas (pquota): this kernel lacks XFS quota support (CONFIG_XFS_QUOTA"* ]]
    [ ! -e "$NOVA_DOCKER_FSTAB" ] && [ ! -e "$DATA_ROOT_DROPIN" ] && [ ! -e "$NOVA_DOCKER_DAEMON_JSON" ]
    [ -z "$(nd_calls '^systemctl restart docker')" ]
}

@test "XFS data root: a mount without prjquota is caught before the engine moves" {
    xfs_data_root
    touch "$ND_STATE/xfs-noquota-mount"
    run nd_phase stack pre-install
    [ "$status" -ne 0 ]
    [[ "$output" == *"$XFS_DIR is XFS mounted without project quotas"* ]]
    [ -z "$(nd_calls '^systemctl restart docker')" ]
}

@test "XFS data root: an engine that cannot limit root disks on it: a clear error" {
    xfs_data_root
    touch "$ND_STATE/docker-no-quota"
    run nd_phase stack pre-install
    [ "$status" -ne 0 ]
    [[ "$output" == *"The Docker engine cannot limit a container's root disk: Error response from daemon: --storage-opt is supported only for overlay over xfs with 'pquota' mount option"* ]]
    run ! grep -q quota-probe "$ND_STATE/docker-images"
}

@test "XFS data root: an engine that ignores daemon.json: a clear error" {
    xfs_data_root
    touch "$ND_STATE/docker-ignores-config"
    run nd_phase stack pre-install
    [ "$status" -ne 0 ]
    [[ "$output" == *"The Docker engine runs overlay2 in '/var/lib/docker', not overlay2 in $XFS_DIR"*"--data-root"* ]]
}

@test "XFS data root: fstab mounting something else there is refused" {
    xfs_data_root
    echo "/dev/vdc $XFS_DIR ext4 defaults 0 2" > "$NOVA_DOCKER_FSTAB"
    run nd_phase stack pre-install
    [ "$status" -ne 0 ]
    [[ "$output" == *"$NOVA_DOCKER_FSTAB mounts something else at $XFS_DIR"* ]]
    [ "$(cat "$NOVA_DOCKER_FSTAB")" = "/dev/vdc $XFS_DIR ext4 defaults 0 2" ]
}

@test "userns-remap: default written, the engine restarted and remapping" {
    NOVA_DOCKER_USERNS_REMAP=default
    run nd_phase stack pre-install
    [ "$status" -eq 0 ]
    [ "$(daemon_json userns-remap)" = default ]
    [ -z "$(daemon_json data-root)" ]
    [ "$(nd_calls '^systemctl restart docker$' | wc -l)" -eq 1 ]
    [[ "$output" == *"ok: the Docker engine remaps user namespaces"* ]]
    : > "$ND_CALLS"
    run nd_phase stack pre-install
    [ "$status" -eq 0 ]
    [ -z "$(nd_calls '^systemctl restart docker')" ]
}

@test "userns-remap: a user with subordinate ids; bad values refused before anything" {
    echo remap >> "$ND_STATE/users"
    NOVA_DOCKER_USERNS_REMAP=remap
    run nd_phase stack pre-install
    [ "$status" -ne 0 ]
    [[ "$output" == *"NOVA_DOCKER_USERNS_REMAP: 'remap' owns no subordinate ids in $ND_ENGINE_SUBUID and $ND_ENGINE_SUBGID"* ]]
    NOVA_DOCKER_USERNS_REMAP=nobody-here
    run nd_phase stack pre-install
    [ "$status" -ne 0 ]
    [[ "$output" == *"NOVA_DOCKER_USERNS_REMAP: no user 'nobody-here'"* ]]
    NOVA_DOCKER_USERNS_REMAP=remap:nogroup-here
    run nd_phase stack pre-install
    [ "$status" -ne 0 ]
    [[ "$output" == *"NOVA_DOCKER_USERNS_REMAP: no group 'nogroup-here'"* ]]
    NOVA_DOCKER_USERNS_REMAP='remap;rm'
    run nd_phase stack pre-install
    [ "$status" -ne 0 ]
    [[ "$output" == *"NOVA_DOCKER_USERNS_REMAP must be 'auto', 'off', 'default' or user[:group], not 'remap;rm'"* ]]
    [ ! -e "$NOVA_DOCKER_DAEMON_JSON" ]
    [ -z "$(nd_calls '^(apt-get|systemctl)')" ]
    subids remap
    NOVA_DOCKER_USERNS_REMAP=remap
    run nd_phase stack pre-install
    [ "$status" -eq 0 ]
    [ "$(daemon_json userns-remap)" = remap ]
}

@test "userns-remap: an engine with containers is not remapped away from them" {
    echo "1 0" > "$ND_STATE/docker-counts"
    NOVA_DOCKER_USERNS_REMAP=default
    run nd_phase stack pre-install
    [ "$status" -ne 0 ]
    [[ "$output" == *"holds 1 containers and 0 images"* ]]
    [ ! -e "$NOVA_DOCKER_DAEMON_JSON" ]
}

@test "userns-remap: an engine that does not remap: a clear error" {
    NOVA_DOCKER_USERNS_REMAP=default
    touch "$ND_STATE/docker-ignores-config"
    run nd_phase stack pre-install
    [ "$status" -ne 0 ]
    [[ "$output" == *"does not remap user namespaces although $NOVA_DOCKER_DAEMON_JSON sets userns-remap"* ]]
}

@test "XFS data root and userns-remap: one restart, the remapped root on XFS" {
    xfs_data_root
    NOVA_DOCKER_USERNS_REMAP=default
    # as stack.sh runs it, with nounset
    export ND_NOUNSET=1
    run nd_phase stack pre-install
    [ "$status" -eq 0 ]
    [ "$(daemon_json data-root)" = "$XFS_DIR" ]
    [ "$(daemon_json userns-remap)" = default ]
    [ "$(nd_calls '^systemctl restart docker$' | wc -l)" -eq 1 ]
    [[ "$output" == *"ok: the Docker engine limits root disks"*"ok: the Docker engine remaps user namespaces"* ]]
}

# --- nova_docker_wait_for_engine ------------------------------------------

@test "nova_docker_wait_for_engine: dies with a clear message when the engine hangs" {
    nd_docker hang
    NOVA_DOCKER_WAIT_TIMEOUT=2
    SECONDS=0
    run nd_phase stack pre-install
    [ "$status" -ne 0 ]
    [[ "$output" == *"did not answer within 2s"*"NOVA_DOCKER_WAIT_TIMEOUT"* ]]
    [ "$SECONDS" -lt 15 ]
}

@test "nova_docker_wait_for_engine: dies when the engine is down" {
    nd_docker down
    NOVA_DOCKER_WAIT_TIMEOUT=1
    run nd_phase stack pre-install
    [ "$status" -ne 0 ]
    [[ "$output" == *"Docker engine at unix:///var/run/docker.sock did not answer"* ]]
}

@test "nova_docker_wait_for_engine: returns once the engine answers" {
    source "$ND_REPO/devstack/lib/nova_docker"
    nd_docker down
    (sleep 2; nd_docker up) &
    NOVA_DOCKER_WAIT_TIMEOUT=20
    run nova_docker_wait_for_engine
    wait
    [ "$status" -eq 0 ]
    [ "$(nd_calls ' version$' | wc -l)" -ge 2 ]
}

# --- install ---------------------------------------------------------------

@test "install: setup_develop with upper-constraints, into DevStack's venv" {
    run nd_phase stack install
    [ "$status" -eq 0 ]
    nd_calls "^edit-constraints $REQUIREMENTS_DIR/upper-constraints.txt -- novadocker$" | grep -q .
    nd_calls "^pip install -c $REQUIREMENTS_DIR/upper-constraints.txt .*-e $ND_REPO$" | grep -q .
}

@test "install: dies when the driver did not get installed" {
    export ND_PIP_FAIL=1
    run nd_phase stack install
    [ "$status" -ne 0 ]
    [[ "$output" == *"nova-docker"*"$ND_REPO"* ]]
}

@test "install: nothing on a node without n-cpu" {
    ENABLED_SERVICES=key,g-api,mysql
    run nd_phase stack install
    [ "$status" -eq 0 ]
    [ ! -s "$ND_CALLS" ]
}

# --- post-config -----------------------------------------------------------

@test "post-config: compute_driver and [docker] in nova.conf and nova-cpu.conf" {
    run nd_phase stack post-config
    [ "$status" -eq 0 ]
    for conf in "$NOVA_CONF" "$NOVA_CPU_CONF"; do
        [ "$(iniget "$conf" DEFAULT compute_driver)" = docker.DockerDriver ]
        [ "$(iniget "$conf" docker api_url)" = unix:///var/run/docker.sock ]
        [ -z "$(iniget "$conf" docker pids_limit)" ]
        [ -z "$(iniget "$conf" docker root_disk_quota)" ]
    done
}

@test "post-config: [docker] options from plugin variables" {
    NOVA_DOCKER_API_URL=tcp://10.0.0.5:2375 NOVA_DOCKER_API_TIMEOUT=30 \
        NOVA_DOCKER_PIDS_LIMIT=256 NOVA_DOCKER_SOFT_REBOOT_TIMEOUT=5 \
        NOVA_DOCKER_ROOT_DISK_QUOTA=enforce
    run nd_phase stack post-config
    [ "$status" -eq 0 ]
    [ "$(iniget "$NOVA_CPU_CONF" docker api_url)" = tcp://10.0.0.5:2375 ]
    [ "$(iniget "$NOVA_CPU_CONF" docker api_timeout)" = 30 ]
    [ "$(iniget "$NOVA_CPU_CONF" docker pids_limit)" = 256 ]
    [ "$(iniget "$NOVA_CPU_CONF" docker soft_reboot_timeout)" = 5 ]
    [ "$(iniget "$NOVA_CPU_CONF" docker root_disk_quota)" = enforce ]
}

@test "post-config: [docker] lxcfs_path, empty with NOVA_DOCKER_LXCFS=False" {
    run nd_phase stack post-config
    [ "$status" -eq 0 ]
    for conf in "$NOVA_CONF" "$NOVA_CPU_CONF"; do
        [ "$(iniget "$conf" docker lxcfs_path)" = /var/lib/lxcfs ]
    done
    NOVA_DOCKER_LXCFS=False
    run nd_phase stack post-config
    [ "$status" -eq 0 ]
    for conf in "$NOVA_CONF" "$NOVA_CPU_CONF"; do
        ini_has_option "$conf" docker lxcfs_path
        [ -z "$(iniget "$conf" docker lxcfs_path)" ]
    done
}

@test "post-config: keeps what nova.conf already has" {
    printf '[DEFAULT]\ndebug = True\ncompute_driver = libvirt.LibvirtDriver\n\n[api]\nauth_strategy = keystone\n' > "$NOVA_CONF"
    run nd_phase stack post-config
    [ "$status" -eq 0 ]
    [ "$(iniget "$NOVA_CONF" DEFAULT compute_driver)" = docker.DockerDriver ]
    [ "$(iniget "$NOVA_CONF" DEFAULT debug)" = True ]
    [ "$(iniget "$NOVA_CONF" api auth_strategy)" = keystone ]
    [ "$(grep -c compute_driver "$NOVA_CONF")" -eq 1 ]
}

@test "post-config: rootwrap filter installed root-owned 0644, unchanged" {
    run nd_phase stack post-config
    [ "$status" -eq 0 ]
    local filter=$NOVA_CONF_DIR/rootwrap.d/docker.filters
    cmp "$ND_REPO/etc/nova/rootwrap.d/docker.filters" "$filter"
    [ "$(stat -c %a "$filter")" = 644 ]
    if [ "$(id -u)" = 0 ]; then
        [ "$(stat -c %U:%G "$filter")" = root:root ]
    fi
}

@test "post-config: glance default container_formats already has docker" {
    printf '[DEFAULT]\ndebug = True\n' > "$GLANCE_API_CONF"
    cp "$GLANCE_API_CONF" "$BATS_TEST_TMPDIR/before"
    run nd_phase stack post-config
    [ "$status" -eq 0 ]
    cmp "$BATS_TEST_TMPDIR/before" "$GLANCE_API_CONF"
}

@test "post-config: glance explicit list without docker gets docker added" {
    printf '[DEFAULT]\ndebug = True\n\n[image_format]\ncontainer_formats = ami,ari,aki,bare,ovf\ndisk_formats = raw,qcow2\n' > "$GLANCE_API_CONF"
    run nd_phase stack post-config
    [ "$status" -eq 0 ]
    [ "$(iniget "$GLANCE_API_CONF" image_format container_formats)" = ami,ari,aki,bare,ovf,docker ]
    [ "$(iniget "$GLANCE_API_CONF" image_format disk_formats)" = raw,qcow2 ]
    [ -z "$(iniget "$GLANCE_API_CONF" DEFAULT container_formats)" ]
}

@test "post-config: glance explicit list with docker is left alone" {
    printf '[image_format]\ncontainer_formats = bare, docker\n' > "$GLANCE_API_CONF"
    cp "$GLANCE_API_CONF" "$BATS_TEST_TMPDIR/before"
    run nd_phase stack post-config
    [ "$status" -eq 0 ]
    cmp "$BATS_TEST_TMPDIR/before" "$GLANCE_API_CONF"
}

@test "post-config: glance deprecated [DEFAULT] list is carried over, not written" {
    printf '[DEFAULT]\ncontainer_formats = ami,bare,ova\n' > "$GLANCE_API_CONF"
    run nd_phase stack post-config
    [ "$status" -eq 0 ]
    [ "$(iniget "$GLANCE_API_CONF" image_format container_formats)" = ami,bare,ova,docker ]
    [ "$(iniget "$GLANCE_API_CONF" DEFAULT container_formats)" = ami,bare,ova ]
}

@test "post-config: ML2/OVS node: os-vif's OVSDB is the agent's, vif plugging passed through" {
    ENABLED_SERVICES+=,q-svc,q-agt VIF_PLUGGING_IS_FATAL=True VIF_PLUGGING_TIMEOUT=300
    run nd_phase stack post-config
    [ "$status" -eq 0 ]
    for conf in "$NOVA_CONF" "$NOVA_CPU_CONF"; do
        [ "$(iniget "$conf" os_vif_ovs ovsdb_connection)" = tcp:127.0.0.1:6640 ]
        [ "$(iniget "$conf" DEFAULT vif_plugging_is_fatal)" = True ]
        [ "$(iniget "$conf" DEFAULT vif_plugging_timeout)" = 300 ]
    done
}

@test "post-config: OVN node: the OVSDB lib/nova would name, IPv6 too" {
    ENABLED_SERVICES+=,ovn-controller OVSDB_SERVER_LOCAL_HOST=[::1]
    VIF_PLUGGING_IS_FATAL=False VIF_PLUGGING_TIMEOUT=30
    run nd_phase stack post-config
    [ "$status" -eq 0 ]
    [ "$(iniget "$NOVA_CPU_CONF" os_vif_ovs ovsdb_connection)" = "tcp:[::1]:6640" ]
    [ "$(iniget "$NOVA_CPU_CONF" DEFAULT vif_plugging_is_fatal)" = False ]
    [ "$(iniget "$NOVA_CPU_CONF" DEFAULT vif_plugging_timeout)" = 30 ]
}

@test "post-config: NOVA_DOCKER_OVSDB_CONNECTION wins" {
    ENABLED_SERVICES+=,q-agt OVSDB_SERVER_LOCAL_HOST=10.0.0.5
    NOVA_DOCKER_OVSDB_CONNECTION=unix:/run/openvswitch/db.sock
    run nd_phase stack post-config
    [ "$status" -eq 0 ]
    [ "$(iniget "$NOVA_CPU_CONF" os_vif_ovs ovsdb_connection)" = unix:/run/openvswitch/db.sock ]
}

@test "post-config: no OVS on the node, no networking options" {
    VIF_PLUGGING_IS_FATAL=True VIF_PLUGGING_TIMEOUT=300
    run nd_phase stack post-config
    [ "$status" -eq 0 ]
    [ -z "$(iniget "$NOVA_CPU_CONF" os_vif_ovs ovsdb_connection)" ]
    [ -z "$(iniget "$NOVA_CPU_CONF" DEFAULT vif_plugging_timeout)" ]
}

@test "post-config: vif plugging left to nova's defaults when DevStack sets none" {
    ENABLED_SERVICES+=,q-agt
    unset VIF_PLUGGING_IS_FATAL VIF_PLUGGING_TIMEOUT
    ND_NOUNSET=1 run nd_phase stack post-config
    [ "$status" -eq 0 ]
    [ "$(iniget "$NOVA_CPU_CONF" os_vif_ovs ovsdb_connection)" = tcp:127.0.0.1:6640 ]
    [ -z "$(iniget "$NOVA_CPU_CONF" DEFAULT vif_plugging_is_fatal)" ]
}

@test "post-config: serial console (n-sproxy): the listeners' address and a terminal" {
    ENABLED_SERVICES+=,n-sproxy HOST_IP=192.0.2.10
    run nd_phase stack post-config
    [ "$status" -eq 0 ]
    for conf in "$NOVA_CONF" "$NOVA_CPU_CONF"; do
        [ "$(iniget "$conf" serial_console proxyclient_address)" = 192.0.2.10 ]
        [ "$(iniget "$conf" docker console_tty)" = True ]
        # lib/nova's own, written when n-cpu starts: not the plugin's
        [ -z "$(iniget "$conf" serial_console enabled)" ]
        [ -z "$(iniget "$conf" serial_console base_url)" ]
        [ -z "$(iniget "$conf" serial_console port_range)" ]
    done
}

@test "post-config: serial console on a subnode (NOVA_SERIAL_ENABLED), settings win" {
    NOVA_SERIAL_ENABLED=True HOST_IP=192.0.2.11 \
        NOVA_DOCKER_SERIAL_PROXYCLIENT_ADDRESS=198.51.100.7 NOVA_DOCKER_CONSOLE_TTY=False
    run nd_phase stack post-config
    [ "$status" -eq 0 ]
    [ "$(iniget "$NOVA_CPU_CONF" serial_console proxyclient_address)" = 198.51.100.7 ]
    [ "$(iniget "$NOVA_CPU_CONF" docker console_tty)" = False ]
}

@test "post-config: no serial console, no console options" {
    NOVA_SERIAL_ENABLED=False HOST_IP=192.0.2.10
    run nd_phase stack post-config
    [ "$status" -eq 0 ]
    [ -z "$(iniget "$NOVA_CPU_CONF" serial_console proxyclient_address)" ]
    [ -z "$(iniget "$NOVA_CPU_CONF" docker console_tty)" ]
}

horizon_snippet() {
    echo "$DEST/horizon/openstack_dashboard/local/local_settings.d/_50_nova_docker.py"
}

@test "post-config: Horizon's console is the serial console, framed by Horizon alone, a settings snippet" {
    ENABLED_SERVICES+=,horizon
    run nd_phase stack post-config
    [ "$status" -eq 0 ]
    # what Horizon's settings.py does with the snippets: exec them
    run python3 -c 'import sys; g = {}; exec(open(sys.argv[1]).read(), g); print(g["CONSOLE_TYPE"], g["X_FRAME_OPTIONS"])' \
        "$(horizon_snippet)"
    [ "$status" -eq 0 ]
    # the Console tab frames Horizon's own serial console page
    [ "$output" = "SERIAL SAMEORIGIN" ]
    # a second stack.sh writes the same file
    cp "$(horizon_snippet)" "$BATS_TEST_TMPDIR/first"
    run nd_phase stack post-config
    cmp "$BATS_TEST_TMPDIR/first" "$(horizon_snippet)"
}

@test "post-config: HORIZON_DIR is honoured; no Horizon, no snippet" {
    run nd_phase stack post-config
    [ "$status" -eq 0 ]
    [ ! -e "$(horizon_snippet)" ]
    ENABLED_SERVICES+=,horizon HORIZON_DIR=$ND_ROOT/srv/horizon
    run nd_phase stack post-config
    [ "$status" -eq 0 ]
    grep -qx 'CONSOLE_TYPE = "SERIAL"' "$HORIZON_DIR/openstack_dashboard/local/local_settings.d/_50_nova_docker.py"
}

@test "clean: the Horizon snippet goes" {
    ENABLED_SERVICES+=,horizon
    run nd_phase stack post-config
    [ -e "$(horizon_snippet)" ]
    run nd_phase clean
    [ "$status" -eq 0 ]
    [ ! -e "$(horizon_snippet)" ]
}

@test "post-config: twice gives byte-identical files" {
    printf '[image_format]\ncontainer_formats = ami,bare\n' > "$GLANCE_API_CONF"
    run_stack post-config
    nd_snapshot "$BATS_TEST_TMPDIR/one"
    run_stack post-config
    nd_snapshot "$BATS_TEST_TMPDIR/two"
    diff -r "$BATS_TEST_TMPDIR/one" "$BATS_TEST_TMPDIR/two"
    [ "$(iniget "$GLANCE_API_CONF" image_format container_formats)" = ami,bare,docker ]
}

# --- extra: the cirros image (fake docker and openstack) -------------------

# make_rootfs <file>: a small rootfs laid out as cirros's lxc tarball
make_rootfs() {
    local dir=$BATS_TEST_TMPDIR/rootfs
    mkdir -p "$dir/etc" "$dir/run" "$dir/var"
    ln -sfn /var/run/dropbear "$dir/etc/dropbear"
    ln -sfn ../run "$dir/var/run"
    printf '%s\n' '::sysinit:/etc/init.d/rc.sysinit' \
        '#console::respawn:/sbin/getty 115200 console' \
        '::ctrlaltdel:/sbin/reboot' > "$dir/etc/inittab"
    tar -C "$dir" -cJf "$1" etc run var
}

put_rootfs_in_files() {
    make_rootfs "$FILES/cirros-$CIRROS_VERSION-$CIRROS_ARCH-lxc.tar.xz"
}

# the rootfs the images are imported from
prepared_rootfs() {
    echo "$FILES/nova-docker-cirros-$CIRROS_VERSION-$CIRROS_ARCH-lxc.tar"
}

@test "extra: cached rootfs imported with CMD /sbin/init, streamed to Glance" {
    put_rootfs_in_files
    run nd_phase stack extra
    [ "$status" -eq 0 ]
    [ -z "$(nd_calls '^curl')" ]
    local tag="nova-docker/cirros:$CIRROS_VERSION"
    nd_calls "^docker --host unix:///var/run/docker.sock import --change CMD \[\"/sbin/init\"\] $(prepared_rootfs) $tag$" | grep -q .
    nd_calls "^openstack --os-cloud=devstack-admin --os-region-name=RegionOne image create cirros --container-format docker --disk-format raw --public --property os_admin_user=cirros$" | grep -q .
    [ "$(cat "$ND_STATE/upload-cirros")" = "docker save of $tag" ]
}

@test "extra: with Tempest, a distinct second image for image_ref_alt" {
    put_rootfs_in_files
    run nd_phase stack extra
    [ "$status" -eq 0 ]
    local tag="nova-docker/cirros:$CIRROS_VERSION-alt"
    nd_calls "^docker .* import --change CMD \[\"/sbin/init\"\] --change LABEL org.openstack.nova-docker.image=cirros-alt .* $tag$" | grep -q .
    [ "$(cat "$ND_STATE/upload-cirros-alt")" = "docker save of $tag" ]
    # Tempest's password test logs in as cirros on either image
    nd_calls "image create cirros-alt .* --property os_admin_user=cirros$" | grep -q .
    # the first image is the plain rootfs
    [ "$(cat "$ND_STATE/upload-cirros")" = "docker save of nova-docker/cirros:$CIRROS_VERSION" ]
}

@test "extra: without Tempest, one image" {
    put_rootfs_in_files
    ENABLED_SERVICES=key,n-cpu,g-api
    run nd_phase stack extra
    [ "$status" -eq 0 ]
    [ -e "$ND_STATE/upload-cirros" ]
    [ ! -e "$ND_STATE/upload-cirros-alt" ]
}

@test "extra: downloads the rootfs from the cirros release when not cached" {
    make_rootfs "$ND_STATE/downloads/cirros-$CIRROS_VERSION-$CIRROS_ARCH-lxc.tar.xz"
    run nd_phase stack extra
    [ "$status" -eq 0 ]
    nd_calls "^curl .* https://github.com/cirros-dev/cirros/releases/download/$CIRROS_VERSION/cirros-$CIRROS_VERSION-$CIRROS_ARCH-lxc.tar.xz$" | grep -q .
    cmp "$ND_STATE/downloads/cirros-$CIRROS_VERSION-$CIRROS_ARCH-lxc.tar.xz" \
        "$FILES/cirros-$CIRROS_VERSION-$CIRROS_ARCH-lxc.tar.xz"
}

@test "extra: the image's rootfs has the directory dropbear keeps its keys in" {
    put_rootfs_in_files
    run nd_phase stack extra
    [ "$status" -eq 0 ]
    # /etc/dropbear links there; a container's /run is no fresh tmpfs
    run tar -tvf "$(prepared_rootfs)" run/dropbear
    [ "$status" -eq 0 ]
    [[ "$output" == "drwx------ root/root "*" run/dropbear"* ]]
    # everything of the release is still there
    tar -tf "$(prepared_rootfs)" | grep -qx etc/dropbear
}

# inittab_of <tarball>: the etc/inittab docker import keeps, the last one
inittab_of() {
    local dir=$BATS_TEST_TMPDIR/extracted
    rm -rf "$dir"
    mkdir -p "$dir"
    tar -xf "$1" -C "$dir" etc/inittab
    cat "$dir/etc/inittab"
}

@test "extra: the release's inittab without a serial console" {
    put_rootfs_in_files
    run nd_phase stack extra
    [ "$status" -eq 0 ]
    [ "$(tar -tf "$(prepared_rootfs)" | grep -cx etc/inittab)" -eq 1 ]
    run inittab_of "$(prepared_rootfs)"
    [[ "$output" == *$'\n::ctrlaltdel:/sbin/reboot'* ]]
    [[ "$output" != *login* ]]
}

@test "extra: serial console with a terminal: a login on the console, no Ctrl-Alt-Del reboot" {
    put_rootfs_in_files
    ENABLED_SERVICES+=,n-sproxy
    run nd_phase stack extra
    [ "$status" -eq 0 ]
    local rootfs=$FILES/nova-docker-cirros-$CIRROS_VERSION-$CIRROS_ARCH-lxc-login.tar
    nd_calls "^docker .* import --change CMD \[\"/sbin/init\"\] $rootfs nova-docker/cirros:$CIRROS_VERSION$" | grep -q .
    run inittab_of "$rootfs"
    [ "${lines[-1]}" = "::respawn:/bin/login" ]
    [[ "$output" == *"#::ctrlaltdel:/sbin/reboot"* ]]
    [[ "$output" == *"::sysinit:/etc/init.d/rc.sysinit"* ]]
    # docker import refuses a path twice
    [ "$(tar -tf "$rootfs" | grep -cx etc/inittab)" -eq 1 ]
    [ "$(tar -tf "$rootfs" | sort | uniq -d)" = "" ]
    # the plain image's rootfs is another file
    [ ! -e "$(prepared_rootfs)" ]
    tar -tf "$rootfs" | grep -qx etc/dropbear
}

@test "extra: serial console without a terminal: no login (it refuses a pipe)" {
    put_rootfs_in_files
    ENABLED_SERVICES+=,n-sproxy NOVA_DOCKER_CONSOLE_TTY=False
    run nd_phase stack extra
    [ "$status" -eq 0 ]
    run inittab_of "$(prepared_rootfs)"
    [ "$status" -eq 0 ]
    [[ "$output" != *login* ]]
}

@test "extra: the real cirros rootfs gets its console login" {
    nd_require_cirros_rootfs
    CIRROS_VERSION=0.5.3
    cp "$ROOTFS" "$FILES/"
    ENABLED_SERVICES+=,n-sproxy
    run nd_phase stack extra
    [ "$status" -eq 0 ]
    local rootfs=$FILES/nova-docker-cirros-0.5.3-x86_64-lxc-login.tar
    [ "$(tar -tf "$rootfs" | sort | uniq -d)" = "" ]
    run inittab_of "$rootfs"
    [ "${lines[-1]}" = "::respawn:/bin/login" ]
    [ "$(grep -c ctrlaltdel <<< "$output")" -eq 1 ]
    [[ "$output" == *"#::ctrlaltdel:/sbin/reboot"* ]]
}

@test "extra: a rootfs without an inittab dies clearly when it needs the login" {
    local dir=$BATS_TEST_TMPDIR/bare
    mkdir -p "$dir/etc"
    tar -C "$dir" -cJf "$FILES/cirros-$CIRROS_VERSION-$CIRROS_ARCH-lxc.tar.xz" etc
    ENABLED_SERVICES+=,n-sproxy
    run nd_phase stack extra
    [ "$status" -ne 0 ]
    [[ "$output" == *"Could not prepare $FILES/cirros-$CIRROS_VERSION-$CIRROS_ARCH-lxc.tar.xz for Docker"* ]]
    [ -z "$(ls "$FILES" | grep -v '^cirros-')" ]
    [ -z "$(nd_calls ' import ')" ]
}

@test "extra: a rootfs that is no xz tarball dies clearly, leaves nothing" {
    echo "not a tarball" > "$FILES/cirros-$CIRROS_VERSION-$CIRROS_ARCH-lxc.tar.xz"
    run nd_phase stack extra
    [ "$status" -ne 0 ]
    [[ "$output" == *"Could not prepare $FILES/cirros-$CIRROS_VERSION-$CIRROS_ARCH-lxc.tar.xz for Docker"* ]]
    [ ! -e "$(prepared_rootfs)" ]
    [ ! -e "$(prepared_rootfs).part" ]
    [ -z "$(nd_calls ' import ')" ]
}

@test "extra: a failed download dies and leaves no partial file" {
    run nd_phase stack extra
    [ "$status" -ne 0 ]
    [[ "$output" == *"Could not download cirros-$CIRROS_VERSION-$CIRROS_ARCH-lxc.tar.xz"* ]]
    [ -z "$(ls "$FILES")" ]
    [ ! -e "$ND_STATE/upload-cirros" ]
}

@test "extra: skipped when Glance has the images already" {
    printf 'cirros some-id\ncirros-alt other-id\n' > "$ND_STATE/glance"
    run nd_phase stack extra
    [ "$status" -eq 0 ]
    [ -z "$(nd_calls '^docker .* (import|save)')" ]
    [ -z "$(nd_calls 'image create')" ]
}

@test "extra: DEFAULT_IMAGE_NAME and the import workflow are honoured" {
    put_rootfs_in_files
    DEFAULT_IMAGE_NAME=cirros-docker GLANCE_USE_IMPORT_WORKFLOW=True
    run nd_phase stack extra
    [ "$status" -eq 0 ]
    nd_calls 'image create cirros-docker .* --import --property os_admin_user=cirros$' | grep -q .
}

# --- test-config -----------------------------------------------------------

@test "test-config: Tempest uses the image and skips what containers lack" {
    echo "cirros the-image-id" > "$ND_STATE/glance"
    run nd_phase stack test-config
    [ "$status" -eq 0 ]
    [ "$(iniget "$TEMPEST_CONFIG" compute image_ref)" = the-image-id ]
    # no second image: the same one
    [ "$(iniget "$TEMPEST_CONFIG" compute image_ref_alt)" = the-image-id ]
    local feature
    for feature in resize live_migration rescue shelve; do
        [ "$(iniget "$TEMPEST_CONFIG" compute-feature-enabled "$feature")" = False ]
    done
    for feature in console_output interface_attach; do
        [ "$(iniget "$TEMPEST_CONFIG" compute-feature-enabled "$feature")" = True ]
    done
    # validation is left as DevStack's lib/tempest wrote it
    [ -z "$(iniget "$TEMPEST_CONFIG" validation run_validation)" ]
    # no local image (not the node that built it): scenario left alone
    [ -z "$(iniget "$TEMPEST_CONFIG" scenario img_file)" ]
}

@test "test-config: the guest's view on (config drive, files, password); the serial console left as DevStack set it" {
    echo "cirros the-image-id" > "$ND_STATE/glance"
    iniset "$TEMPEST_CONFIG" compute-feature-enabled serial_console True
    run nd_phase stack test-config
    [ "$status" -eq 0 ]
    local feature
    for feature in config_drive personality change_password; do
        [ "$(iniget "$TEMPEST_CONFIG" compute-feature-enabled "$feature")" = True ]
    done
    [ "$(iniget "$TEMPEST_CONFIG" compute-feature-enabled serial_console)" = True ]
}

@test "test-config: the second image is image_ref_alt" {
    printf 'cirros the-image-id\ncirros-alt the-alt-id\n' > "$ND_STATE/glance"
    run nd_phase stack test-config
    [ "$status" -eq 0 ]
    [ "$(iniget "$TEMPEST_CONFIG" compute image_ref)" = the-image-id ]
    [ "$(iniget "$TEMPEST_CONFIG" compute image_ref_alt)" = the-alt-id ]
}

@test "test-config: scenario tests get the cirros image as a zstd docker archive Tempest does not unpack" {
    echo "cirros the-image-id" > "$ND_STATE/glance"
    echo "nova-docker/cirros:$CIRROS_VERSION" > "$ND_STATE/docker-images"
    run nd_phase stack test-config
    [ "$status" -eq 0 ]
    local file=$FILES/nova-docker-cirros-$CIRROS_VERSION.tar.zst
    [ "$(zstd -dc "$file")" = "docker save of nova-docker/cirros:$CIRROS_VERSION" ]
    # Tempest's image_create unpacks what tarfile opens
    run python3 -c 'import sys, tarfile; sys.exit(tarfile.is_tarfile(sys.argv[1]))' "$file"
    [ "$status" -eq 0 ]
    [ "$(iniget "$TEMPEST_CONFIG" scenario img_file)" = "$file" ]
    [ "$(iniget "$TEMPEST_CONFIG" scenario img_container_format)" = docker ]
    [ "$(iniget "$TEMPEST_CONFIG" scenario img_disk_format)" = raw ]
}

@test "test-config: with Cinder, no extend of attached volumes; without, no volume flags" {
    echo "cirros the-image-id" > "$ND_STATE/glance"
    ENABLED_SERVICES+=,c-api,c-sch,c-vol
    run nd_phase stack test-config
    [ "$status" -eq 0 ]
    [ "$(iniget "$TEMPEST_CONFIG" volume-feature-enabled extend_attached_volume)" = False ]
    [ "$(iniget "$TEMPEST_CONFIG" volume-feature-enabled extend_attached_encrypted_volume)" = False ]
    local feature
    for feature in volume_multiattach swap_volume attach_encrypted_volume; do
        [ "$(iniget "$TEMPEST_CONFIG" compute-feature-enabled "$feature")" = False ]
    done
    rm "$TEMPEST_CONFIG"
    ENABLED_SERVICES=${ENABLED_SERVICES%,c-api,c-sch,c-vol}
    run nd_phase stack test-config
    [ "$status" -eq 0 ]
    [ -z "$(iniget "$TEMPEST_CONFIG" volume-feature-enabled extend_attached_volume)" ]
}

@test "test-config: nothing without tempest" {
    ENABLED_SERVICES=key,n-cpu,g-api
    run nd_phase stack test-config
    [ "$status" -eq 0 ]
    [ ! -e "$TEMPEST_CONFIG" ]
}

# --- multi-node ------------------------------------------------------------

@test "multi-node: a compute-only subnode gets Docker, the driver and n-cpu only" {
    ENABLED_SERVICES=n-cpu,placement-client,ovn-controller
    put_rootfs_in_files
    run run_stack $ALL_PHASES
    [ "$status" -eq 0 ]
    nd_calls '^apt-get .*install docker.io$' | grep -q .
    nd_calls '^pip install .*-e' | grep -q .
    [ "$(iniget "$NOVA_CPU_CONF" DEFAULT compute_driver)" = docker.DockerDriver ]
    [ ! -e "$GLANCE_API_CONF" ]
    [ -z "$(nd_calls '^openstack')" ]
    [ -z "$(nd_calls '^docker .* (import|save)')" ]
}

@test "multi-node: a Glance-only controller gets the image, no nova-docker" {
    ENABLED_SERVICES=key,g-api,mysql,rabbit
    VIRT_DRIVER=libvirt
    printf '[image_format]\ncontainer_formats = bare\n' > "$GLANCE_API_CONF"
    put_rootfs_in_files
    run run_stack $ALL_PHASES
    [ "$status" -eq 0 ]
    [ -z "$(nd_calls '^pip')" ]
    [ -z "$(nd_calls '^apt-get .*catatonit')" ]
    [ ! -e "$NOVA_CPU_CONF" ]
    [ ! -e "$NOVA_CONF_DIR/rootwrap.d/docker.filters" ]
    [ "$(iniget "$GLANCE_API_CONF" image_format container_formats)" = bare,docker ]
    [ -e "$ND_STATE/upload-cirros" ]
}

@test "the plugin does nothing where neither n-cpu nor g-api runs" {
    ENABLED_SERVICES=key,mysql,rabbit,tempest
    run run_stack $ALL_PHASES
    [ "$status" -eq 0 ]
    run nd_phase unstack
    run nd_phase clean
    [ ! -s "$ND_CALLS" ]
}

# --- unstack and clean -----------------------------------------------------

@test "unstack: removes this host's driver's containers, found by label, keeps the image" {
    printf 'c1\nc2\n' > "$ND_STATE/docker-ps"
    run nd_phase unstack
    [ "$status" -eq 0 ]
    nd_calls "^docker .* ps -q -a --filter label=org.openstack.nova.instance_uuid --filter label=org.openstack.nova.host=$(uname -n)$" | grep -q .
    nd_calls '^docker .* rm -f c1 c2$' | grep -q .
    [ -z "$(nd_calls ' rmi ')" ]
}

@test "unstack: the host label is nova's [DEFAULT] host where nova-cpu.conf sets it" {
    printf '[DEFAULT]\nhost = compute-7\n' > "$NOVA_CPU_CONF"
    run nd_phase unstack
    [ "$status" -eq 0 ]
    nd_calls '^docker .* ps -q -a --filter label=org.openstack.nova.instance_uuid --filter label=org.openstack.nova.host=compute-7$' | grep -q .
}

@test "unstack: no containers, or no engine, is fine" {
    run nd_phase unstack
    [ "$status" -eq 0 ]
    [ -z "$(nd_calls ' rm ')" ]
    nd_docker down
    run nd_phase unstack
    [ "$status" -eq 0 ]
}

@test "clean: removes the containers and takes back what the plugin installed" {
    nd_installed ca-certificates
    put_rootfs_in_files
    run_stack $ALL_PHASES
    printf 'c1\n' > "$ND_STATE/docker-ps"
    run nd_phase clean
    [ "$status" -eq 0 ]
    nd_calls "^docker .* ps -q -a --filter label=org.openstack.nova.instance_uuid --filter label=org.openstack.nova.host=$(uname -n)$" | grep -q .
    nd_calls '^docker .* rm -f c1$' | grep -q .
    # both cirros images the extra phase built
    nd_calls "^docker .* rmi nova-docker/cirros:$CIRROS_VERSION$" | grep -q .
    nd_calls "^docker .* rmi nova-docker/cirros:$CIRROS_VERSION-alt$" | grep -q .
    # zstd for Tempest's scenario image (test-config)
    nd_calls '^apt-get .*purge docker.io catatonit lxcfs zstd$' | grep -q .
    nd_calls '^systemctl stop lxcfs$' | grep -q .
    nd_calls '^gpasswd -d stack docker$' | grep -q .
    nd_calls '^pip uninstall -y novadocker$' | grep -q .
    [ ! -e "$NOVA_CONF_DIR/rootwrap.d/docker.filters" ]
    [ ! -e "$NOVA_DOCKER_STATE_DIR/installed" ]
    grep -qxF ca-certificates "$ND_STATE/packages"
}

@test "clean: leaves a Docker that was there before" {
    nd_installed docker.io
    nd_installed catatonit
    nd_installed lxcfs
    nd_installed zstd
    echo docker > "$ND_STATE/member-stack"
    put_rootfs_in_files
    run_stack $ALL_PHASES
    run nd_phase clean
    [ "$status" -eq 0 ]
    [ -z "$(nd_calls '(purge|remove|gpasswd)')" ]
    [ -z "$(nd_calls '^systemctl stop')" ]
    grep -qxF docker.io "$ND_STATE/packages"
}

@test "clean: LXCFS that was there before: the drop-in goes, the package and its mounts stay" {
    nd_installed lxcfs
    run_stack pre-install
    : > "$ND_CALLS"
    run nd_phase clean
    [ "$status" -eq 0 ]
    [ ! -e "$ND_ROOT/$LXCFS_DROPIN" ]
    [ ! -e "$(dirname "$ND_ROOT/$LXCFS_DROPIN")" ]
    nd_calls '^systemctl daemon-reload$' | grep -q .
    [ -z "$(nd_calls '^systemctl (stop|restart) lxcfs')" ]
    grep -qxF lxcfs "$ND_STATE/packages"
    grep -q fuse.lxcfs "$NOVA_DOCKER_MOUNTINFO"
    # Docker and catatonit, installed by the plugin, went
    nd_calls '^apt-get .*purge docker.io catatonit$' | grep -q .
}

@test "clean: only catatonit and LXCFS installed by the plugin: a Docker that was there keeps running" {
    nd_installed docker.io
    run_stack pre-install
    run nd_phase clean
    [ "$status" -eq 0 ]
    nd_calls '^apt-get .*purge catatonit lxcfs$' | grep -q .
    [ -z "$(nd_calls '^systemctl stop docker')" ]
    grep -qxF docker.io "$ND_STATE/packages"
}

@test "clean: removes Docker's repository files it added" {
    DOCKER_PACKAGE_SOURCE=docker-ce
    run_stack pre-install
    [ -e "$NOVA_DOCKER_APT_DIR/sources.list.d/docker.list" ]
    run nd_phase clean
    [ "$status" -eq 0 ]
    [ ! -e "$NOVA_DOCKER_APT_DIR/sources.list.d/docker.list" ]
    [ ! -e "$NOVA_DOCKER_APT_DIR/keyrings/docker.asc" ]
    nd_calls '^apt-get .*purge docker-ce docker-ce-cli containerd.io catatonit lxcfs$' | grep -q .
}

@test "all phases also run under stack.sh's NOUNSET=1" {
    if nd_real_devstack; then
        skip "DevStack's own setup_develop and apt_get are not nounset-clean"
    fi
    put_rootfs_in_files
    export ND_NOUNSET=1
    run run_stack $ALL_PHASES
    [ "$status" -eq 0 ]
    run nd_phase unstack
    [ "$status" -eq 0 ]
    run nd_phase clean
    [ "$status" -eq 0 ]
}

@test "stack, unstack, stack again gives the same cloud" {
    put_rootfs_in_files
    run_stack $ALL_PHASES
    nd_snapshot "$BATS_TEST_TMPDIR/one"
    nd_phase unstack
    : > "$ND_STATE/glance"
    run run_stack $ALL_PHASES
    [ "$status" -eq 0 ]
    nd_snapshot "$BATS_TEST_TMPDIR/two"
    diff -r "$BATS_TEST_TMPDIR/one" "$BATS_TEST_TMPDIR/two"
}

@test "stack, clean, stack again installs everything again" {
    put_rootfs_in_files
    run_stack $ALL_PHASES
    nd_snapshot "$BATS_TEST_TMPDIR/one"
    nd_phase unstack
    nd_phase clean
    : > "$ND_STATE/glance"
    : > "$ND_CALLS"
    run run_stack $ALL_PHASES
    [ "$status" -eq 0 ]
    nd_calls '^apt-get .*install docker.io$' | grep -q .
    nd_snapshot "$BATS_TEST_TMPDIR/two"
    diff -r "$BATS_TEST_TMPDIR/one" "$BATS_TEST_TMPDIR/two"
}
