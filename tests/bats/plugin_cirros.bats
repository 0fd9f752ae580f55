#!/usr/bin/env bats
#
# stack extra: the cirros images, built from the release's rootfs and
# uploaded to Glance (fake docker and openstack).
# Against the harness (or the real DevStack functions when DEVSTACK_DIR is
# set); helpers/plugin has what the plugin's bats files share.

load helpers/fake_devstack
load helpers/plugin

setup() {
    nd_setup
}

# --- extra: the cirros image (fake docker and openstack) -------------------

# the rootfs the images are imported from
prepared_rootfs() {
    echo "$FILES/nova-docker-cirros-$CIRROS_VERSION-$CIRROS_ARCH-lxc.tar"
}

@test "extra: cached rootfs imported with CMD /sbin/init, streamed to Glance" {
    put_rootfs_in_files
    run nd_phase stack extra
    [ "$status" -eq 0 ]
    [ -z "$(nd_calls '^curl')" ]
    local tag="nova-docker/cirros:$CIRROS_VERSION"
    nd_calls "^docker --host unix:///var/run/docker.sock import --change CMD \[\"/sbin/init\"\] $(prepared_rootfs) $tag$" | grep -q .
    nd_calls "^openstack --os-cloud=devstack-admin --os-region-name=RegionOne image create cirros --container-format docker --disk-format raw --public --property os_admin_user=cirros$" | grep -q .
    [ "$(cat "$ND_STATE/upload-cirros")" = "docker save of $tag" ]
}

@test "extra: with Tempest, a distinct second image for image_ref_alt" {
    put_rootfs_in_files
    run nd_phase stack extra
    [ "$status" -eq 0 ]
    local tag="nova-docker/cirros:$CIRROS_VERSION-alt"
    nd_calls "^docker .* import --change CMD \[\"/sbin/init\"\] --change LABEL org.openstack.nova-docker.image=cirros-alt .* $tag$" | grep -q .
    [ "$(cat "$ND_STATE/upload-cirros-alt")" = "docker save of $tag" ]
    # Tempest's password test logs in as cirros on either image
    nd_calls "image create cirros-alt .* --property os_admin_user=cirros$" | grep -q .
    # the first image is the plain rootfs
    [ "$(cat "$ND_STATE/upload-cirros")" = "docker save of nova-docker/cirros:$CIRROS_VERSION" ]
}

@test "extra: without Tempest, one image" {
    put_rootfs_in_files
    ENABLED_SERVICES=key,n-cpu,g-api
    run nd_phase stack extra
    [ "$status" -eq 0 ]
    [ -e "$ND_STATE/upload-cirros" ]
    [ ! -e "$ND_STATE/upload-cirros-alt" ]
}

@test "extra: downloads the rootfs from the cirros release when not cached" {
    make_rootfs "$ND_STATE/downloads/cirros-$CIRROS_VERSION-$CIRROS_ARCH-lxc.tar.xz"
    run nd_phase stack extra
    [ "$status" -eq 0 ]
    nd_calls "^curl .* https://github.com/cirros-dev/cirros/releases/download/$CIRROS_VERSION/cirros-$CIRROS_VERSION-$CIRROS_ARCH-lxc.tar.xz$" | grep -q .
    cmp "$ND_STATE/downloads/cirros-$CIRROS_VERSION-$CIRROS_ARCH-lxc.tar.xz" \
        "$FILES/cirros-$CIRROS_VERSION-$CIRROS_ARCH-lxc.tar.xz"
}

@test "extra: the image's rootfs has the directory dropbear keeps its keys in" {
    put_rootfs_in_files
    run nd_phase stack extra
    [ "$status" -eq 0 ]
    # /etc/dropbear links there; a container's /run is no fresh tmpfs
    run tar -tvf "$(prepared_rootfs)" run/dropbear
    [ "$status" -eq 0 ]
    [[ "$output" == "drwx------ root/root "*" run/dropbear"* ]]
    # everything of the release is still there
    tar -tf "$(prepared_rootfs)" | grep -qx etc/dropbear
}

# inittab_of <tarball>: the etc/inittab docker import keeps, the last one
inittab_of() {
    local dir=$BATS_TEST_TMPDIR/extracted
    rm -rf "$dir"
    mkdir -p "$dir"
    tar -xf "$1" -C "$dir" etc/inittab
    cat "$dir/etc/inittab"
}

@test "extra: the release's inittab without a serial console" {
    put_rootfs_in_files
    run nd_phase stack extra
    [ "$status" -eq 0 ]
    [ "$(tar -tf "$(prepared_rootfs)" | grep -cx etc/inittab)" -eq 1 ]
    run inittab_of "$(prepared_rootfs)"
    [[ "$output" == *$'\n::ctrlaltdel:/sbin/reboot'* ]]
    [[ "$output" != *login* ]]
}

