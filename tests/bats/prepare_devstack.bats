#!/usr/bin/env bats
#
# prepare_devstack.sh on fake DevStack trees (and, with DEVSTACK_DIR, on a
# copy of the real one read back by DevStack's own code).

load helpers/fake_devstack

setup() {
    DS=$BATS_TEST_TMPDIR/devstack
    mkdir -p "$DS"
    touch "$DS/stack.sh" "$DS/stackrc"
    PREPARE=$ND_REPO/prepare_devstack.sh
    BRANCH=$(git -C "$ND_REPO" rev-parse --abbrev-ref HEAD 2>/dev/null || echo main)
    [[ "$BRANCH" != HEAD ]] || BRANCH=main
    PLUGIN="enable_plugin nova-docker $ND_REPO $BRANCH"
}

# localrc_section <file>: the [[local|localrc]] section's lines
localrc_section() {
    awk '/^\[\[/ { on = ($0 ~ /^\[\[local\|localrc\]\]/); next } on' "$1"
}

@test "local.conf: writes the three lines into [[local|localrc]], keeps the rest" {
    cat > "$DS/local.conf" <<'CONF'
[[local|localrc]]
ADMIN_PASSWORD=secret
enable_service tempest

[[post-config|$NOVA_CONF]]
[DEFAULT]
debug = True
CONF
    run "$PREPARE" "$DS"
    [ "$status" -eq 0 ]
    run localrc_section "$DS/local.conf"
    [ "${lines[0]}" = "ADMIN_PASSWORD=secret" ]
    [ "${lines[1]}" = "enable_service tempest" ]
    [ "${lines[2]}" = "$PLUGIN" ]
    [ "${lines[3]}" = "VIRT_DRIVER=docker" ]
    [ "${lines[4]}" = "DEFAULT_IMAGE_NAME=cirros" ]
    # the other section is untouched, and stays a separate section
    tail -n 4 "$DS/local.conf" | diff - <(printf '\n[[post-config|$NOVA_CONF]]\n[DEFAULT]\ndebug = True\n')
    [ ! -e "$DS/localrc" ]
}

@test "local.conf: second run changes nothing" {
    printf '[[local|localrc]]\nHOST_IP=10.0.0.2\n' > "$DS/local.conf"
    "$PREPARE" "$DS"
    cp "$DS/local.conf" "$BATS_TEST_TMPDIR/first"
    "$PREPARE" "$DS"
    cmp "$BATS_TEST_TMPDIR/first" "$DS/local.conf"
}

@test "local.conf: replaces other values of the same settings, no duplicates" {
    cat > "$DS/local.conf" <<'CONF'
[[local|localrc]]
export VIRT_DRIVER=libvirt
DEFAULT_IMAGE_NAME=cirros-0.6.3-x86_64-disk
enable_plugin nova-docker https://example.org/old/nova-docker stable/old
enable_plugin heat https://opendev.org/openstack/heat
LIBVIRT_TYPE=qemu
CONF
    run "$PREPARE" "$DS"
    [ "$status" -eq 0 ]
    run localrc_section "$DS/local.conf"
    [ "${#lines[@]}" -eq 5 ]
    [ "${lines[0]}" = "VIRT_DRIVER=docker" ]
    [ "${lines[1]}" = "DEFAULT_IMAGE_NAME=cirros" ]
    [ "${lines[2]}" = "$PLUGIN" ]
    [ "${lines[3]}" = "enable_plugin heat https://opendev.org/openstack/heat" ]
    [ "${lines[4]}" = "LIBVIRT_TYPE=qemu" ]
}

@test "local.conf: settings in other sections are not touched" {
    printf '[[post-config|$NOVA_CONF]]\n[DEFAULT]\nVIRT_DRIVER=x\n\n[[local|localrc]]\nA=1\n' > "$DS/local.conf"
    run "$PREPARE" "$DS"
    [ "$status" -eq 0 ]
    grep -qx "VIRT_DRIVER=x" "$DS/local.conf"
    [ "$(grep -c '^VIRT_DRIVER=docker$' "$DS/local.conf")" -eq 1 ]
}

