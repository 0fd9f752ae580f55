#!/usr/bin/env bats
#
# What the plugin relies on in real DevStack (skipped without DEVSTACK_DIR):
# if one of these changes upstream, the plugin must change with it.

load helpers/fake_devstack

setup() {
    nd_require_real_devstack
}

@test "stackrc: VIRT_DRIVER=docker gives DOCKER_GROUP=docker and no image download" {
    run bash -c 'TOP_DIR=$1; source "$1/functions"; VIRT_DRIVER=docker; source "$1/stackrc";
        echo "[$DOCKER_GROUP] [$IMAGE_URLS] [$DOWNLOAD_DEFAULT_IMAGES] [${DEFAULT_IMAGE_NAME:-}]"' \
        _ "$DEVSTACK_DIR"
    [ "$status" -eq 0 ]
    [ "${lines[${#lines[@]}-1]}" = "[docker] [] [False] []" ]
}

@test "stackrc: the cirros release URL pattern the plugin follows" {
    grep -q 'https://github.com/cirros-dev/cirros/releases/download/${CIRROS_VERSION}/' "$DEVSTACK_DIR/stackrc"
    source "$ND_REPO/devstack/settings" 2> /dev/null || true
    [ "$NOVA_DOCKER_CIRROS_RELEASE_URL" = https://github.com/cirros-dev/cirros/releases/download ]
}

@test "lib/nova: n-cpu runs with DOCKER_GROUP for VIRT_DRIVER=docker" {
    run grep -A1 '"$VIRT_DRIVER" = .docker.' "$DEVSTACK_DIR/lib/nova"
    [[ "$output" == *'run_process n-cpu "$NOVA_BIN_DIR/nova-compute --config-file $NOVA_CPU_CONF" $DOCKER_GROUP'* ]]
}

@test "lib/nova: nova-cpu.conf is copied from nova.conf when n-cpu starts" {
    # why nova_docker_configure writes nova.conf as well as nova-cpu.conf
    grep -q 'cp $compute_cell_conf $NOVA_CPU_CONF' "$DEVSTACK_DIR/lib/nova"
    grep -q 'local compute_cell_conf=$NOVA_CONF' "$DEVSTACK_DIR/lib/nova"
}

@test "stack.sh: the phases run in the order the plugin expects" {
    run grep -nE '^run_phase stack|^merge_config_group|start_nova$|start_glance$|upload_image ' "$DEVSTACK_DIR/stack.sh"
    local order
    order=$(printf '%s\n' "${lines[@]}" | sed -E 's/^[0-9]+: *//' | tr '\n' '|')
    [[ "$order" == *"run_phase stack pre-install|run_phase stack install|run_phase stack post-config|merge_config_group \$TOP_DIR/local.conf post-config|start_nova|start_glance|"*"run_phase stack extra|"*"run_phase stack test-config|"* ]]
}

@test "setup_develop reads the project name from setup.cfg, which we have" {
    grep -q 'setup.cfg' "$DEVSTACK_DIR/inc/python"
    grep -qx 'name = novadocker' "$BATS_TEST_DIRNAME/../../setup.cfg"
}

@test "Tempest is configured (extras.d) before plugins' test-config runs" {
    grep -q 'configure_tempest' "$DEVSTACK_DIR/extras.d/80-tempest.sh"
    run sed -n '/^function run_phase/,/^}/p' "$DEVSTACK_DIR/functions-common"
    [[ "$output" == *"extras.d"*"run_plugins"* ]]
}

@test "lib/glance: DevStack leaves [image_format] container_formats to Glance's default" {
    run grep -n 'container_formats' "$DEVSTACK_DIR/lib/glance"
    [ "$status" -eq 1 ]
}
