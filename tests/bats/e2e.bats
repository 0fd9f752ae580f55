#!/usr/bin/env bats
#
# The e2e gate's own tooling (tests/e2e): mirrors, the plugin repository of
# the working tree, the files and local.conf DevStack gets, the report.
# The gate itself (a real stack.sh) runs with tox -e e2e, not here.

load helpers/fake_devstack

setup() {
    E2E_DIR=$ND_REPO/tests/e2e
    E2E_WORK=$BATS_TEST_TMPDIR/work
    E2E_LOGS=$BATS_TEST_TMPDIR/logs
    E2E_RECORD=
    E2E_GIT_BASE=https://opendev.org
    E2E_FILES=$BATS_TEST_TMPDIR/files
    E2E_CIRROS_VERSION=
    E2E_PLUGIN_COMMIT=
    E2E_NETWORKING=ovs
    E2E_PROFILE=full
    E2E_TEMPEST_REGEX=
    E2E_HORIZON=1
    E2E_CINDER=1
    E2E_HEAT=1
    E2E_USERNS_REMAP=
    E2E_BROWSER=
    E2E_NODES=1
    E2E_NAME=gate
    E2E_VOLUME=gate-docker
    E2E_SUB_NAME=gate-sub
    E2E_SUB_VOLUME=gate-sub-docker
    E2E_NETWORK=nova-docker-e2e
    E2E_TUNNEL_NETWORK=nova-docker-e2e-tunnel
    E2E_CONTROLLER_IP=
    E2E_CONTROLLER_TUNNEL_IP=
    mkdir -p "$E2E_WORK" "$E2E_LOGS" "$E2E_FILES"
    e2e_log() { echo "$*" >&2; }
    e2e_die() { echo "ERROR: $*" >&2; return 1; }
    # shellcheck source=tests/e2e/lib/steps
    source "$E2E_DIR/lib/steps"
    REPO_DIR=$ND_REPO
    source "$E2E_DIR/lib/host"
    source "$E2E_DIR/lib/image"
    source "$E2E_DIR/lib/container"
    source "$E2E_DIR/lib/devstack"
    source "$E2E_DIR/lib/subnode"
    source "$E2E_DIR/lib/report"
    source "$E2E_DIR/lib/browser"
}

# a git repository with one commit, at $1
make_repo() {
    git init -q "$1"
    echo "v1" > "$1/tracked"
    git -C "$1" add tracked
    git -C "$1" -c user.name=t -c user.email=t@example.com commit -q -m one
}

@test "make-mirror: depth-1 bare clones as <dir>/openstack/<name>.git" {
    make_repo "$BATS_TEST_TMPDIR/openstack+nova/repo"
    make_repo "$BATS_TEST_TMPDIR/src/devstack.git"
    run "$E2E_DIR/make-mirror.sh" "$BATS_TEST_TMPDIR/git" \
        "$BATS_TEST_TMPDIR/openstack+nova/repo" "$BATS_TEST_TMPDIR/src/devstack.git"
    [ "$status" -eq 0 ]
    # cloned back as DevStack's git_clone does
    git clone -q "file://$BATS_TEST_TMPDIR/git/openstack/nova.git" "$BATS_TEST_TMPDIR/nova"
    [ "$(cat "$BATS_TEST_TMPDIR/nova/tracked")" = v1 ]
    [ "$(git --git-dir="$BATS_TEST_TMPDIR/git/openstack/devstack.git" rev-list --count HEAD)" -eq 1 ]
    [ "$(git --git-dir="$BATS_TEST_TMPDIR/git/openstack/devstack.git" rev-parse --is-shallow-repository)" = true ]
}

@test "make-mirror: without sources it says how to call it" {
    run "$E2E_DIR/make-mirror.sh" "$BATS_TEST_TMPDIR/git"
    [ "$status" -eq 2 ]
    [[ "$output" == usage:* ]]
}

@test "plugin repository: the working tree's tracked files, committed or not" {
    REPO_DIR=$BATS_TEST_TMPDIR/tree
    make_repo "$REPO_DIR"
    mkdir -p "$REPO_DIR/tests/e2e/loopfile"
    echo plugin > "$REPO_DIR/tests/e2e/loopfile/plugin"
    git -C "$REPO_DIR" add tests
    echo "v2, not committed" > "$REPO_DIR/tracked"
    echo "untracked" > "$REPO_DIR/untracked"
    e2e_plugin_repo
    git clone -q -b e2e "$E2E_WORK/plugin.git" "$BATS_TEST_TMPDIR/clone"
    [ "$(cat "$BATS_TEST_TMPDIR/clone/tracked")" = "v2, not committed" ]
    [ ! -e "$BATS_TEST_TMPDIR/clone/untracked" ]
    # the working tree itself is left as it was
    [ "$(cat "$REPO_DIR/tracked")" = "v2, not committed" ]
    [ -n "$E2E_PLUGIN_COMMIT" ]
}

@test "files: cirros version from the rootfs tarball, get-pip.py stand-in added" {
    touch "$E2E_FILES/cirros-0.5.3-x86_64-lxc.tar.xz"
    e2e_files
    [ "$E2E_CIRROS_VERSION" = 0.5.3 ]
    [ -f "$E2E_WORK/files/cirros-0.5.3-x86_64-lxc.tar.xz" ]
    head -n 1 "$E2E_WORK/files/get-pip.py" | grep -q '^#!/usr/bin/env python'
}

@test "files: a get-pip.py in E2E_FILES is kept" {
    touch "$E2E_FILES/cirros-0.6.3-x86_64-lxc.tar.xz"
    echo '#!/usr/bin/env python3 # the real one' > "$E2E_FILES/get-pip.py"
    e2e_files
    grep -q 'the real one' "$E2E_WORK/files/get-pip.py"
}

@test "files: no cirros rootfs is a clear error" {
    run e2e_files
    [ "$status" -ne 0 ]
    [[ "$output" == *"no cirros-<version>-<arch>-lxc.tar.xz in E2E_FILES"* ]]
}

@test "local.conf: a mirror directory becomes a file:// GIT_BASE inside" {
    mkdir -p "$BATS_TEST_TMPDIR/git/openstack/devstack.git"
    E2E_GIT_BASE=$BATS_TEST_TMPDIR/git
    E2E_CIRROS_VERSION=0.5.3
    run _e2e_local_conf
    [[ "$output" == *$'\nGIT_BASE=file:///opt/e2e/git\n'* ]]
    [[ "$output" == *$'\nCIRROS_VERSION=0.5.3\n'* ]]
    [[ "$output" == *$'\nVIRT_DRIVER=docker\n'* ]]
    [[ "$output" == *$'\nenable_plugin nova-docker file:///opt/e2e/plugin.git e2e\n'* ]]
    run _e2e_mounts
    [[ "$output" == *"-v $BATS_TEST_TMPDIR/git:/opt/e2e/git:ro"* ]]
}

@test "local.conf: without networking, no agents and servers without networks" {
    E2E_CIRROS_VERSION=0.5.3
    E2E_NETWORKING=none
    run _e2e_local_conf
    [[ "$output" == *$'\nNEUTRON_CREATE_INITIAL_NETWORKS=False\n'* ]]
    [[ "$output" != *"q-agt"* ]]
    [[ "$output" == *$'[auth]\n'*$'create_isolated_networks = False'* ]]
    # no ports, nothing to log into
    [[ "$output" == *$'\nTEMPEST_RUN_VALIDATION=False\n'* ]]
    [[ "$output" != *"q-meta"* ]]
    [[ "$output" != *"rootwrap.conf"* ]]
}

