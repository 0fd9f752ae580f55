#!/usr/bin/env bats
#
# tools/lib/host: what tools/run-tests.sh and tests/e2e/run.sh need of a
# fresh Debian or Ubuntu machine; package managers and mount recorded
# (helpers/fake_devstack), the kernel's tables from files.

load helpers/fake_devstack

setup() {
    nd_setup
    source "$ND_REPO/tools/lib/host"
}

@test "install_packages: only those not installed, one apt-get update" {
    nd_installed git
    run nd_host_install_packages git bats shellcheck
    [ "$status" -eq 0 ]
    [ "$(nd_calls '^apt-get update' | wc -l)" -eq 1 ]
    nd_calls '^apt-get install -y -qq bats shellcheck$' | grep -q .
    : > "$ND_CALLS"
    nd_host_install_packages git bats shellcheck
    [ -z "$(nd_calls '^apt-get')" ]
}

@test "install_docker: Debian's engine, unless one is installed" {
    nd_host_install_docker
    nd_calls '^apt-get install -y -qq docker.io$' | grep -q .
    : > "$ND_CALLS"
    ln -s "$ND_BIN/service" "$ND_BIN/dockerd"
    nd_host_install_docker
    [ -z "$(nd_calls '^apt-get')" ]
}

@test "cgroups: each v1 hierarchy the kernel has, and whether it is mounted" {
    ND_HOST_PROC_CGROUPS=$BATS_TEST_TMPDIR/cgroups
    ND_COMMON_MOUNTINFO=$BATS_TEST_TMPDIR/mountinfo
    cat > "$ND_HOST_PROC_CGROUPS" <<'CGROUPS'
#subsys_name	hierarchy	num_cgroups	enabled
cpu	3	1	1
cpuacct	3	1	1
memory	5	1	1
hugetlb	7	1	1
rdma	0	1	1
CGROUPS
    echo "30 25 0:26 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct" > "$ND_COMMON_MOUNTINFO"
    echo "31 25 0:27 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory" >> "$ND_COMMON_MOUNTINFO"
    [ "$(_nd_host_cgroup_hierarchies | sort | tr '\n' ' ')" = "cpu,cpuacct hugetlb memory " ]
    _nd_host_cgroup_mounted cpu,cpuacct
    _nd_host_cgroup_mounted memory
    run ! _nd_host_cgroup_mounted hugetlb
}

# LXCFS at a path of the test's own, in a mount table of its own
function lxcfs_here {
    ND_LXCFS_PATH=$BATS_TEST_TMPDIR/lxcfs
    ND_COMMON_MOUNTINFO=$BATS_TEST_TMPDIR/mountinfo
    ND_COMMON_SYSTEMD_DIR=$ND_ROOT/etc/systemd/system
    ND_HOST_SYSTEMD_RUN=$BATS_TEST_TMPDIR/run-systemd
    ND_HOST_WAIT=1
    echo "22 1 254:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw" > "$ND_COMMON_MOUNTINFO"
}

function lxcfs_mounts {
    echo "44 27 0:41 / $ND_LXCFS_PATH rw - fuse.lxcfs lxcfs rw" >> "$ND_COMMON_MOUNTINFO"
    if [[ "${1:-}" != dead ]]; then
        mkdir -p "$ND_LXCFS_PATH/proc"
        echo "1.00 1.00" > "$ND_LXCFS_PATH/proc/uptime"
    fi
}

@test "start_lxcfs with systemd: the plugin's drop-in and options, restarted once" {
    lxcfs_here
    mkdir -p "$ND_HOST_SYSTEMD_RUN"
    lxcfs_mounts
    nd_host_start_lxcfs
    # the same unit the DevStack plugin writes, with the driver's options
    diff <(nd_lxcfs_unit "--enable-cfs --enable-loadavg" tools/lib/host) \
        "$ND_COMMON_SYSTEMD_DIR/lxcfs.service.d/nova-docker.conf"
    nd_calls '^systemctl restart lxcfs$' | grep -q .
    : > "$ND_CALLS"
    nd_host_start_lxcfs
    [ -z "$(nd_calls '^systemctl (restart|daemon-reload)')" ]
}

