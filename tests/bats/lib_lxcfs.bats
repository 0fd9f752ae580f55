#!/usr/bin/env bats
#
# tools/lib/lxcfs through both front ends (helpers/front_ends): the
# package, the drop-in with the options, the mount and the wait for it.

load helpers/fake_devstack
load helpers/front_ends

LXCFS_LINE="44 27 0:41 / /var/lib/lxcfs rw,nosuid,nodev,relatime - fuse.lxcfs lxcfs rw,user_id=0,group_id=0,allow_other"

check_install() {
    local dropin=$NOVA_DOCKER_SYSTEMD_DIR/lxcfs.service.d/nova-docker.conf
    [ "$(nd_lxcfs_dropin)" = "$dropin" ]
    nd_lxcfs_install "--enable-cfs" THE_OPTIONS
    nd_calls '^(apt-get|dnf) .*install .*lxcfs$' | grep -q .
    # the distribution's ExecStart replaced, not added to; started in a
    # container too
    [ "$(grep -c '^ExecStart=' "$dropin")" -eq 2 ]
    grep -qxF 'ExecStart=' "$dropin"
    grep -qxF 'ExecStart=/usr/bin/lxcfs --enable-cfs /var/lib/lxcfs' "$dropin"
    grep -qxF 'ConditionVirtualization=' "$dropin"
    grep -q 'THE_OPTIONS' "$dropin"
    [ "$(stat -c %a "$dropin")" = 644 ]
    nd_calls '^systemctl daemon-reload$' | grep -q .
    # the same options: nothing changes, lxcfs needs no restart
    : > "$ND_CALLS"
    run nd_lxcfs_install "--enable-cfs" THE_OPTIONS
    [ "$status" -eq 1 ]
    [ -z "$(nd_calls '^(apt-get|dnf|systemctl|install) ')" ]
    # others: written anew
    nd_lxcfs_install "--enable-cfs --enable-loadavg" THE_OPTIONS
    grep -qxF 'ExecStart=/usr/bin/lxcfs --enable-cfs --enable-loadavg /var/lib/lxcfs' "$dropin"
}

@test "install: the package and the drop-in, written again only when the options change" {
    nd_each_front check_install
}

check_mounted() {
    run ! nd_lxcfs_mounted
    # the package makes the directory; a tmpfs there is not LXCFS
    echo "45 22 0:50 / /var/lib/lxcfs rw - tmpfs tmpfs rw" >> "$NOVA_DOCKER_MOUNTINFO"
    run ! nd_lxcfs_mounted
    echo "$LXCFS_LINE" >> "$NOVA_DOCKER_MOUNTINFO"
    nd_lxcfs_mounted
}

@test "mounted: LXCFS's file system at its path, nothing else" {
    nd_each_front check_mounted
}

check_wait() {
    run nd_lxcfs_wait 1 "do without it"
    [ "$status" -ne 0 ]
    [[ "$output" == *"LXCFS did not mount /var/lib/lxcfs within 1s; see 'systemctl status lxcfs' (it needs /dev/fuse), or do without it"* ]]
    (sleep 1; echo "$LXCFS_LINE" >> "$NOVA_DOCKER_MOUNTINFO") &
    run nd_lxcfs_wait 10 "do without it"
    wait
    [ "$status" -eq 0 ]
    [[ "$output" == *"ok: LXCFS is mounted at /var/lib/lxcfs"* ]]
}

@test "wait: until mounted, or a clear error" {
    nd_each_front check_wait
}