@test "report: the tests left out, with why" {
    E2E_RECORD=$BATS_TEST_TMPDIR/LAST_RUN.md
    E2E_USERNS_REMAP=off
    : > "$E2E_LOGS/steps.txt"
    echo "Tempest regex: x" > "$E2E_LOGS/tempest.txt"
    : > "$E2E_LOGS/commits.txt"
    e2e_write_report PASSED 1 2>/dev/null
    grep -q '^| `tempest.api.compute.admin.test_server_diagnostics.ServerDiagnosticsV248Test.test_get_server_diagnostics` | Nova.s API (2.48) .* |$' "$E2E_RECORD"
    # every line of both lists has its reason
    [ "$(cat "$E2E_DIR/tempest-exclude.txt" "$E2E_DIR/tempest-exclude-no-userns.txt" "$E2E_DIR/tempest-alone.txt" | grep -c '^\^')" -eq "$(grep -c '^| `tempest' "$E2E_RECORD")" ]
    grep -q '^| `tempest.api.compute.servers.test_server_actions.ServerActionsTestJSON.test_change_server_password` | it moves the class.s floating IP' "$E2E_RECORD"
    grep -qx -- "- Engine's userns-remap: off" "$E2E_RECORD"
}

@test "report: under userns-remap, the tests that need sudo are not left out" {
    E2E_RECORD=$BATS_TEST_TMPDIR/LAST_RUN.md
    E2E_USERNS_REMAP=default
    : > "$E2E_LOGS/steps.txt"
    echo "Tempest regex: x" > "$E2E_LOGS/tempest.txt"
    : > "$E2E_LOGS/commits.txt"
    e2e_write_report PASSED 1 2>/dev/null
    grep -qx -- "- Engine's userns-remap: default" "$E2E_RECORD"
    [ "$(cat "$E2E_DIR/tempest-exclude.txt" "$E2E_DIR/tempest-alone.txt" | grep -c '^\^')" -eq "$(grep -c '^| `tempest' "$E2E_RECORD")" ]
    ! grep -q 'test_server_personality' "$E2E_RECORD"
}

@test "tempest: the personality tests that read through sudo run only under userns-remap" {
    local list=$BATS_TEST_TMPDIR/exclude.txt
    source "$E2E_DIR/guest/tempest"
    E2E_USERNS_REMAP=off exclude_list "$list"
    grep -q 'test_server_personality' "$list"
    grep -q 'test_device_tagging' "$list"
    E2E_USERNS_REMAP=default exclude_list "$list"
    ! grep -q 'test_server_personality' "$list"
    grep -q 'test_device_tagging' "$list"
}

@test "local.conf: the engine's userns-remap, by E2E_USERNS_REMAP" {
    E2E_CIRROS_VERSION=0.5.3
    run _e2e_local_conf
    [[ "$output" == *$'\nNOVA_DOCKER_USERNS_REMAP=auto\n'* ]]
    E2E_USERNS_REMAP=default
    run _e2e_local_conf
    [[ "$output" == *$'\nNOVA_DOCKER_USERNS_REMAP=default\n'* ]]
}

@test "local.conf: by default the agents run, on a userspace datapath" {
    E2E_CIRROS_VERSION=0.5.3
    run _e2e_local_conf
    [[ "$output" == *$'\nENABLED_SERVICES+=,q-agt,q-l3,q-dhcp,q-meta,n-api-meta\n'* ]]
    # the routers' metadata proxies need more open files than the
    # container lets them raise to themselves
    [[ "$output" == *$'\nULIMIT_NOFILE=4096\n'* ]]
    [[ "$output" == *$'[[post-config|$NEUTRON_CONF_DIR/rootwrap.conf]]\n[DEFAULT]\nrlimit_nofile = 4096\n'* ]]
    # Tempest logs into the guests, which get their key from the metadata
    # service through the router
    [[ "$output" == *$'\nTEMPEST_RUN_VALIDATION=True\n'* ]]
    [[ "$output" == *$'\nOVS_DATAPATH_TYPE=netdev\n'* ]]
    [[ "$output" == *$'\nQ_ML2_TENANT_NETWORK_TYPE=vxlan\n'* ]]
    [[ "$output" != *"NEUTRON_CREATE_INITIAL_NETWORKS=False"* ]]
    [[ "$output" != *"create_isolated_networks"* ]]
}

@test "local.conf: Cinder with the loop file backend, blank volumes formatted" {
    E2E_CIRROS_VERSION=0.5.3
    run _e2e_local_conf
    [[ "$output" == *$'\nENABLED_SERVICES+=,c-api,c-sch,c-vol\n'* ]]
    [[ "$output" == *$'\nCINDER_ENABLED_BACKENDS=loopfile:loopfile-1\n'* ]]
    [[ "$output" == *$'\nenable_plugin nova-docker-e2e-loopfile file:///opt/e2e/plugin.git e2e-loopfile\n'* ]]
    [[ "$output" == *$'[[post-config|$NOVA_CPU_CONF]]\n[docker]\nformat_blank_volumes = True\n'* ]]
}

@test "plugin repository: the Cinder stand-in's plugin as a branch of its own" {
    e2e_plugin_repo
    git clone -q -b e2e-loopfile "$E2E_WORK/plugin.git" "$BATS_TEST_TMPDIR/clone"
    # laid out as DevStack's enable_plugin expects, with its driver
    [ -f "$BATS_TEST_TMPDIR/clone/devstack/plugin.sh" ]
    [ -f "$BATS_TEST_TMPDIR/clone/e2e_loopfile/driver.py" ]
    [ -f "$BATS_TEST_TMPDIR/clone/loopfile.filters" ]
    [ ! -e "$BATS_TEST_TMPDIR/clone/novadocker" ]
}

@test "loopfile plugin: lib/cinder's backend hooks, and its driver and filters installed after configure_cinder" {
    local plugin=$E2E_DIR/loopfile/devstack/plugin.sh
    CINDER_CONF=$BATS_TEST_TMPDIR/cinder.conf
    CINDER_CONF_DIR=$BATS_TEST_TMPDIR/etc-cinder
    CINDER_STATE_PATH=$BATS_TEST_TMPDIR/cinder-state
    CINDER_BIN_DIR=$BATS_TEST_TMPDIR/venv/bin
    mkdir -p "$CINDER_CONF_DIR/rootwrap.d" "$CINDER_BIN_DIR" "$BATS_TEST_TMPDIR/venv/lib"
    printf '#!/bin/sh\necho %s\n' "$BATS_TEST_TMPDIR/venv/lib" > "$CINDER_BIN_DIR/python3"
    chmod +x "$CINDER_BIN_DIR/python3"
    source "$ND_REPO/tests/bats/helpers/devstack_functions.bash"
    ENABLED_SERVICES=c-api,c-sch,c-vol
    # root here, as in the gate; the harness has no sudo
    sudo() { "$@"; }
    source "$E2E_DIR/loopfile/devstack/settings"
    source "$plugin" stack post-config
    # cinder-volume's Python finds the driver in the plugin's checkout
    [ "$(cat "$BATS_TEST_TMPDIR/venv/lib/nova-docker-e2e-loopfile.pth")" = "$E2E_DIR/loopfile" ]
    cmp "$E2E_DIR/loopfile/loopfile.filters" "$CINDER_CONF_DIR/rootwrap.d/nova-docker-e2e-loopfile.filters"
    configure_cinder_backend_loopfile loopfile-1
    [ "$(iniget "$CINDER_CONF" loopfile-1 volume_driver)" = e2e_loopfile.driver.LoopFileDriver ]
    [ "$(iniget "$CINDER_CONF" loopfile-1 volume_backend_name)" = loopfile-1 ]
    [ "$(iniget "$CINDER_CONF" loopfile-1 loopfile_volumes_dir)" = "$CINDER_STATE_PATH/loopfile-volumes" ]
}

@test "container: loop-control and the loop block devices for the Cinder stand-in" {
    [ "${E2E_LOOP_FLAGS[*]}" = "--device /dev/loop-control --device-cgroup-rule=b 7:* rmw" ]
    grep -q '"${E2E_LOOP_FLAGS\[@\]}"' "$E2E_DIR/lib/container"
}