@test "local.conf without a localrc section gets one, first" {
    printf '[[post-config|$NOVA_CONF]]\n[DEFAULT]\ndebug = True\n' > "$DS/local.conf"
    run "$PREPARE" "$DS"
    [ "$status" -eq 0 ]
    [ "$(head -n 1 "$DS/local.conf")" = "[[local|localrc]]" ]
    run localrc_section "$DS/local.conf"
    [ "${lines[0]}" = "$PLUGIN" ]
    grep -qx "debug = True" "$DS/local.conf"
}

@test "localrc present: it is edited, local.conf is not" {
    printf 'export ADMIN_PASSWORD=secret\nexport IMAGE_URLS=" "\n' > "$DS/localrc"
    printf '[[local|localrc]]\nVIRT_DRIVER=libvirt\n' > "$DS/local.conf"
    cp "$DS/local.conf" "$BATS_TEST_TMPDIR/local.conf"
    run "$PREPARE" "$DS"
    [ "$status" -eq 0 ]
    [[ "$output" == *"$DS/localrc"* ]]
    cmp "$BATS_TEST_TMPDIR/local.conf" "$DS/local.conf"
    diff "$DS/localrc" - <<EOF
export ADMIN_PASSWORD=secret
export IMAGE_URLS=" "
$PLUGIN
VIRT_DRIVER=docker
DEFAULT_IMAGE_NAME=cirros
EOF
    "$PREPARE" "$DS"
    [ "$(grep -c nova-docker "$DS/localrc")" -eq 1 ]
}

@test "neither: local.conf is made from devstack/local.conf.sample" {
    run "$PREPARE" "$DS"
    [ "$status" -eq 0 ]
    grep -qx "ADMIN_PASSWORD=secret" "$DS/local.conf"
    run localrc_section "$DS/local.conf"
    [ "$(printf '%s\n' "${lines[@]}" | grep -c '^enable_plugin nova-docker')" -eq 1 ]
    printf '%s\n' "${lines[@]}" | grep -qxF "$PLUGIN"
    printf '%s\n' "${lines[@]}" | grep -qx "VIRT_DRIVER=docker"
}

@test "NOVA_DOCKER_REPO and NOVA_DOCKER_BRANCH choose what DevStack clones" {
    NOVA_DOCKER_REPO=https://example.org/nova-docker NOVA_DOCKER_BRANCH=stable/x \
        run "$PREPARE" "$DS"
    [ "$status" -eq 0 ]
    grep -qx "enable_plugin nova-docker https://example.org/nova-docker stable/x" "$DS/local.conf"
}

@test "not a DevStack checkout: clear error, nothing written" {
    rm "$DS/stack.sh"
    run "$PREPARE" "$DS"
    [ "$status" -ne 0 ]
    [[ "$output" == *"$DS is not a DevStack checkout"* ]]
    [ ! -e "$DS/local.conf" ]
    run "$PREPARE" "$BATS_TEST_TMPDIR/nonexistent"
    [ "$status" -ne 0 ]
    [[ "$output" == *"is not a DevStack checkout"* ]]
}

@test "default directory is /opt/stack/devstack" {
    if [[ -e /opt/stack/devstack ]]; then
        skip "/opt/stack/devstack exists here"
    fi
    run "$PREPARE"
    [ "$status" -ne 0 ]
    [[ "$output" == *"/opt/stack/devstack is not a DevStack checkout"* ]]
}

@test "--help and unknown options" {
    run "$PREPARE" --help
    [ "$status" -eq 0 ]
    [[ "$output" == *"Usage:"*"DEVSTACK_DIR"* ]]
    run "$PREPARE" --bogus
    [ "$status" -ne 0 ]
    [[ "$output" == *"unknown option: --bogus"* ]]
}

@test "keeps the file's mode" {
    printf '[[local|localrc]]\n' > "$DS/local.conf"
    chmod 0600 "$DS/local.conf"
    "$PREPARE" "$DS"
    [ "$(stat -c %a "$DS/local.conf")" = 600 ]
}

