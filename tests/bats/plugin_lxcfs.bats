#!/usr/bin/env bats
#
# stack pre-install: LXCFS with NOVA_DOCKER_LXCFS_OPTIONS, until mounted.
# Against the harness (or the real DevStack functions when DEVSTACK_DIR is
# set); helpers/plugin has what the plugin's bats files share.

load helpers/fake_devstack
load helpers/plugin

setup() {
    nd_setup
}

# --- pre-install: LXCFS ---------------------------------------------------


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