@test "local.conf: the serial console proxy, and Heat from GIT_BASE with networks" {
    mkdir -p "$BATS_TEST_TMPDIR/git/openstack/devstack.git"
    E2E_GIT_BASE=$BATS_TEST_TMPDIR/git
    E2E_CIRROS_VERSION=0.5.3
    run _e2e_local_conf
    [[ "$output" == *$'\nENABLED_SERVICES+=,n-sproxy\n'* ]]
    [[ "$output" == *$'\nenable_plugin heat file:///opt/e2e/git/openstack/heat.git\n'* ]]
    E2E_NETWORKING=none
    run _e2e_local_conf
    [[ "$output" == *$'\nENABLED_SERVICES+=,n-sproxy\n'* ]]
    [[ "$output" != *"heat"* ]]
}

# heat_mirror: a heat.git in the mirror whose DevStack plugin names its
# Tempest image as heat's does
heat_mirror() {
    local repo=$BATS_TEST_TMPDIR/heat-src
    mkdir -p "$repo/devstack/lib"
    echo '    HEAT_TEST_FEDORA_IMAGE_PATH=releases/37/Cloud/x86_64/images/Fedora-Cloud-Base-37-1.7.x86_64.qcow2' \
        > "$repo/devstack/lib/heat"
    git init -q "$repo"
    git -C "$repo" add devstack
    git -C "$repo" -c user.name=t -c user.email=t@example.com commit -q -m one
    mkdir -p "$E2E_GIT_BASE/openstack"
    git clone -q --bare "$repo" "$E2E_GIT_BASE/openstack/heat.git"
}

@test "files: Heat's Tempest image is an empty qcow2 of the name heat's plugin uploads" {
    command -v qemu-img > /dev/null || skip "needs qemu-img (qemu-utils)"
    touch "$E2E_FILES/cirros-0.5.3-x86_64-lxc.tar.xz"
    E2E_GIT_BASE=$BATS_TEST_TMPDIR/git
    heat_mirror
    e2e_files
    run qemu-img info "$E2E_WORK/files/Fedora-Cloud-Base-37-1.7.x86_64.qcow2"
    [ "$status" -eq 0 ]
    [[ "$output" == *$'\nfile format: qcow2\n'* ]]
}

@test "files: no Heat image without networks (no Heat) or without a heat mirror" {
    touch "$E2E_FILES/cirros-0.5.3-x86_64-lxc.tar.xz"
    E2E_GIT_BASE=$BATS_TEST_TMPDIR/git
    heat_mirror
    E2E_NETWORKING=none
    e2e_files
    [ -z "$(ls "$E2E_WORK/files" | grep -i fedora)" ]
    E2E_NETWORKING=ovs E2E_GIT_BASE=https://opendev.org
    e2e_files
    [ -z "$(ls "$E2E_WORK/files" | grep -i fedora)" ]
}

@test "files: a Heat image qemu-img cannot make is a clear error" {
    touch "$E2E_FILES/cirros-0.5.3-x86_64-lxc.tar.xz"
    E2E_GIT_BASE=$BATS_TEST_TMPDIR/git
    heat_mirror
    qemu-img() { return 1; }
    run e2e_files
    [ "$status" -ne 0 ]
    [[ "$output" == *"could not make Heat's test image Fedora-Cloud-Base-37-1.7.x86_64.qcow2"* ]]
}

@test "guest: the Heat steps' template is the repository's" {
    source "$E2E_DIR/guest/heat-steps"
    [ -f "$ND_REPO/${HEAT_TEMPLATE#/opt/stack/nova-docker/}" ]
}

@test "guest: the console client's Python gets websocket-client only when it lacks it" {
    source "$E2E_DIR/guest/console-steps"
    E2E_VENV=$BATS_TEST_TMPDIR/venv
    mkdir -p "$E2E_VENV/bin"
    printf '#!/bin/sh\necho "pip $*" >> %s/pip-calls\n' "$BATS_TEST_TMPDIR" > "$E2E_VENV/bin/pip"
    printf '#!/bin/sh\n[ -e %s/has-websocket ]\n' "$BATS_TEST_TMPDIR" > "$E2E_VENV/bin/python3"
    chmod +x "$E2E_VENV/bin/pip" "$E2E_VENV/bin/python3"
    run console_python
    [ "$status" -eq 0 ]
    [ "$output" = "$E2E_VENV/bin/python3" ]
    [ "$(cat "$BATS_TEST_TMPDIR/pip-calls")" = "pip install -q -c /opt/stack/requirements/upper-constraints.txt websocket-client" ]
    rm "$BATS_TEST_TMPDIR/pip-calls"
    touch "$BATS_TEST_TMPDIR/has-websocket"
    run console_python
    [ "$output" = "$E2E_VENV/bin/python3" ]
    [ ! -e "$BATS_TEST_TMPDIR/pip-calls" ]
}

@test "local.conf: a URL GIT_BASE is passed through, nothing mounted for it" {
    E2E_GIT_BASE=https://opendev.org
    run _e2e_local_conf
    [[ "$output" == *$'\nGIT_BASE=https://opendev.org\n'* ]]
    run _e2e_mounts
    [[ "$output" != *"/opt/e2e/git"* ]]
}