@test "extra: serial console with a terminal: a login on the console, no Ctrl-Alt-Del reboot" {
    put_rootfs_in_files
    ENABLED_SERVICES+=,n-sproxy
    run nd_phase stack extra
    [ "$status" -eq 0 ]
    local rootfs=$FILES/nova-docker-cirros-$CIRROS_VERSION-$CIRROS_ARCH-lxc-login.tar
    nd_calls "^docker .* import --change CMD \[\"/sbin/init\"\] $rootfs nova-docker/cirros:$CIRROS_VERSION$" | grep -q .
    run inittab_of "$rootfs"
    [ "${lines[-1]}" = "::respawn:/bin/login" ]
    [[ "$output" == *"#::ctrlaltdel:/sbin/reboot"* ]]
    [[ "$output" == *"::sysinit:/etc/init.d/rc.sysinit"* ]]
    # docker import refuses a path twice
    [ "$(tar -tf "$rootfs" | grep -cx etc/inittab)" -eq 1 ]
    [ "$(tar -tf "$rootfs" | sort | uniq -d)" = "" ]
    # the plain image's rootfs is another file
    [ ! -e "$(prepared_rootfs)" ]
    tar -tf "$rootfs" | grep -qx etc/dropbear
}

@test "extra: serial console without a terminal: no login (it refuses a pipe)" {
    put_rootfs_in_files
    ENABLED_SERVICES+=,n-sproxy NOVA_DOCKER_CONSOLE_TTY=False
    run nd_phase stack extra
    [ "$status" -eq 0 ]
    run inittab_of "$(prepared_rootfs)"
    [ "$status" -eq 0 ]
    [[ "$output" != *login* ]]
}

@test "extra: the real cirros rootfs gets its console login" {
    nd_require_cirros_rootfs
    CIRROS_VERSION=0.5.3
    cp "$ROOTFS" "$FILES/"
    ENABLED_SERVICES+=,n-sproxy
    run nd_phase stack extra
    [ "$status" -eq 0 ]
    local rootfs=$FILES/nova-docker-cirros-0.5.3-x86_64-lxc-login.tar
    [ "$(tar -tf "$rootfs" | sort | uniq -d)" = "" ]
    run inittab_of "$rootfs"
    [ "${lines[-1]}" = "::respawn:/bin/login" ]
    [ "$(grep -c ctrlaltdel <<< "$output")" -eq 1 ]
    [[ "$output" == *"#::ctrlaltdel:/sbin/reboot"* ]]
}

@test "extra: a rootfs without an inittab dies clearly when it needs the login" {
    local dir=$BATS_TEST_TMPDIR/bare
    mkdir -p "$dir/etc"
    tar -C "$dir" -cJf "$FILES/cirros-$CIRROS_VERSION-$CIRROS_ARCH-lxc.tar.xz" etc
    ENABLED_SERVICES+=,n-sproxy
    run nd_phase stack extra
    [ "$status" -ne 0 ]
    [[ "$output" == *"Could not prepare $FILES/cirros-$CIRROS_VERSION-$CIRROS_ARCH-lxc.tar.xz for Docker"* ]]
    [ -z "$(ls "$FILES" | grep -v '^cirros-')" ]
    [ -z "$(nd_calls ' import ')" ]
}

@test "extra: a rootfs that is no xz tarball dies clearly, leaves nothing" {
    echo "not a tarball" > "$FILES/cirros-$CIRROS_VERSION-$CIRROS_ARCH-lxc.tar.xz"
    run nd_phase stack extra
    [ "$status" -ne 0 ]
    [[ "$output" == *"Could not prepare $FILES/cirros-$CIRROS_VERSION-$CIRROS_ARCH-lxc.tar.xz for Docker"* ]]
    [ ! -e "$(prepared_rootfs)" ]
    [ ! -e "$(prepared_rootfs).part" ]
    [ -z "$(nd_calls ' import ')" ]
}

@test "extra: a failed download dies and leaves no partial file" {
    run nd_phase stack extra
    [ "$status" -ne 0 ]
    [[ "$output" == *"Could not download cirros-$CIRROS_VERSION-$CIRROS_ARCH-lxc.tar.xz"* ]]
    [ -z "$(ls "$FILES")" ]
    [ ! -e "$ND_STATE/upload-cirros" ]
}

@test "extra: skipped when Glance has the images already" {
    printf 'cirros some-id\ncirros-alt other-id\n' > "$ND_STATE/glance"
    run nd_phase stack extra
    [ "$status" -eq 0 ]
    [ -z "$(nd_calls '^docker .* (import|save)')" ]
    [ -z "$(nd_calls 'image create')" ]
}

@test "extra: DEFAULT_IMAGE_NAME and the import workflow are honoured" {
    put_rootfs_in_files
    DEFAULT_IMAGE_NAME=cirros-docker GLANCE_USE_IMPORT_WORKFLOW=True
    run nd_phase stack extra
    [ "$status" -eq 0 ]
    nd_calls 'image create cirros-docker .* --import --property os_admin_user=cirros$' | grep -q .
}
