#!/usr/bin/env bats
#
# stack install and post-config: the driver, nova.conf and nova-cpu.conf,
# networking, the serial console, Glance's formats and Horizon.
# Against the harness (or the real DevStack functions when DEVSTACK_DIR is
# set); helpers/plugin has what the plugin's bats files share.

load helpers/fake_devstack
load helpers/plugin

setup() {
    nd_setup
}

# --- install ---------------------------------------------------------------

@test "install: setup_develop with upper-constraints, into DevStack's venv" {
    run nd_phase stack install
    [ "$status" -eq 0 ]
    nd_calls "^edit-constraints $REQUIREMENTS_DIR/upper-constraints.txt -- novadocker$" | grep -q .
    nd_calls "^pip install -c $REQUIREMENTS_DIR/upper-constraints.txt .*-e $ND_REPO$" | grep -q .
}

@test "install: dies when the driver did not get installed" {
    export ND_PIP_FAIL=1
    run nd_phase stack install
    [ "$status" -ne 0 ]
    [[ "$output" == *"nova-docker"*"$ND_REPO"* ]]
}

@test "install: nothing on a node without n-cpu" {
    ENABLED_SERVICES=key,g-api,mysql
    run nd_phase stack install
    [ "$status" -eq 0 ]
    [ ! -s "$ND_CALLS" ]
}

# --- post-config -----------------------------------------------------------

