#!/usr/bin/env bats
#
# tools/lib/common: waiting, the mount table, and installing what is
# missing through either front end's hooks (helpers/front_ends).

load helpers/fake_devstack
load helpers/front_ends

@test "wait_until: as soon as the command succeeds, or fails after the seconds" {
    source "$ND_REPO/tools/lib/common"
    nd_common_wait_until 5 true
    SECONDS=0
    run ! nd_common_wait_until 1 false
    [ "$SECONDS" -lt 5 ]
    local flag=$BATS_TEST_TMPDIR/flag
    (sleep 1; touch "$flag") &
    nd_common_wait_until 10 test -e "$flag"
    wait
}

@test "mount_at: the file system type and super options, of the last mount there" {
    source "$ND_REPO/tools/lib/common"
    ND_COMMON_MOUNTINFO=$BATS_TEST_TMPDIR/mountinfo
    cat > "$ND_COMMON_MOUNTINFO" <<'MOUNTS'
22 1 254:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw
61 22 7:0 / /srv/data rw,relatime shared:9 - ext4 /dev/loop0 rw
62 22 7:1 / /srv/data rw,relatime - xfs /dev/loop1 rw,attr2,prjquota
MOUNTS
    [ "$(nd_common_mount_at /srv/data)" = "xfs rw,attr2,prjquota" ]
    [ "$(nd_common_mount_at /)" = "ext4 rw" ]
    [ -z "$(nd_common_mount_at /srv)" ]
}

check_install_missing() {
    nd_installed zstd
    run nd_common_install_packages zstd xfsprogs
    [ "$status" -eq 0 ]
    [[ "$output" == *"ok: zstd is installed"* ]]
    nd_calls '^apt-get .*install .*xfsprogs$' | grep -q .
    [ -z "$(nd_calls '^apt-get .*install .*zstd')" ]
    if [[ $ND_FRONT == plugin ]]; then
        # clean.sh takes back what the plugin installed, and only that
        [ "$(cat "$NOVA_DOCKER_STATE_DIR/installed")" = "package xfsprogs" ]
    fi
}

@test "install_packages: only what is missing" {
    nd_each_front check_install_missing
}