@test "steps: a guest script's STEP lines join the host's, prefixed" {
    guest() {
        echo "some output"
        echo "STEP boot 1.5 ok"
        echo "STEP pause 0.3 FAILED"
        return 1
    }
    : > "$E2E_LOGS/steps.txt"
    run e2e_guest_steps cloud guest
    [ "$status" -eq 1 ]
    [ "$(cat "$E2E_LOGS/steps.txt")" = "STEP cloud/boot 1.5 ok
STEP cloud/pause 0.3 FAILED" ]
    grep -q "some output" "$E2E_LOGS/cloud.txt"
}

@test "report: steps, commits and Tempest's totals in LAST_RUN.md" {
    E2E_RECORD=$BATS_TEST_TMPDIR/LAST_RUN.md
    E2E_CIRROS_VERSION=0.5.3
    printf 'STEP stack 420.1 ok\nSTEP cloud/boot 2.0 FAILED\n' > "$E2E_LOGS/steps.txt"
    printf 'nova 00a030403f12\nneutron absent\n' > "$E2E_LOGS/commits.txt"
    printf 'Tempest regex: x\nValidation (logging into guests): True\nSKIPPED 2 Resize is not available.\nSKIPPED 1 Need distinct images\nTEMPEST passed=3 skipped=3 failed=0\n' > "$E2E_LOGS/tempest.txt"
    E2E_TEMPEST_REGEX=x
    e2e_write_report FAILED 754 2>/dev/null
    grep -qx -- '- Result: \*\*FAILED\*\* in 12 min 34 s' "$E2E_RECORD"
    grep -qx '| stack | 420.1 | ok |' "$E2E_RECORD"
    grep -qx '| cloud/boot | 2.0 | FAILED |' "$E2E_RECORD"
    grep -qx '| nova | 00a030403f12 |' "$E2E_RECORD"
    grep -qx 'TEMPEST passed=3 skipped=3 failed=0' "$E2E_RECORD"
    grep -qx -- '- Tempest: profile full, regex `x`, validation (Tempest logs into the guests): True' "$E2E_RECORD"
    grep -qx '| 2 | Resize is not available. |' "$E2E_RECORD"
    grep -qx '| 1 | Need distinct images |' "$E2E_RECORD"
}

@test "tempest: the tests to run alone that the regex selects" {
    source "$E2E_DIR/guest/tempest"
    local alone='^tempest\.api\.compute\.servers\.test_server_actions\.ServerActionsTestJSON\.test_change_server_password'
    [ "$(alone_regex '^tempest\.api\.compute\.')" = "$alone" ]
    [ "$(alone_regex 'ServerActionsTestJSON')" = "$alone" ]
    [ -z "$(alone_regex '^tempest\.api\.compute\.volumes')" ]
}

# fake_tempest: guest/tempest's functions, with a tempest that says how it
# was run and gives one pass's totals, and lists one test unless
# FAKE_TEMPEST_LISTS_NONE is set
fake_tempest() {
    source "$E2E_DIR/guest/tempest"
    TEMPEST_DIR=$BATS_TEST_TMPDIR/tempest
    VENV=$TEMPEST_DIR/venv
    mkdir -p "$VENV/bin" "$TEMPEST_DIR/etc" "$BATS_TEST_TMPDIR/logs"
    printf '[validation]\nrun_validation = True\n' > "$TEMPEST_DIR/etc/tempest.conf"
    cat > "$VENV/bin/tempest" <<'FAKE'
#!/bin/bash
if [[ $2 == --list-tests ]]; then
    [[ -n ${FAKE_TEMPEST_LISTS_NONE:-} ]] || echo tempest.api.x.T.test_a
    exit 0
fi
echo "args: $*"
while [[ $# -gt 0 ]]; do
    if [[ $1 == --exclude-list ]]; then sed 's/^/excluded: /' "$2"; fi
    shift
done
printf '{0} tempest.api.x.T.test_a [1.0s] ... SKIPPED: Resize not available.\n'
printf 'Totals\n ======\n - Passed: 3\n - Skipped: 1\n - Failed: 0\n'
FAKE
    printf '#!/bin/bash\n[[ $1 == last ]] && echo subunit\n' > "$VENV/bin/stestr"
    chmod +x "$VENV/bin/tempest" "$VENV/bin/stestr"
}

@test "tempest: the tests to run alone are left out of the first pass and run after it, one at a time" {
    fake_tempest
    LOG_DIR=$BATS_TEST_TMPDIR/logs
    E2E_TEMPEST_REGEX='^tempest\.api\.compute\.' run main
    [ "$status" -eq 0 ]
    local first=$LOG_DIR/tempest-run.txt alone=$LOG_DIR/tempest-run-alone.txt
    grep -q '^args: run --regex ^tempest\\.api\\.compute\\. --exclude-list [^ ]* --concurrency 2$' "$first"
    grep -q '^excluded: ^tempest\\.api\\.compute\\.servers\\.test_server_actions\\.ServerActionsTestJSON\\.test_change_server_password' "$first"
    grep -q '^args: run --regex ^tempest.*test_change_server_password --concurrency 1 ' "$alone"
    ! grep -q '^excluded: .*test_change_server_password' "$alone"
    # both passes in the totals and the skip reasons
    [[ "$output" == *"TEMPEST passed=6 skipped=2 failed=0"* ]]
    [[ "$output" != *"can't read"* ]]
    [[ "$output" == *"SKIPPED 2 Resize not available."* ]]
    [ "$(cat "$LOG_DIR/tempest.subunit")" = "subunit
subunit" ]
}

@test "tempest: a regex that selects only the tests to run alone runs only their pass" {
    fake_tempest
    LOG_DIR=$BATS_TEST_TMPDIR/logs
    FAKE_TEMPEST_LISTS_NONE=1 E2E_TEMPEST_REGEX='test_change_server_password' run main
    [ "$status" -eq 0 ]
    [[ "$output" == *"Nothing to run but the tests run alone"* ]]
    [ ! -e "$LOG_DIR/tempest-run.txt" ]
    grep -q '^args: run --regex ^tempest.*test_change_server_password --concurrency 1 ' "$LOG_DIR/tempest-run-alone.txt"
    [[ "$output" == *"TEMPEST passed=3 skipped=1 failed=0"* ]]
}

@test "tempest: skip reasons grouped with counts, most first" {
    local out=$BATS_TEST_TMPDIR/run.txt
    cat > "$out" <<'OUT'
{0} setUpClass (tempest.api.compute.admin.test_live_migration.LiveMigrationTest) ... SKIPPED: Live migration is not available.
{1} tempest.api.compute.servers.test_a.A.test_x [0.000000s] ... SKIPPED: Resize is not available.
{1} tempest.api.compute.servers.test_a.A.test_y [0.000000s] ... SKIPPED: Resize is not available.
{1} tempest.api.compute.servers.test_a.A.test_z [1.100000s] ... ok
OUT
    source "$E2E_DIR/guest/tempest"
    run skip_reasons "$out"
    [ "$output" = "SKIPPED 2 Resize is not available.
SKIPPED 1 Live migration is not available." ]
}

@test "container: --privileged where the engine allows it" {
    docker() { return 0; }
    run _e2e_isolation_flags some-image
    [ "$output" = "--privileged" ]
}

@test "container: where --privileged fails, other capabilities and the tun device" {
    docker() { [[ " $* " != *" --privileged "* ]]; }
    run _e2e_isolation_flags some-image
    [[ "$output" == *"--cap-add=ALL --cap-drop=SYS_RESOURCE"* ]]
    [[ "$output" == *"--security-opt seccomp=unconfined"* ]]
    [[ "$output" == *"--device /dev/net/tun"* ]]
    [[ "$output" != *"--privileged"* ]]
}

@test "image: the host's apt sources replace the base image's" {
    _e2e_host_files "$BATS_TEST_TMPDIR/host"
    local f
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
            /etc/apt/sources.list.d/*.sources; do
        if [[ -s $f ]]; then
            cmp "$f" "$BATS_TEST_TMPDIR/host$f"
        fi
    done
    # a host with deb822 sources only: an empty sources.list overwrites the
    # one debootstrap wrote, so no source is configured twice
    [ -f "$BATS_TEST_TMPDIR/host/etc/apt/sources.list" ]
    if [[ ! -s /etc/apt/sources.list ]]; then
        [ ! -s "$BATS_TEST_TMPDIR/host/etc/apt/sources.list" ]
    fi
}

@test "networking: ovs and none are accepted, anything else is a clear error" {
    E2E_NETWORKING=ovs e2e_check_settings
    E2E_NETWORKING=none e2e_check_settings
    E2E_NETWORKING=ovn run e2e_check_settings
    [ "$status" -ne 0 ]
    [[ "$output" == *"E2E_NETWORKING=ovn: use ovs"*"or none"* ]]
}

@test "profile: full runs the whole compute API and the scenario tests, quick its server tests" {
    [ "$(e2e_profile_regex)" = '^tempest\.(api\.compute|scenario)\.' ]
    E2E_PROFILE=quick
    e2e_check_settings
    [ "$(e2e_profile_regex)" = '^tempest\.api\.compute\.servers\.' ]
    E2E_PROFILE=fast run e2e_check_settings
    [ "$status" -ne 0 ]
    [[ "$output" == *"E2E_PROFILE=fast: use full"*"or quick"* ]]
}

@test "host: the gate installs git, debootstrap and qemu-utils, then starts the engine" {
    nd_host_install_packages() { echo "install $*" >> "$BATS_TEST_TMPDIR/calls"; }
    nd_host_install_docker() { echo "install-docker" >> "$BATS_TEST_TMPDIR/calls"; }
    nd_host_start_docker() { echo "start-docker" >> "$BATS_TEST_TMPDIR/calls"; }
    e2e_host_setup
    [ "$(cat "$BATS_TEST_TMPDIR/calls")" = "install git debootstrap qemu-utils
install-docker
start-docker" ]
}

@test "host: an engine that does not come up is a clear error" {
    nd_host_install_packages() { return 0; }
    nd_host_install_docker() { return 0; }
    nd_host_start_docker() { return 1; }
    run e2e_host_setup
    [ "$status" -ne 0 ]
    [[ "$output" == *"no Docker engine answers"* ]]
}

@test "host: packages are installed only when missing" {
    local calls=$BATS_TEST_TMPDIR/calls
    dpkg() { [[ $2 == present ]]; }
    apt-get() { echo "apt-get $*" >> "$calls"; }
    env() { while [[ $1 == *=* ]]; do shift; done; "$@"; }
    nd_host_install_packages present
    [ ! -e "$calls" ]
    nd_host_install_packages present missing
    grep -q 'apt-get install -y -qq missing$' "$calls"
}

@test "host: cgroup hierarchies grouped as the kernel has them, mounted or not" {
    ND_HOST_PROC_CGROUPS=$BATS_TEST_TMPDIR/cgroups
    ND_COMMON_MOUNTINFO=$BATS_TEST_TMPDIR/mountinfo
    cat > "$ND_HOST_PROC_CGROUPS" <<'CG'
#subsys_name	hierarchy	num_cgroups	enabled
cpuset	3	1	1
cpu	1	10	1
net_cls	12	2	1
net_prio	12	2	1
hugetlb	13	2	1
rdma	0	1	1
CG
    cat > "$ND_COMMON_MOUNTINFO" <<'MI'
30 25 0:26 / /sys/fs/cgroup ro,relatime - tmpfs tmpfs ro,size=4096k
31 30 0:27 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
32 30 0:28 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
MI
    [ "$(_nd_host_cgroup_hierarchies | sort | tr '\n' ' ')" = "cpu cpuset hugetlb net_cls,net_prio " ]
    _nd_host_cgroup_mounted cpu
    _nd_host_cgroup_mounted cpuset
    ! _nd_host_cgroup_mounted hugetlb
    ! _nd_host_cgroup_mounted net_cls,net_prio
    # a controller's name inside another's is no match
    ! _nd_host_cgroup_mounted cpuacct
}

@test "local.conf: Cinder and Heat by default, neither with E2E_CINDER=0 E2E_HEAT=0" {
    mkdir -p "$BATS_TEST_TMPDIR/git/openstack/devstack.git"
    E2E_GIT_BASE=$BATS_TEST_TMPDIR/git
    E2E_CIRROS_VERSION=0.5.3
    run _e2e_local_conf
    [[ "$output" == *$'\nENABLED_SERVICES+=,c-api,c-sch,c-vol\n'* ]]
    [[ "$output" == *$'\nenable_plugin heat '* ]]
    E2E_CINDER=0 E2E_HEAT=0
    run _e2e_local_conf
    [[ "$output" != *c-vol* && "$output" != *loopfile* && "$output" != *format_blank_volumes* ]]
    [[ "$output" != *"enable_plugin heat"* ]]
    [ "$(e2e_heat)" = 0 ]
}

@test "local.conf: Horizon by default, none with E2E_HORIZON=0" {
    E2E_CIRROS_VERSION=0.5.3
    run _e2e_local_conf
    [[ "$output" == *$'\nENABLED_SERVICES+=,horizon\n'* ]]
    E2E_HORIZON=0
    run _e2e_local_conf
    [[ "$output" != *horizon* ]]
}

@test "browser: on by default with Horizon and a network to launch on" {
    [ "$E2E_BROWSER" = 1 ]
    E2E_NETWORKING=none
    [ "$(_e2e_browser_default)" = 0 ]
    E2E_NETWORKING=ovs E2E_HORIZON=0
    [ "$(_e2e_browser_default)" = 0 ]
}

@test "browser: E2E_BROWSER=1 without what it drives is a clear error" {
    E2E_BROWSER=1 E2E_NETWORKING=none
    run e2e_browser_check_settings
    [ "$status" -ne 0 ]
    [[ "$output" == *"E2E_BROWSER=1 needs E2E_NETWORKING=ovs"* ]]
    E2E_NETWORKING=ovs E2E_HORIZON=0
    run e2e_browser_check_settings
    [[ "$output" == *"E2E_BROWSER=1 needs E2E_HORIZON=1"* ]]
    E2E_BROWSER=yes
    run e2e_browser_check_settings
    [ "$status" -ne 0 ]
    [[ "$output" == *"E2E_BROWSER=yes: use 1"* ]]
    E2E_BROWSER=0 E2E_NETWORKING=none
    run e2e_browser_check_settings
    [ "$status" -eq 0 ]
}

@test "report: the browser's screenshots and its failure, or why it did not run" {
    E2E_RECORD=$BATS_TEST_TMPDIR/LAST_RUN.md
    : > "$E2E_LOGS/steps.txt"
    : > "$E2E_LOGS/commits.txt"
    echo "Tempest regex: x" > "$E2E_LOGS/tempest.txt"
    E2E_BROWSER=0
    e2e_write_report PASSED 1 2>/dev/null
    grep -qx 'Not run (E2E_BROWSER=0).' "$E2E_RECORD"
    mkdir "$E2E_LOGS/browser"
    touch "$E2E_LOGS/browser/01-login.png" "$E2E_LOGS/browser/02-launch-wizard-FAILED.png"
    printf 'STEP login 1.0 ok\nFAILED step launch-wizard: expected the wizard\n' > "$E2E_LOGS/browser.txt"
    e2e_write_report FAILED 1 2>/dev/null
    grep -qx -- '- `browser/01-login.png`' "$E2E_RECORD"
    grep -qx -- '- `browser/02-launch-wizard-FAILED.png`' "$E2E_RECORD"
    grep -qx '> FAILED step launch-wizard: expected the wizard' "$E2E_RECORD"
    ! grep -q 'Not run' "$E2E_RECORD"
}

@test "report: Tempest's results are kept in the logs before the restack removes them" {
    E2E_NAME=gate-ctr
    docker() {
        [[ $1 == cp && $2 == gate-ctr:/opt/stack/logs/* ]] || return 1
        [[ ${2##*/} == tempest.subunit ]] && return 1
        echo "${2##*/} of the gate" > "$3"
    }
    run e2e_keep_tempest_results
    [ "$status" -eq 0 ]
    [ "$(cat "$E2E_LOGS/tempest-run.txt")" = "tempest-run.txt of the gate" ]
    [ "$(cat "$E2E_LOGS/tempest-exclude.txt")" = "tempest-exclude.txt of the gate" ]
    # what is missing is said, and the others are still kept
    [[ "$output" == *"no tempest.subunit in the container"* ]]
}

# Two nodes (E2E_NODES=2): a compute-only subnode beside the controller

@test "nodes: 1 and 2 are accepted; 0, 3, x and 2 without networking are clear errors" {
    E2E_NODES=1 e2e_check_settings
    E2E_NODES=2 e2e_check_settings
    local bad
    for bad in 0 3 x; do
        E2E_NODES=$bad run e2e_check_settings
        [ "$status" -ne 0 ]
        [[ "$output" == *"E2E_NODES=$bad: use 1 (one all-in-one node) or 2 (and a compute-only subnode)"* ]]
    done
    E2E_NODES=2 E2E_NETWORKING=none run e2e_check_settings
    [ "$status" -ne 0 ]
    [[ "$output" == *"E2E_NODES=2 needs E2E_NETWORKING=ovs"* ]]
}

@test "local.conf: with one node, byte for byte the single-node profile before E2E_NODES" {
    # tests/bats/fixtures: _e2e_local_conf's output before the subnode
    # came, with these tests' settings
    E2E_CIRROS_VERSION=0.5.3
    _e2e_local_conf > "$BATS_TEST_TMPDIR/ovs"
    cmp "$ND_REPO/tests/bats/fixtures/e2e-local.conf.ovs" "$BATS_TEST_TMPDIR/ovs"
    E2E_NETWORKING=none _e2e_local_conf > "$BATS_TEST_TMPDIR/none"
    cmp "$ND_REPO/tests/bats/fixtures/e2e-local.conf.none" "$BATS_TEST_TMPDIR/none"
    # unset is one node too, with an address known or not
    unset E2E_NODES
    E2E_CONTROLLER_IP=172.19.0.2 _e2e_local_conf > "$BATS_TEST_TMPDIR/unset"
    cmp "$ND_REPO/tests/bats/fixtures/e2e-local.conf.ovs" "$BATS_TEST_TMPDIR/unset"
}

@test "local.conf: with two nodes, the controller adds its address, its tunnel endpoint, moves off its host and Tempest's two computes" {
    E2E_CIRROS_VERSION=0.5.3
    E2E_NODES=2 E2E_CONTROLLER_IP=172.19.0.2 E2E_CONTROLLER_TUNNEL_IP=172.20.0.2
    run _e2e_local_conf
    [[ "$output" == *$'\nHOST_IP=172.19.0.2\nTUNNEL_ENDPOINT_IP=172.20.0.2\nNOVA_ALLOW_MOVE_TO_SAME_HOST=False\n'* ]]
    [[ "$output" == *$'\nOVS_DATAPATH_TYPE=netdev\nQ_ML2_TENANT_NETWORK_TYPE=vxlan\n'* ]]
    [[ "$output" == *$'[[test-config|$TEMPEST_CONFIG]]\n[compute]\n'*$'\nmin_compute_nodes = 2' ]]
    # nothing else changes
    diff <(grep -vx '' "$ND_REPO/tests/bats/fixtures/e2e-local.conf.ovs") \
        <(grep -vx -e '' -e 'HOST_IP=172.19.0.2' -e 'TUNNEL_ENDPOINT_IP=172.20.0.2' \
            -e 'NOVA_ALLOW_MOVE_TO_SAME_HOST=False' -e '\[compute\]' \
            -e "# Tempest's tests that move servers between hosts run" \
            -e 'min_compute_nodes = 2' <<< "$output")
}

@test "tempest: min_compute_nodes only with two nodes" {
    E2E_NODES=2
    run _e2e_tempest_conf
    [ "$output" = "[compute]
# Tempest's tests that move servers between hosts run
min_compute_nodes = 2" ]
    E2E_NODES=2 E2E_NETWORKING=none
    run _e2e_tempest_conf
    [[ "$output" == *"create_isolated_networks = False"*"min_compute_nodes = 2" ]]
    E2E_NODES=1
    run _e2e_tempest_conf
    [[ "$output" != *min_compute_nodes* ]]
}

@test "local.conf: the subnode's services, the controller's hosts, its own tunnel endpoint, the controller's passwords and plugin" {
    mkdir -p "$BATS_TEST_TMPDIR/git/openstack/devstack.git"
    E2E_GIT_BASE=$BATS_TEST_TMPDIR/git
    E2E_NODES=2 E2E_CIRROS_VERSION=0.5.3 E2E_USERNS_REMAP=default
    local sub=$BATS_TEST_TMPDIR/sub ctl=$BATS_TEST_TMPDIR/ctl line
    _e2e_subnode_local_conf 172.19.0.2 172.19.0.3 172.20.0.3 > "$sub"
    E2E_CONTROLLER_IP=172.19.0.2 _e2e_local_conf > "$ctl"
    [ "$(head -n 1 "$sub")" = '[[local|localrc]]' ]
    for line in ENABLED_SERVICES=n-cpu,placement-client,q-agt \
            SERVICE_HOST=172.19.0.2 DATABASE_TYPE=mysql \
            DATABASE_HOST=172.19.0.2 RABBIT_HOST=172.19.0.2 \
            GLANCE_HOSTPORT=172.19.0.2:9292 \
            HOST_IP=172.19.0.3 TUNNEL_ENDPOINT_IP=172.20.0.3 \
            Q_AGENT=openvswitch Q_ML2_PLUGIN_MECHANISM_DRIVERS=openvswitch \
            OVS_DATAPATH_TYPE=netdev Q_ML2_TENANT_NETWORK_TYPE=vxlan \
            NOVA_ALLOW_MOVE_TO_SAME_HOST=False VIRT_DRIVER=docker \
            NOVA_DOCKER_USERNS_REMAP=default NOVA_SERIAL_ENABLED=True \
            GIT_BASE=file:///opt/e2e/git; do
        grep -qx -- "$line" "$sub" || { echo "missing: $line"; return 1; }
    done
    # the same passwords, log file, GIT_BASE and plugin line as the controller's
    for line in ADMIN_PASSWORD DATABASE_PASSWORD RABBIT_PASSWORD \
            SERVICE_PASSWORD LOGFILE GIT_BASE 'enable_plugin nova-docker '; do
        [ "$(grep "^$line" "$sub")" = "$(grep "^$line" "$ctl")" ]
    done
    # its only services: one ENABLED_SERVICES, nothing added to it, no
    # other plugin, no Tempest section
    [ "$(grep -c '^ENABLED_SERVICES' "$sub")" -eq 1 ]
    [ "$(grep -c '^enable_plugin' "$sub")" -eq 1 ]
    ! grep -q -e 'test-config' -e 'q-l3' -e 'c-vol' "$sub"
    # its nova-compute formats blank volumes as the controller's does
    # (Tempest attaches volumes to the subnode's guests too)
    [ "$(sed -n '/^\[\[post-config/,$p' "$sub")" = "$(printf '%s\n' \
        '[[post-config|$NOVA_CPU_CONF]]' '[docker]' 'format_blank_volumes = True')" ]
    E2E_CINDER=0 _e2e_subnode_local_conf 172.19.0.2 172.19.0.3 172.20.0.3 > "$sub"
    ! grep -q 'post-config' "$sub"
}

# fake_docker: docker inspect gives gate 172.19.0.2 and gate-sub
# 172.19.0.3 on the gate's network, 172.20.0.2 and 172.20.0.3 on the
# tunnels'; a file written in a container (tee) lands in
# $BATS_TEST_TMPDIR/<container>/<path>; every call is recorded
fake_docker() {
    docker() {
        echo "docker $*" >> "$BATS_TEST_TMPDIR/docker-calls"
        case "$1" in
            inspect)
                case "$3 ${!#}" in
                    *'"nova-docker-e2e"'*' gate') echo 172.19.0.2;;
                    *'"nova-docker-e2e"'*' gate-sub') echo 172.19.0.3;;
                    *'"nova-docker-e2e-tunnel"'*' gate') echo 172.20.0.2;;
                    *'"nova-docker-e2e-tunnel"'*' gate-sub') echo 172.20.0.3;;
                    *) return 1;;
                esac;;
            exec)
                if [[ $2 == -i && $6 == tee ]]; then
                    mkdir -p "$BATS_TEST_TMPDIR/$5$(dirname "$7")"
                    cat > "$BATS_TEST_TMPDIR/$5$7"
                fi;;
        esac
        return 0
    }
}

