#!/usr/bin/env bats
#
# stack pre-install: the engine's options (the XFS data root,
# userns-remap) from the plugin's settings.
# Against the harness (or the real DevStack functions when DEVSTACK_DIR is
# set); helpers/plugin has what the plugin's bats files share.

load helpers/fake_devstack
load helpers/plugin

setup() {
    nd_setup
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

@test "userns-remap per-guest: Podman's, refused on Docker before anything" {
    NOVA_DOCKER_USERNS_REMAP=per-guest
    run nd_phase stack pre-install
    [ "$status" -ne 0 ]
    [[ "$output" == *"NOVA_DOCKER_USERNS_REMAP per-guest is Podman's (a user namespace of its own for each guest); the Docker engine has one remap for all containers (its daemon.json): use 'default' or user[:group]"* ]]
    [ ! -e "$NOVA_DOCKER_DAEMON_JSON" ] && [ ! -e "$ND_ENGINE_SUBUID" ]
    [ -z "$(nd_calls '^(apt-get|systemctl)')" ]
}

@test "post-config: no per_guest_userns on Docker" {
    run nd_phase stack post-config
    [ "$status" -eq 0 ]
    [ "$(iniget "$NOVA_CPU_CONF" docker engine)" = docker ]
    [ -z "$(iniget "$NOVA_CPU_CONF" docker per_guest_userns)" ]
    [ -z "$(iniget "$NOVA_CONF" docker per_guest_userns)" ]
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