@test "post-config: compute_driver and [docker] in nova.conf and nova-cpu.conf" {
    run nd_phase stack post-config
    [ "$status" -eq 0 ]
    for conf in "$NOVA_CONF" "$NOVA_CPU_CONF"; do
        [ "$(iniget "$conf" DEFAULT compute_driver)" = docker.DockerDriver ]
        [ "$(iniget "$conf" docker api_url)" = unix:///var/run/docker.sock ]
        [ "$(iniget "$conf" docker engine)" = docker ]
        [ -z "$(iniget "$conf" docker pids_limit)" ]
        [ -z "$(iniget "$conf" docker root_disk_quota)" ]
    done
}

@test "post-config: [docker] options from plugin variables" {
    NOVA_DOCKER_API_URL=tcp://10.0.0.5:2375 NOVA_DOCKER_API_TIMEOUT=30 \
        NOVA_DOCKER_PIDS_LIMIT=256 NOVA_DOCKER_SOFT_REBOOT_TIMEOUT=5 \
        NOVA_DOCKER_ROOT_DISK_QUOTA=enforce
    run nd_phase stack post-config
    [ "$status" -eq 0 ]
    [ "$(iniget "$NOVA_CPU_CONF" docker api_url)" = tcp://10.0.0.5:2375 ]
    [ "$(iniget "$NOVA_CPU_CONF" docker api_timeout)" = 30 ]
    [ "$(iniget "$NOVA_CPU_CONF" docker pids_limit)" = 256 ]
    [ "$(iniget "$NOVA_CPU_CONF" docker soft_reboot_timeout)" = 5 ]
    [ "$(iniget "$NOVA_CPU_CONF" docker root_disk_quota)" = enforce ]
}

@test "post-config: [docker] lxcfs_path, empty with NOVA_DOCKER_LXCFS=False" {
    run nd_phase stack post-config
    [ "$status" -eq 0 ]
    for conf in "$NOVA_CONF" "$NOVA_CPU_CONF"; do
        [ "$(iniget "$conf" docker lxcfs_path)" = /var/lib/lxcfs ]
    done
    NOVA_DOCKER_LXCFS=False
    run nd_phase stack post-config
    [ "$status" -eq 0 ]
    for conf in "$NOVA_CONF" "$NOVA_CPU_CONF"; do
        ini_has_option "$conf" docker lxcfs_path
        [ -z "$(iniget "$conf" docker lxcfs_path)" ]
    done
}

@test "post-config: keeps what nova.conf already has" {
    printf '[DEFAULT]\ndebug = True\ncompute_driver = libvirt.LibvirtDriver\n\n[api]\nauth_strategy = keystone\n' > "$NOVA_CONF"
    run nd_phase stack post-config
    [ "$status" -eq 0 ]
    [ "$(iniget "$NOVA_CONF" DEFAULT compute_driver)" = docker.DockerDriver ]
    [ "$(iniget "$NOVA_CONF" DEFAULT debug)" = True ]
    [ "$(iniget "$NOVA_CONF" api auth_strategy)" = keystone ]
    [ "$(grep -c compute_driver "$NOVA_CONF")" -eq 1 ]
}

@test "post-config: rootwrap filter installed root-owned 0644, unchanged" {
    run nd_phase stack post-config
    [ "$status" -eq 0 ]
    local filter=$NOVA_CONF_DIR/rootwrap.d/docker.filters
    cmp "$ND_REPO/etc/nova/rootwrap.d/docker.filters" "$filter"
    [ "$(stat -c %a "$filter")" = 644 ]
    if [ "$(id -u)" = 0 ]; then
        [ "$(stat -c %U:%G "$filter")" = root:root ]
    fi
}

@test "post-config: glance default container_formats already has docker" {
    printf '[DEFAULT]\ndebug = True\n' > "$GLANCE_API_CONF"
    cp "$GLANCE_API_CONF" "$BATS_TEST_TMPDIR/before"
    run nd_phase stack post-config
    [ "$status" -eq 0 ]
    cmp "$BATS_TEST_TMPDIR/before" "$GLANCE_API_CONF"
}

@test "post-config: glance explicit list without docker gets docker added" {
    printf '[DEFAULT]\ndebug = True\n\n[image_format]\ncontainer_formats = ami,ari,aki,bare,ovf\ndisk_formats = raw,qcow2\n' > "$GLANCE_API_CONF"
    run nd_phase stack post-config
    [ "$status" -eq 0 ]
    [ "$(iniget "$GLANCE_API_CONF" image_format container_formats)" = ami,ari,aki,bare,ovf,docker ]
    [ "$(iniget "$GLANCE_API_CONF" image_format disk_formats)" = raw,qcow2 ]
    [ -z "$(iniget "$GLANCE_API_CONF" DEFAULT container_formats)" ]
}

@test "post-config: glance explicit list with docker is left alone" {
    printf '[image_format]\ncontainer_formats = bare, docker\n' > "$GLANCE_API_CONF"
    cp "$GLANCE_API_CONF" "$BATS_TEST_TMPDIR/before"
    run nd_phase stack post-config
    [ "$status" -eq 0 ]
    cmp "$BATS_TEST_TMPDIR/before" "$GLANCE_API_CONF"
}

@test "post-config: glance deprecated [DEFAULT] list is carried over, not written" {
    printf '[DEFAULT]\ncontainer_formats = ami,bare,ova\n' > "$GLANCE_API_CONF"
    run nd_phase stack post-config
    [ "$status" -eq 0 ]
    [ "$(iniget "$GLANCE_API_CONF" image_format container_formats)" = ami,bare,ova,docker ]
    [ "$(iniget "$GLANCE_API_CONF" DEFAULT container_formats)" = ami,bare,ova ]
}

@test "post-config: ML2/OVS node: os-vif's OVSDB is the agent's, vif plugging passed through" {
    ENABLED_SERVICES+=,q-svc,q-agt VIF_PLUGGING_IS_FATAL=True VIF_PLUGGING_TIMEOUT=300
    run nd_phase stack post-config
    [ "$status" -eq 0 ]
    for conf in "$NOVA_CONF" "$NOVA_CPU_CONF"; do
        [ "$(iniget "$conf" os_vif_ovs ovsdb_connection)" = tcp:127.0.0.1:6640 ]
        [ "$(iniget "$conf" DEFAULT vif_plugging_is_fatal)" = True ]
        [ "$(iniget "$conf" DEFAULT vif_plugging_timeout)" = 300 ]
    done
}

@test "post-config: OVN node: the OVSDB lib/nova would name, IPv6 too" {
    ENABLED_SERVICES+=,ovn-controller OVSDB_SERVER_LOCAL_HOST=[::1]
    VIF_PLUGGING_IS_FATAL=False VIF_PLUGGING_TIMEOUT=30
    run nd_phase stack post-config
    [ "$status" -eq 0 ]
    [ "$(iniget "$NOVA_CPU_CONF" os_vif_ovs ovsdb_connection)" = "tcp:[::1]:6640" ]
    [ "$(iniget "$NOVA_CPU_CONF" DEFAULT vif_plugging_is_fatal)" = False ]
    [ "$(iniget "$NOVA_CPU_CONF" DEFAULT vif_plugging_timeout)" = 30 ]
}

@test "post-config: NOVA_DOCKER_OVSDB_CONNECTION wins" {
    ENABLED_SERVICES+=,q-agt OVSDB_SERVER_LOCAL_HOST=10.0.0.5
    NOVA_DOCKER_OVSDB_CONNECTION=unix:/run/openvswitch/db.sock
    run nd_phase stack post-config
    [ "$status" -eq 0 ]
    [ "$(iniget "$NOVA_CPU_CONF" os_vif_ovs ovsdb_connection)" = unix:/run/openvswitch/db.sock ]
}

@test "post-config: no OVS on the node, no networking options" {
    VIF_PLUGGING_IS_FATAL=True VIF_PLUGGING_TIMEOUT=300
    run nd_phase stack post-config
    [ "$status" -eq 0 ]
    [ -z "$(iniget "$NOVA_CPU_CONF" os_vif_ovs ovsdb_connection)" ]
    [ -z "$(iniget "$NOVA_CPU_CONF" DEFAULT vif_plugging_timeout)" ]
}

@test "post-config: vif plugging left to nova's defaults when DevStack sets none" {
    ENABLED_SERVICES+=,q-agt
    unset VIF_PLUGGING_IS_FATAL VIF_PLUGGING_TIMEOUT
    ND_NOUNSET=1 run nd_phase stack post-config
    [ "$status" -eq 0 ]
    [ "$(iniget "$NOVA_CPU_CONF" os_vif_ovs ovsdb_connection)" = tcp:127.0.0.1:6640 ]
    [ -z "$(iniget "$NOVA_CPU_CONF" DEFAULT vif_plugging_is_fatal)" ]
}

@test "post-config: serial console (n-sproxy): the listeners' address and a terminal" {
    ENABLED_SERVICES+=,n-sproxy HOST_IP=192.0.2.10
    run nd_phase stack post-config
    [ "$status" -eq 0 ]
    for conf in "$NOVA_CONF" "$NOVA_CPU_CONF"; do
        [ "$(iniget "$conf" serial_console proxyclient_address)" = 192.0.2.10 ]
        [ "$(iniget "$conf" docker console_tty)" = True ]
        # lib/nova's own, written when n-cpu starts: not the plugin's
        [ -z "$(iniget "$conf" serial_console enabled)" ]
        [ -z "$(iniget "$conf" serial_console base_url)" ]
        [ -z "$(iniget "$conf" serial_console port_range)" ]
    done
}

@test "post-config: serial console on a subnode (NOVA_SERIAL_ENABLED), settings win" {
    NOVA_SERIAL_ENABLED=True HOST_IP=192.0.2.11 \
        NOVA_DOCKER_SERIAL_PROXYCLIENT_ADDRESS=198.51.100.7 NOVA_DOCKER_CONSOLE_TTY=False
    run nd_phase stack post-config
    [ "$status" -eq 0 ]
    [ "$(iniget "$NOVA_CPU_CONF" serial_console proxyclient_address)" = 198.51.100.7 ]
    [ "$(iniget "$NOVA_CPU_CONF" docker console_tty)" = False ]
}

@test "post-config: no serial console, no console options" {
    NOVA_SERIAL_ENABLED=False HOST_IP=192.0.2.10
    run nd_phase stack post-config
    [ "$status" -eq 0 ]
    [ -z "$(iniget "$NOVA_CPU_CONF" serial_console proxyclient_address)" ]
    [ -z "$(iniget "$NOVA_CPU_CONF" docker console_tty)" ]
}

horizon_snippet() {
    echo "$DEST/horizon/openstack_dashboard/local/local_settings.d/_50_nova_docker.py"
}

@test "post-config: Horizon's console is the serial console, framed by Horizon alone, a settings snippet" {
    ENABLED_SERVICES+=,horizon
    run nd_phase stack post-config
    [ "$status" -eq 0 ]
    # what Horizon's settings.py does with the snippets: exec them
    run python3 -c 'import sys; g = {}; exec(open(sys.argv[1]).read(), g); print(g["CONSOLE_TYPE"], g["X_FRAME_OPTIONS"])' \
        "$(horizon_snippet)"
    [ "$status" -eq 0 ]
    # the Console tab frames Horizon's own serial console page
    [ "$output" = "SERIAL SAMEORIGIN" ]
    # a second stack.sh writes the same file
    cp "$(horizon_snippet)" "$BATS_TEST_TMPDIR/first"
    run nd_phase stack post-config
    cmp "$BATS_TEST_TMPDIR/first" "$(horizon_snippet)"
}

@test "post-config: HORIZON_DIR is honoured; no Horizon, no snippet" {
    run nd_phase stack post-config
    [ "$status" -eq 0 ]
    [ ! -e "$(horizon_snippet)" ]
    ENABLED_SERVICES+=,horizon HORIZON_DIR=$ND_ROOT/srv/horizon
    run nd_phase stack post-config
    [ "$status" -eq 0 ]
    grep -qx 'CONSOLE_TYPE = "SERIAL"' "$HORIZON_DIR/openstack_dashboard/local/local_settings.d/_50_nova_docker.py"
}

@test "clean: the Horizon snippet goes" {
    ENABLED_SERVICES+=,horizon
    run nd_phase stack post-config
    [ -e "$(horizon_snippet)" ]
    run nd_phase clean
    [ "$status" -eq 0 ]
    [ ! -e "$(horizon_snippet)" ]
}

@test "post-config: twice gives byte-identical files" {
    printf '[image_format]\ncontainer_formats = ami,bare\n' > "$GLANCE_API_CONF"
    run_stack post-config
    nd_snapshot "$BATS_TEST_TMPDIR/one"
    run_stack post-config
    nd_snapshot "$BATS_TEST_TMPDIR/two"
    diff -r "$BATS_TEST_TMPDIR/one" "$BATS_TEST_TMPDIR/two"
    [ "$(iniget "$GLANCE_API_CONF" image_format container_formats)" = ami,bare,docker ]
}