@test "subnode: DevStack cloned in it, local.conf with both containers' addresses on the gate's network and its own on the tunnels'" {
    fake_docker
    E2E_NODES=2
    e2e_install_subnode
    local conf=$BATS_TEST_TMPDIR/gate-sub/opt/stack/devstack/local.conf
    grep -qx SERVICE_HOST=172.19.0.2 "$conf"
    grep -qx HOST_IP=172.19.0.3 "$conf"
    grep -qx TUNNEL_ENDPOINT_IP=172.20.0.3 "$conf"
    grep -q '^docker exec -u stack -e HOME=/opt/stack gate-sub git clone -q https://opendev.org/openstack/devstack.git /opt/stack/devstack$' "$BATS_TEST_TMPDIR/docker-calls"
    grep -q '^docker exec gate-sub chown stack:stack /opt/stack$' "$BATS_TEST_TMPDIR/docker-calls"
}

@test "controller: with two nodes its address is asked once it runs and goes into its local.conf; with one, never" {
    fake_docker
    E2E_NODES=2 E2E_CIRROS_VERSION=0.5.3
    e2e_install_devstack
    [ "$E2E_CONTROLLER_IP" = 172.19.0.2 ]
    grep -qx HOST_IP=172.19.0.2 "$BATS_TEST_TMPDIR/gate/opt/stack/devstack/local.conf"
    grep -qx TUNNEL_ENDPOINT_IP=172.20.0.2 "$BATS_TEST_TMPDIR/gate/opt/stack/devstack/local.conf"
    rm "$BATS_TEST_TMPDIR/docker-calls"
    E2E_NODES=1 E2E_CONTROLLER_IP=
    e2e_install_devstack
    ! grep -q '^docker inspect' "$BATS_TEST_TMPDIR/docker-calls"
    cmp "$ND_REPO/tests/bats/fixtures/e2e-local.conf.ovs" "$BATS_TEST_TMPDIR/gate/opt/stack/devstack/local.conf"
}