@test "start_lxcfs without systemd: a dead lxcfs's mount goes, lxcfs starts with the options" {
    lxcfs_here
    lxcfs_mounts dead
    # recorders of their own, ahead of the harness's (whose umount is a
    # link to the real one: never write through it)
    local fakes=$BATS_TEST_TMPDIR/fakes tool
    mkdir -p "$fakes"
    for tool in lxcfs umount; do
        printf '#!/bin/bash\necho "$(basename "$0") $*" >> "$ND_CALLS"\n' > "$fakes/$tool"
        chmod +x "$fakes/$tool"
    done
    PATH=$fakes:$PATH
    run nd_host_start_lxcfs
    # the fake lxcfs answers nothing: a clear error after ND_HOST_WAIT
    [ "$status" -eq 1 ]
    [[ "$output" == *"lxcfs did not mount $ND_LXCFS_PATH"* ]]
    nd_calls "^umount -l $ND_LXCFS_PATH\$" | grep -q .
    for _ in 1 2 3 4 5; do
        [ -n "$(nd_calls '^lxcfs ')" ] && break
        sleep 0.2
    done
    [ "$(nd_calls '^lxcfs ')" = "lxcfs --enable-cfs --enable-loadavg $ND_LXCFS_PATH" ]
}

@test "start_lxcfs: an lxcfs that answers is left alone" {
    lxcfs_here
    lxcfs_mounts
    nd_host_start_lxcfs
    [ -z "$(nd_calls '^(systemctl|umount|lxcfs)')" ]
}

# Podman's ranges in files of the test's own, its socket in a directory
# of the test's own
function podman_here {
    ND_HOST_SUBUID=$BATS_TEST_TMPDIR/subuid
    ND_HOST_SUBGID=$BATS_TEST_TMPDIR/subgid
    ND_HOST_PODMAN_SOCKET=$BATS_TEST_TMPDIR/podman/podman.sock
    echo "dockremap:100000:65536" > "$ND_HOST_SUBUID"
    echo "dockremap:100000:65536" > "$ND_HOST_SUBGID"
}

@test "start_podman: the package, the containers range once, a service that answers left alone" {
    podman_here
    nd_docker up
    nd_host_start_podman
    nd_calls '^apt-get install -y -qq podman$' | grep -q .
    for file in "$ND_HOST_SUBUID" "$ND_HOST_SUBGID"; do
        [ "$(cat "$file")" = "$(printf 'dockremap:100000:65536\ncontainers:2147483647:2147483648')" ]
    done
    # the fake podman answers: no service started
    [ ! -d "$(dirname "$ND_HOST_PODMAN_SOCKET")" ]
    nd_host_start_podman
    [ "$(grep -c '^containers:' "$ND_HOST_SUBUID")" -eq 1 ]
}

@test "start_podman: a range of the operator's for containers is kept" {
    podman_here
    echo "containers:300000:700000" > "$ND_HOST_SUBUID"
    nd_docker up
    nd_host_start_podman
    [ "$(cat "$ND_HOST_SUBUID")" = "containers:300000:700000" ]
}

@test "start_podman: the service on the tests' socket, in a directory of root's alone; a clear error when it never answers" {
    podman_here
    nd_docker down
    ND_HOST_WAIT=1
    run nd_host_start_podman
    [ "$status" -eq 1 ]
    [[ "$output" == *"podman system service did not answer at $ND_HOST_PODMAN_SOCKET"* ]]
    [ "$(stat -c %a "$(dirname "$ND_HOST_PODMAN_SOCKET")")" = 750 ]
    for _ in 1 2 3 4 5; do
        [ -n "$(nd_calls '^podman system service')" ] && break
        sleep 0.2
    done
    [ "$(nd_calls '^podman system service')" = "podman system service --time=0 unix://$ND_HOST_PODMAN_SOCKET" ]
}