# DevStack's own reading of the result: stackrc sees VIRT_DRIVER=docker
# (so DOCKER_GROUP=docker) and downloads no image; the plugin is enabled
read_back() {
    (
        set +o errexit
        TOP_DIR=$1
        source "$1/functions" > /dev/null 2>&1
        source "$1/inc/meta-config"
        rm -f "$1/.localrc.auto"
        extract_localrc_section "$1/local.conf" "$1/localrc" "$1/.localrc.auto" > /dev/null
        source "$1/stackrc" > /dev/null 2>&1
        echo "VIRT_DRIVER=$VIRT_DRIVER DOCKER_GROUP=${DOCKER_GROUP:-} DEFAULT_IMAGE_NAME=$DEFAULT_IMAGE_NAME"
        echo "IMAGE_URLS=[$IMAGE_URLS] DOWNLOAD_DEFAULT_IMAGES=$DOWNLOAD_DEFAULT_IMAGES"
        echo "DEVSTACK_PLUGINS=$DEVSTACK_PLUGINS REPO=${GITREPO[nova-docker]} BRANCH=${GITBRANCH[nova-docker]}"
    )
}

@test "real DevStack reads what it wrote: local.conf" {
    nd_require_real_devstack
    local copy=$BATS_TEST_TMPDIR/real-devstack
    cp -r "$DEVSTACK_DIR" "$copy"
    rm -f "$copy/localrc" "$copy/local.conf" "$copy/.localrc.auto"
    "$PREPARE" "$copy"
    run read_back "$copy"
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = "VIRT_DRIVER=docker DOCKER_GROUP=docker DEFAULT_IMAGE_NAME=cirros" ]
    [ "${lines[1]}" = "IMAGE_URLS=[] DOWNLOAD_DEFAULT_IMAGES=False" ]
    [ "${lines[2]}" = "DEVSTACK_PLUGINS=,nova-docker REPO=$ND_REPO BRANCH=$BRANCH" ]
}

@test "real DevStack reads what it wrote: localrc wins over local.conf" {
    nd_require_real_devstack
    local copy=$BATS_TEST_TMPDIR/real-devstack
    cp -r "$DEVSTACK_DIR" "$copy"
    rm -f "$copy/.localrc.auto"
    printf '[[local|localrc]]\nVIRT_DRIVER=libvirt\n' > "$copy/local.conf"
    printf 'ADMIN_PASSWORD=secret\n' > "$copy/localrc"
    "$PREPARE" "$copy"
    run read_back "$copy"
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = "VIRT_DRIVER=docker DOCKER_GROUP=docker DEFAULT_IMAGE_NAME=cirros" ]
    [ "${lines[1]}" = "IMAGE_URLS=[] DOWNLOAD_DEFAULT_IMAGES=False" ]
}

@test "real DevStack reads the samples: docker driver, plugin, no image download" {
    nd_require_real_devstack
    local copy=$BATS_TEST_TMPDIR/real-devstack sample
    cp -r "$DEVSTACK_DIR" "$copy"
    for sample in devstack/local.conf.sample devstack/local.conf.subnode.sample localrc.sample; do
        rm -f "$copy/localrc" "$copy/local.conf" "$copy/.localrc.auto"
        if [[ $sample == localrc.sample ]]; then
            cp "$ND_REPO/$sample" "$copy/localrc"
        else
            cp "$ND_REPO/$sample" "$copy/local.conf"
        fi
        run read_back "$copy"
        [ "$status" -eq 0 ]
        [ "${lines[0]}" = "VIRT_DRIVER=docker DOCKER_GROUP=docker DEFAULT_IMAGE_NAME=cirros" ]
        [ "${lines[1]}" = "IMAGE_URLS=[] DOWNLOAD_DEFAULT_IMAGES=False" ]
        [ "${lines[2]}" = "DEVSTACK_PLUGINS=,nova-docker REPO=/opt/stack/nova-docker BRANCH=main" ]
    done
}