@test "container: the subnode is started as the controller is, under its own name, host name and engine volume" {
    docker() { echo "docker $*" >> "$BATS_TEST_TMPDIR/docker-calls"; }
    _e2e_wait_systemd() { echo "wait $1" >> "$BATS_TEST_TMPDIR/docker-calls"; }
    e2e_start_container some-image
    e2e_start_subnode some-image
    local runs
    runs=$(grep '^docker run -d ' "$BATS_TEST_TMPDIR/docker-calls")
    [ "$(wc -l <<< "$runs")" -eq 2 ]
    [[ "$(sed -n 2p <<< "$runs")" == *"--name gate-sub --hostname devstack-sub --network nova-docker-e2e "*"-v gate-sub-docker:/var/lib/docker "* ]]
    # the same flags otherwise: isolation, loop devices, cgroups, mounts
    [ "$(sed -n 1p <<< "$runs" | sed 's/gate-docker/VOLUME/; s/--name gate /--name NAME /; s/--hostname devstack /--hostname HOST /')" = \
      "$(sed -n 2p <<< "$runs" | sed 's/gate-sub-docker/VOLUME/; s/--name gate-sub /--name NAME /; s/--hostname devstack-sub /--hostname HOST /')" ]
    grep -qx 'docker volume create gate-sub-docker' "$BATS_TEST_TMPDIR/docker-calls"
    grep -qx 'wait gate-sub' "$BATS_TEST_TMPDIR/docker-calls"
    # one node: no tunnels' network
    ! grep -q 'network connect' "$BATS_TEST_TMPDIR/docker-calls"
}

