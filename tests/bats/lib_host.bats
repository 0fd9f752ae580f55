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
    run nd_install_packages git bats shellcheck
    [ "$status" -eq 0 ]
    [ "$(nd_calls '^apt-get update' | wc -l)" -eq 1 ]
    nd_calls '^apt-get install -y -qq bats shellcheck$' | grep -q .
    : > "$ND_CALLS"
    nd_install_packages git bats shellcheck
    [ -z "$(nd_calls '^apt-get')" ]
}

@test "install_docker: Debian's engine, unless one is installed" {
    nd_install_docker
    nd_calls '^apt-get install -y -qq docker.io$' | grep -q .
    : > "$ND_CALLS"
    ln -s "$ND_BIN/service" "$ND_BIN/dockerd"
    nd_install_docker
    [ -z "$(nd_calls '^apt-get')" ]
}

@test "cgroups: each v1 hierarchy the kernel has, and whether it is mounted" {
    ND_PROC_CGROUPS=$BATS_TEST_TMPDIR/cgroups
    ND_MOUNTINFO=$BATS_TEST_TMPDIR/mountinfo
    cat > "$ND_PROC_CGROUPS" <<'CGROUPS'
#subsys_name	hierarchy	num_cgroups	enabled
cpu	3	1	1
cpuacct	3	1	1
memory	5	1	1
hugetlb	7	1	1
rdma	0	1	1
CGROUPS
    echo "30 25 0:26 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct" > "$ND_MOUNTINFO"
    echo "31 25 0:27 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory" >> "$ND_MOUNTINFO"
    [ "$(_nd_cgroup_hierarchies | sort | tr '\n' ' ')" = "cpu,cpuacct hugetlb memory " ]
    _nd_cgroup_mounted cpu,cpuacct
    _nd_cgroup_mounted memory
    run ! _nd_cgroup_mounted hugetlb
}
