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

# --- per-guest user namespaces (Podman's) ----------------------------------

# per_guest_podman: the engine Podman, per-guest asked for
per_guest_podman() {
    ND_DOCKER_ENGINE=podman
    ND_ENGINE_USERNS_REMAP=per-guest
}

# the range the library adds for the user containers
CONTAINERS_LINE=containers:2147483647:2147483648

check_per_guest_refused_on_docker() {
    ND_ENGINE_USERNS_REMAP=per-guest
    run nd_engine_check_settings
    [ "$status" -ne 0 ]
    [[ "$output" == *"$(setting 5) per-guest is Podman's (a user namespace of its own for each guest); the Docker engine has one remap for all containers (its daemon.json): use 'default' or user[:group]"* ]]
    # not taken for the name of a user that does not exist
    [[ "$output" != *"no user"* ]]
    [ -z "$(nd_calls '^(apt-get|dnf|mount|systemctl|docker|install|cp) ')" ]
    [ ! -e "$ND_ENGINE_SUBUID" ] && [ ! -e "$ND_ENGINE_SUBGID" ]
}

@test "per-guest: refused on Docker by the front end's own name, before anything" {
    nd_each_front check_per_guest_refused_on_docker
}

check_per_guest_podman_settings() {
    per_guest_podman
    nd_engine_check_settings
    nd_engine_per_guest_userns
    local value
    for value in auto off; do
        ND_ENGINE_USERNS_REMAP=$value
        nd_engine_check_settings
        run ! nd_engine_per_guest_userns
    done
    # Docker's values still refused, per-guest named as Podman's own
    ND_ENGINE_USERNS_REMAP=default run nd_engine_check_settings
    [ "$status" -ne 0 ]
    [[ "$output" == *"$(setting 5) default is the Docker engine's"*"(per-guest gives each guest a user namespace of its own)"* ]]
}

@test "per-guest: accepted on Podman; auto and off ask for no per_guest_userns" {
    nd_each_front check_per_guest_podman_settings
}

check_per_guest_adds_ranges() {
    per_guest_podman
    mkdir -p "${ND_ENGINE_SUBUID%/*}"
    # the host's own lines, the last without its newline
    printf 'stack:100000:65536\nnova:165536:65536' > "$ND_ENGINE_SUBUID"
    printf 'stack:100000:65536\n' > "$ND_ENGINE_SUBGID"
    chmod 0640 "$ND_ENGINE_SUBUID"
    local inode
    inode=$(stat -c %i "$ND_ENGINE_SUBUID")
    run nd_engine_setup
    [ "$status" -eq 0 ]
    [[ "$output" == *"ok: Podman: no daemon.json to write"* ]]
    [ "$(cat "$ND_ENGINE_SUBUID")" = "$(printf 'stack:100000:65536\nnova:165536:65536\n%s' "$CONTAINERS_LINE")" ]
    [ "$(cat "$ND_ENGINE_SUBGID")" = "$(printf 'stack:100000:65536\n%s' "$CONTAINERS_LINE")" ]
    # the same file, written in place: its mode kept
    [ "$(stat -c '%i %a' "$ND_ENGINE_SUBUID")" = "$inode 640" ]
    [[ "$output" == *"add '$CONTAINERS_LINE' to $ND_ENGINE_SUBUID (Podman's per-guest user namespaces)"* ]]
    [ ! -e "$ND_ENGINE_DAEMON_JSON" ]
    [ -z "$(nd_calls '^systemctl restart')" ]
    # a second time: nothing changes, said so
    : > "$ND_CALLS"
    cp "$ND_ENGINE_SUBUID" "$BATS_TEST_TMPDIR/subuid-before"
    run nd_engine_setup
    [ "$status" -eq 0 ]
    [[ "$output" == *"ok: $ND_ENGINE_SUBUID gives containers 65536 ids or more"* ]]
    [[ "$output" == *"ok: $ND_ENGINE_SUBGID gives containers 65536 ids or more"* ]]
    [[ "$output" != *"add '"* ]]
    cmp "$BATS_TEST_TMPDIR/subuid-before" "$ND_ENGINE_SUBUID"
    [ "$(grep -c '^containers:' "$ND_ENGINE_SUBGID")" -eq 1 ]
}

@test "per-guest on Podman: the containers range added where lacking, once" {
    nd_each_front check_per_guest_adds_ranges
}

check_per_guest_ranges_kept() {
    per_guest_podman
    mkdir -p "${ND_ENGINE_SUBUID%/*}"
    # enough ids already: one range, or two together (as the driver counts)
    printf 'containers:500000:65536\n' > "$ND_ENGINE_SUBUID"
    printf 'containers:500000:32768\ncontainers:600000:32768\n' > "$ND_ENGINE_SUBGID"
    cp "$ND_ENGINE_SUBUID" "$BATS_TEST_TMPDIR/subuid"
    cp "$ND_ENGINE_SUBGID" "$BATS_TEST_TMPDIR/subgid"
    run nd_engine_setup
    [ "$status" -eq 0 ]
    [[ "$output" == *"ok: $ND_ENGINE_SUBUID gives containers 65536 ids or more"* ]]
    cmp "$BATS_TEST_TMPDIR/subuid" "$ND_ENGINE_SUBUID"
    cmp "$BATS_TEST_TMPDIR/subgid" "$ND_ENGINE_SUBGID"
    # too few, another user's, or a uid for the name: the range added
    printf 'containers:500000:65535\nstack:100000:65536\n' > "$ND_ENGINE_SUBUID"
    printf 'containerss:500000:65536\n1000:100000:65536\n' > "$ND_ENGINE_SUBGID"
    run nd_engine_setup
    [ "$status" -eq 0 ]
    grep -qxF "$CONTAINERS_LINE" "$ND_ENGINE_SUBUID"
    grep -qxF "$CONTAINERS_LINE" "$ND_ENGINE_SUBGID"
    grep -qxF 'containers:500000:65535' "$ND_ENGINE_SUBUID"
}

@test "per-guest on Podman: a large enough containers range is left alone" {
    nd_each_front check_per_guest_ranges_kept
}

check_per_guest_new_files() {
    per_guest_podman
    run nd_engine_setup
    [ "$status" -eq 0 ]
    [ "$(cat "$ND_ENGINE_SUBUID")" = "$CONTAINERS_LINE" ]
    [ "$(cat "$ND_ENGINE_SUBGID")" = "$CONTAINERS_LINE" ]
    [ "$(stat -c %a "$ND_ENGINE_SUBUID")" = 644 ]
}

@test "per-guest on Podman: files that are not there are made with the range" {
    nd_each_front check_per_guest_new_files
}

check_no_per_guest_podman() {
    ND_DOCKER_ENGINE=podman
    local value
    for value in auto off; do
        ND_ENGINE_USERNS_REMAP=$value
        run nd_engine_setup
        [ "$status" -eq 0 ]
        [ ! -e "$ND_ENGINE_SUBUID" ] && [ ! -e "$ND_ENGINE_SUBGID" ]
    done
}

@test "Podman without per-guest: the subordinate ids left alone" {
    nd_each_front check_no_per_guest_podman
}
