#!/bin/bash
#
# What the DevStack plugin's bats files (tests/bats/plugin_*.bats) share:
# stack.sh's phases, the LXCFS drop-in's path, a cirros-like rootfs. Load
# helpers/fake_devstack first.

# shellcheck disable=SC2034 # read by the bats files that load this
ALL_PHASES="pre-install install post-config extra test-config"
# shellcheck disable=SC2034
LXCFS_DROPIN=etc/systemd/system/lxcfs.service.d/nova-docker.conf

# run_stack <phase...>: stack.sh's phases in order, each like stack.sh
function run_stack {
    local phase status
    for phase in "$@"; do
        nd_phase stack "$phase"
        status=$?
        [ "$status" -eq 0 ] || return "$status"
    done
}

# make_rootfs <file>: a small rootfs laid out as cirros's lxc tarball
function make_rootfs {
    local dir=$BATS_TEST_TMPDIR/rootfs
    mkdir -p "$dir/etc" "$dir/run" "$dir/var"
    ln -sfn /var/run/dropbear "$dir/etc/dropbear"
    ln -sfn ../run "$dir/var/run"
    printf '%s\n' '::sysinit:/etc/init.d/rc.sysinit' \
        '#console::respawn:/sbin/getty 115200 console' \
        '::ctrlaltdel:/sbin/reboot' > "$dir/etc/inittab"
    tar -C "$dir" -cJf "$1" etc run var
}

# put_rootfs_in_files: the release's rootfs where the plugin caches it
# shellcheck disable=SC2154 # FILES, CIRROS_*: set by nd_setup
function put_rootfs_in_files {
    make_rootfs "$FILES/cirros-$CIRROS_VERSION-$CIRROS_ARCH-lxc.tar.xz"
}