@test "container: with two nodes, each joins the tunnels' network as it starts" {
    docker() { echo "docker $*" >> "$BATS_TEST_TMPDIR/docker-calls"; }
    _e2e_wait_systemd() { echo "wait $1" >> "$BATS_TEST_TMPDIR/docker-calls"; }
    E2E_NODES=2
    e2e_start_container some-image
    e2e_start_subnode some-image
    # each right after its run, before systemd is awaited
    [ "$(grep -e '^docker run -d' -e 'network connect' -e '^wait' "$BATS_TEST_TMPDIR/docker-calls" | cut -c1-40)" = \
"docker run -d --name gate --hostname dev
docker network connect nova-docker-e2e-t
wait gate
docker run -d --name gate-sub --hostname
docker network connect nova-docker-e2e-t
wait gate-sub" ]
    grep -qx 'docker network connect nova-docker-e2e-tunnel gate' "$BATS_TEST_TMPDIR/docker-calls"
    grep -qx 'docker network connect nova-docker-e2e-tunnel gate-sub' "$BATS_TEST_TMPDIR/docker-calls"
}

# fake_node_network <interface> <address/prefix>: ip and ovs-vsctl on PATH
# as a node has them, the tunnel address on that interface; their changes
# recorded in $BATS_TEST_TMPDIR/calls
fake_node_network() {
    mkdir -p "$BATS_TEST_TMPDIR/bin"
    cat > "$BATS_TEST_TMPDIR/bin/ip" <<STUB
#!/bin/bash
if [[ \$* == "-o -4 addr show" ]]; then
    echo "1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever"
    echo "5: eth0    inet 172.19.0.3/16 brd 172.19.255.255 scope global eth0\\       valid_lft forever"
    echo "7: $1    inet $2 brd 172.20.255.255 scope global $1\\       valid_lft forever"
    exit 0
fi
echo "ip \$*" >> "$BATS_TEST_TMPDIR/calls"
STUB
    printf '#!/bin/bash\necho "ovs-vsctl $*" >> "%s/calls"\n' "$BATS_TEST_TMPDIR" \
        > "$BATS_TEST_TMPDIR/bin/ovs-vsctl"
    chmod +x "$BATS_TEST_TMPDIR/bin/ip" "$BATS_TEST_TMPDIR/bin/ovs-vsctl"
}

@test "tunnel bridge: the address moves from its interface onto br-phy, a netdev bridge with that interface as its port" {
    fake_node_network eth1 172.20.0.3/16
    PATH=$BATS_TEST_TMPDIR/bin:$PATH run bash -c "$(_e2e_tunnel_bridge_script)" _ 172.20.0.3
    [ "$status" -eq 0 ]
    [ "$(cat "$BATS_TEST_TMPDIR/calls")" = "ovs-vsctl --may-exist add-br br-phy -- set Bridge br-phy datapath_type=netdev
ovs-vsctl --may-exist add-port br-phy eth1
ip addr del 172.20.0.3/16 dev eth1
ip addr add 172.20.0.3/16 dev br-phy
ip link set br-phy up" ]
}

@test "tunnel bridge: again, nothing changes; an address no interface has is a clear error" {
    fake_node_network br-phy 172.20.0.3/16
    PATH=$BATS_TEST_TMPDIR/bin:$PATH run bash -c "$(_e2e_tunnel_bridge_script)" _ 172.20.0.3
    [ "$status" -eq 0 ]
    [ ! -e "$BATS_TEST_TMPDIR/calls" ]
    PATH=$BATS_TEST_TMPDIR/bin:$PATH run bash -c "$(_e2e_tunnel_bridge_script)" _ 172.20.0.9
    [ "$status" -ne 0 ]
    [[ "$output" == *"no interface has 172.20.0.9"* ]]
    [ ! -e "$BATS_TEST_TMPDIR/calls" ]
}

@test "tunnel bridge: run as root in the node, with its address on the tunnels' network" {
    fake_docker
    e2e_tunnel_bridge gate-sub
    # the script's lines, then its argument
    grep -qx "docker exec gate-sub bash -c set -e" "$BATS_TEST_TMPDIR/docker-calls"
    grep -qx "ip link set br-phy up _ 172.20.0.3" "$BATS_TEST_TMPDIR/docker-calls"
}

@test "container: e2e_remove takes the subnode's container and volume too, whether or not it ran" {
    docker() { echo "docker $*" >> "$BATS_TEST_TMPDIR/docker-calls"; [[ $* != *gate-sub* ]]; }
    run e2e_remove
    [ "$status" -eq 0 ]
    [ "$(cat "$BATS_TEST_TMPDIR/docker-calls")" = "docker rm -f gate
docker rm -f gate-sub
docker volume rm -f gate-docker
docker volume rm -f gate-sub-docker" ]
}

@test "container: no address on the gate's network is a clear error" {
    docker() { echo ""; }
    run e2e_container_ip gate
    [ "$status" -ne 0 ]
    [[ "$output" == *"gate has no address on nova-docker-e2e"* ]]
}

# fake_controller_openstack <services> <hypervisors>: the controller's
# admin answers with these lists
fake_controller_openstack() {
    FAKE_SERVICES=$1 FAKE_HYPERVISORS=$2
    e2e_guest() {
        case "$*" in
            *"compute service list"*) echo "$FAKE_SERVICES";;
            *"hypervisor list"*) echo "$FAKE_HYPERVISORS";;
            *) return 1;;
        esac
    }
}

@test "subnode: both nova-compute services up and two hypervisors, kept in the logs" {
    E2E_SUBNODE_TIMEOUT=0
    fake_controller_openstack $'devstack up\ndevstack-sub up' $'devstack up\ndevstack-sub up'
    e2e_check_computes
    grep -qx 'devstack-sub up' "$E2E_LOGS/compute-services.txt"
    grep -qx 'devstack-sub up' "$E2E_LOGS/hypervisors.txt"
    fake_controller_openstack $'devstack up\ndevstack-sub down' $'devstack up\ndevstack-sub up'
    run e2e_check_computes
    [ "$status" -ne 0 ]
    [[ "$output" == *"not two nova-compute services up: devstack up devstack-sub down"* ]]
    fake_controller_openstack $'devstack up\ndevstack-sub up' 'devstack up'
    run e2e_check_computes
    [ "$status" -ne 0 ]
    [[ "$output" == *"not two hypervisors: devstack up"* ]]
}

