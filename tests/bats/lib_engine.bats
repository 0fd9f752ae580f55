#!/usr/bin/env bats
#
# tools/lib/engine through both front ends (helpers/front_ends): the
# settings' checks, daemon.json, the XFS data root, userns-remap, and the
# checks of the running engine. The plugin's phases (plugin_engine.bats)
# and the script's options (provision.bats) are tested on their own.

load helpers/fake_devstack
load helpers/front_ends

# setting <n>: the front end's name of the n-th setting (ND_ENGINE_SETTINGS)
setting() {
    local names
    read -r -a names <<< "$ND_ENGINE_SETTINGS"
    echo "${names[$1 - 1]}"
}

daemon_json() {
    python3 -c 'import json, sys; print(json.load(open(sys.argv[1])).get(sys.argv[2], ""))' \
        "$ND_ENGINE_DAEMON_JSON" "$1"
}

# xfs: the XFS data root under the test's root
xfs() {
    ND_ENGINE_XFS_DATA_ROOT=True
    ND_ENGINE_XFS_DIR=$ND_ROOT/var/lib/docker-xfs
    ND_ENGINE_XFS_FILE=$ND_ROOT/var/lib/docker-xfs.img
    ND_ENGINE_XFS_SIZE=1G
}

check_bad_settings() {
    local size
    xfs
    for size in abc 20GB 0G -1G 512M 1.5G "" 20g 20; do
        ND_ENGINE_XFS_SIZE=$size run nd_engine_check_settings
        [ "$status" -ne 0 ]
        [[ "$output" == *"$(setting 3) must be a size such as 20G"*"at least 1G"*"not '$size'"* ]]
    done
    ND_ENGINE_XFS_DIR=relative run nd_engine_check_settings
    [[ "$output" == *"$(setting 4) must be an absolute path"* ]]
    ND_ENGINE_XFS_FILE=$ND_ENGINE_XFS_DIR/img run nd_engine_check_settings
    [[ "$output" == *"$(setting 2) ($ND_ENGINE_XFS_DIR/img) cannot be in the directory it is mounted at"* ]]
    ND_ENGINE_USERNS_REMAP=nobody-here run nd_engine_check_settings
    [[ "$output" == *"$(setting 5): no user 'nobody-here'"* ]]
    ND_ENGINE_USERNS_REMAP='bad value' run nd_engine_check_settings
    [[ "$output" == *"$(setting 5) must be 'auto', 'off', 'default' or user[:group]"* ]]
    [ -z "$(nd_calls '^(apt-get|dnf|mount|systemctl|docker)')" ]
    nd_engine_check_settings
}

@test "settings: each bad value refused by the front end's own name, before anything" {
    nd_each_front check_bad_settings
}

check_quota() {
    [ -z "$(nd_engine_root_disk_quota "")" ]
    [ "$(nd_engine_root_disk_quota warn)" = warn ]
    ND_ENGINE_XFS_DATA_ROOT=True
    [ "$(nd_engine_root_disk_quota "")" = enforce ]
    [ "$(nd_engine_root_disk_quota warn)" = warn ]
}

@test "root_disk_quota: enforce with the XFS data root, unless set" {
    nd_each_front check_quota
}

check_remap_default() {
    ND_ENGINE_USERNS_REMAP=$1
    run nd_engine_setup
    [ "$status" -eq 0 ]
    [ "$(daemon_json userns-remap)" = default ]
    [ -z "$(daemon_json data-root)" ]
    [ "$(nd_calls '^systemctl restart docker$' | wc -l)" -eq 1 ]
    [[ "$output" == *"ok: the Docker engine remaps user namespaces"* ]]
    # a second time, nothing changes
    : > "$ND_CALLS"
    run nd_engine_setup
    [ "$status" -eq 0 ]
    [ -z "$(nd_calls '^systemctl restart docker')" ]
}

@test "setup: userns-remap default written, the engine restarted once" {
    nd_each_front check_remap_default default
}

check_remap_contents() {
    echo "0 2" > "$ND_STATE/docker-counts"
    run nd_engine_setup
    [ "$status" -eq 0 ]
    [[ "$output" == *"holds 0 containers and 2 images: left without userns-remap ($(setting 5)=auto)"* ]]
    [ ! -e "$ND_ENGINE_DAEMON_JSON" ]
    ND_ENGINE_USERNS_REMAP=default
    run nd_engine_setup
    [ "$status" -ne 0 ]
    [[ "$output" == *"($(setting 6))"* ]]
    [ ! -e "$ND_ENGINE_DAEMON_JSON" ]
    ND_ENGINE_LEAVE_CONTENTS=True
    nd_engine_setup
    [ "$(daemon_json userns-remap)" = default ]
}

@test "setup: an engine that holds things is not moved off them unless agreed" {
    nd_each_front check_remap_contents
}

check_xfs() {
    xfs
    ND_ENGINE_USERNS_REMAP=off
    run nd_engine_setup
    [ "$status" -eq 0 ]
    nd_calls '^(apt-get|dnf) .*install .*xfsprogs$' | grep -q .
    # root's only, sparse, of the size asked, XFS
    [ "$(stat -c '%a %s' "$ND_ENGINE_XFS_FILE")" = "600 $((1024 ** 3))" ]
    [ "$(blkid -p -o value -s TYPE "$ND_ENGINE_XFS_FILE")" = xfs ]
    nd_calls "^mount -t xfs -o loop,pquota $ND_ENGINE_XFS_FILE $ND_ENGINE_XFS_DIR$" | grep -q .
    grep -qxF "$ND_ENGINE_XFS_FILE $ND_ENGINE_XFS_DIR xfs loop,pquota,nofail 0 0" "$ND_ENGINE_FSTAB"
    grep -qxF "RequiresMountsFor=$ND_ENGINE_XFS_DIR" \
        "$ND_COMMON_SYSTEMD_DIR/docker.service.d/nova-docker-data-root.conf"
    [ "$(daemon_json data-root)" = "$ND_ENGINE_XFS_DIR" ]
    [ "$(daemon_json storage-driver)" = overlay2 ]
    [[ "$output" == *"ok: the Docker engine limits root disks"* ]]
}

@test "setup: the XFS data root, mounted with pquota, in fstab, the engine on it" {
    if ! command -v mkfs.xfs > /dev/null; then
        skip "needs mkfs.xfs (xfsprogs)"
    fi
    nd_each_front check_xfs
}

check_engine_refuses() {
    xfs
    ND_ENGINE_USERNS_REMAP=off
    touch "$ND_STATE/docker-no-quota"
    run nd_engine_setup
    [ "$status" -ne 0 ]
    [[ "$output" == *"The Docker engine cannot limit a container's root disk: Error response from daemon: --storage-opt is supported only for overlay over xfs with 'pquota' mount option"* ]]
    run ! grep -q quota-probe "$ND_STATE/docker-images"
}

@test "check: an engine that cannot limit root disks is a clear error" {
    if ! command -v mkfs.xfs > /dev/null; then
        skip "needs mkfs.xfs (xfsprogs)"
    fi
    nd_each_front check_engine_refuses
}