@test "subnode: discover_hosts.sh run in the controller until the subnode is mapped" {
    E2E_SUBNODE_TIMEOUT=0
    e2e_guest() {
        echo "$*" >> "$BATS_TEST_TMPDIR/guest-calls"
        if [[ $1 == nova-manage ]]; then
            printf '| cell1 | 1234 | devstack |\n| cell1 | 1234 | %s |\n' "$FAKE_MAPPED"
        fi
    }
    FAKE_MAPPED=devstack-sub
    e2e_discover_hosts
    [ "$(head -n 1 "$BATS_TEST_TMPDIR/guest-calls")" = ./tools/discover_hosts.sh ]
    FAKE_MAPPED=devstack
    run e2e_discover_hosts
    [ "$status" -ne 0 ]
    [[ "$output" == *"devstack-sub not mapped to a cell"* ]]
}

@test "subnode: the evacuated guest's container is looked for in the subnode's engine by its instance label" {
    E2E_SUBNODE_TIMEOUT=0
    e2e_guest() { echo 6f1c0d3e-uuid; }
    docker() {
        echo "docker $*" >> "$BATS_TEST_TMPDIR/docker-calls"
        echo "$FAKE_LEFT"
    }
    FAKE_LEFT=
    e2e_subnode_guest_gone e2e-mn-a
    grep -qx 'docker exec gate-sub docker ps -aq --filter label=org.openstack.nova.instance_uuid=6f1c0d3e-uuid' "$BATS_TEST_TMPDIR/docker-calls"
    FAKE_LEFT=0123abcd
    run e2e_subnode_guest_gone e2e-mn-a
    [ "$status" -ne 0 ]
    [[ "$output" == *"the subnode's engine still has the container of e2e-mn-a (6f1c0d3e-uuid)"* ]]
}

# fake_phases <failing phase>: the guest's phases and the subnode's
# nova-compute recorded, that phase failing
fake_phases() {
    FAKE_FAILING=$1
    _e2e_multinode_steps() {
        echo "phase $1" >> "$BATS_TEST_TMPDIR/order"
        [[ $1 != "$FAKE_FAILING" ]]
    }
    e2e_subnode_compute() { echo "n-cpu $1" >> "$BATS_TEST_TMPDIR/order"; }
    e2e_subnode_guest_gone() { echo "gone $1" >> "$BATS_TEST_TMPDIR/order"; }
    : > "$E2E_LOGS/steps.txt"
}

@test "multinode: the subnode's nova-compute stopped for the evacuation, then started again, and the evacuated guest looked for" {
    fake_phases none
    e2e_multinode_steps 2>/dev/null
    [ "$(cat "$BATS_TEST_TMPDIR/order")" = "phase moves
n-cpu stop
phase evacuate
n-cpu start
phase rejoin
gone e2e-mn-a
phase cleanup" ]
    grep -q '^STEP multinode/subnode-compute-stop .* ok$' "$E2E_LOGS/steps.txt"
    grep -q '^STEP multinode/evacuated-guest-gone-from-subnode .* ok$' "$E2E_LOGS/steps.txt"
}

@test "multinode: a failed evacuation still brings the subnode's nova-compute back, and the cleanup runs" {
    fake_phases evacuate
    run e2e_multinode_steps
    [ "$status" -ne 0 ]
    [ "$(cat "$BATS_TEST_TMPDIR/order")" = "phase moves
n-cpu stop
phase evacuate
n-cpu start
phase rejoin
phase cleanup" ]
}

@test "multinode: failed moves skip the evacuation; the cleanup still runs" {
    fake_phases moves
    run e2e_multinode_steps
    [ "$status" -ne 0 ]
    [ "$(cat "$BATS_TEST_TMPDIR/order")" = "phase moves
phase cleanup" ]
}

@test "multinode: the guest phases run in the controller with both host names, their steps prefixed" {
    e2e_guest() { echo "guest $*"; echo "STEP boot-on-subnode 1.0 ok"; }
    : > "$E2E_LOGS/steps.txt"
    run _e2e_multinode_steps moves
    [ "$status" -eq 0 ]
    grep -qx 'guest env E2E_CONTROLLER_HOST=devstack E2E_SUBNODE_HOST=devstack-sub /opt/e2e/gate/guest/multinode-steps moves' "$E2E_LOGS/multinode-moves.txt"
    grep -qx 'STEP multinode-moves/boot-on-subnode 1.0 ok' "$E2E_LOGS/steps.txt"
}

@test "guest: multinode-steps reuses cloud-steps' helpers, with networks of its own, as the admin" {
    openstack() {
        echo '{"addresses": {"e2e-mn-net": ["10.2.0.5"], "net1": ["10.1.0.9"]}}'
    }
    NOVA_DOCKER_DIR=$ND_REPO source "$E2E_DIR/guest/multinode-steps"
    # sourced: neither script's walk-through ran
    [ "$OS_CLOUD" = devstack-admin ]
    [ "$(fixed_ip e2e-mn-a)" = 10.2.0.5 ]
    declare -F step wait_status retry fixed_ip_ping container_of delete_all upload_busybox_image > /dev/null
    E2E_SUBNODE_HOST=devstack-sub run main rescue
    [ "$status" -eq 2 ]
    [[ "$output" == *"usage: "*"moves|evacuate|rejoin|cleanup"* ]]
}

@test "guest: multinode-steps places a server with the admin's nova:<host> zone, and checks where it landed" {
    openstack() {
        echo "openstack $*" >> "$BATS_TEST_TMPDIR/os-calls"
        case "$*" in
            *"server show e2e-mn-b -f value -c status") echo ACTIVE;;
            *"server show e2e-mn-b -f value -c OS-EXT-SRV-ATTR:host") echo devstack;;
        esac
    }
    NOVA_DOCKER_DIR=$ND_REPO source "$E2E_DIR/guest/multinode-steps"
    run boot_on e2e-mn-b devstack-sub
    [ "$status" -ne 0 ]
    [[ "$output" == *"e2e-mn-b is on devstack, not devstack-sub"* ]]
    grep -q -- '--availability-zone nova:devstack-sub --wait e2e-mn-b' "$BATS_TEST_TMPDIR/os-calls"
    grep -q -- '--network e2e-mn-net --security-group e2e-mn ' "$BATS_TEST_TMPDIR/os-calls"
}

@test "report: how many nodes ran, and with two, where nova-compute was up" {
    E2E_RECORD=$BATS_TEST_TMPDIR/LAST_RUN.md
    : > "$E2E_LOGS/steps.txt"
    : > "$E2E_LOGS/commits.txt"
    echo "Tempest regex: x" > "$E2E_LOGS/tempest.txt"
    e2e_write_report PASSED 1 2>/dev/null
    grep -qx -- '- Nodes: 1 (all-in-one)' "$E2E_RECORD"
    E2E_NODES=2
    e2e_write_report FAILED 1 2>/dev/null
    grep -qx -- '- Nodes: 2 (a controller and a compute-only subnode, devstack-sub); nova-compute up on: none seen' "$E2E_RECORD"
    printf 'devstack up\ndevstack-sub up\n' > "$E2E_LOGS/compute-services.txt"
    e2e_write_report PASSED 1 2>/dev/null
    grep -qx -- '- Nodes: 2 (a controller and a compute-only subnode, devstack-sub); nova-compute up on: devstack devstack-sub' "$E2E_RECORD"
}

@test "report: the subnode's logs beside the controller's, when it ran" {
    docker() {
        case "$1 ${!#}" in
            "inspect gate-sub") [[ -n ${FAKE_SUB:-} ]]; return;;
            "inspect "*) return 0;;
            exec*) [[ $* == *"cat /opt/stack/devstack/local.conf" ]] && echo "local.conf of $2";;
        esac
        return 0
    }
    e2e_collect_logs
    [ "$(cat "$E2E_LOGS/guest/local.conf")" = "local.conf of gate" ]
    [ ! -e "$E2E_LOGS/guest-sub" ]
    FAKE_SUB=1
    e2e_collect_logs
    [ "$(cat "$E2E_LOGS/guest-sub/local.conf")" = "local.conf of gate-sub" ]
    [ ! -e "$E2E_LOGS/guest-sub/tempest.conf" ]
}
