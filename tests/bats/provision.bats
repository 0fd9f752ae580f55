#!/usr/bin/env bats
#
# tools/nova-docker-provision: --dry-run, and for real into a temporary
# root with package managers, systemctl, usermod and pip recorded.

load helpers/fake_devstack

setup() {
    nd_setup
    PROVISION=$ND_REPO/tools/nova-docker-provision
    ETC=$ND_ROOT/etc
    printf '[DEFAULT]\ndebug = True\n\n[api]\nauth_strategy = keystone\n' > "$ETC/nova/nova.conf"
    printf '[DEFAULT]\nbind_port = 9292\n\n[image_format]\ncontainer_formats = ami,ari,aki,bare,ovf\n' \
        > "$ETC/glance/glance-api.conf"
    ARGS=(--nova-conf "$ETC/nova/nova.conf" --rootwrap-dir "$ETC/nova/rootwrap.d"
          --glance-conf "$ETC/glance/glance-api.conf" --pip "$ND_BIN/pip"
          --systemd-dir "$ETC/systemd/system")
    DROPIN=$ETC/systemd/system/lxcfs.service.d/nova-docker.conf
    # the fake systemctl mounts LXCFS in this mount table
    export NOVA_DOCKER_MOUNTINFO NOVA_DOCKER_WAIT_TIMEOUT=5
}

require_root() {
    if [ "$(id -u)" != 0 ]; then
        skip "installs root-owned files: run as root"
    fi
}

@test "--help" {
    run "$PROVISION" --help
    [ "$status" -eq 0 ]
    [[ "$output" == *"Usage: nova-docker-provision [options]"* ]]
    [[ "$output" == *"--dry-run"* && "$output" == *"--nova-user"* && "$output" == *"--glance-conf"* ]]
}

@test "unknown option: usage and a clear error" {
    run "$PROVISION" --frobnicate
    [ "$status" -ne 0 ]
    [[ "$output" == *"error: unknown option: --frobnicate"* ]]
    run "$PROVISION" --nova-conf
    [ "$status" -ne 0 ]
    [[ "$output" == *"--nova-conf needs a value"* ]]
    run "$PROVISION" --distro arch "${ARGS[@]}"
    [ "$status" -ne 0 ]
    [[ "$output" == *"--distro must be debian or fedora"* ]]
}

@test "missing nova.conf: clear error, nothing done" {
    run "$PROVISION" --distro debian "${ARGS[@]}" --nova-conf "$ETC/nova/missing.conf"
    [ "$status" -ne 0 ]
    [[ "$output" == *"nova config $ETC/nova/missing.conf not found"* ]]
    [ -z "$(nd_calls '^(apt-get|usermod|pip install|systemctl (restart|enable))')" ]
}

@test "--glance with a missing glance-api.conf: clear error" {
    run "$PROVISION" --distro debian "${ARGS[@]}" --glance --glance-conf "$ETC/glance/missing.conf"
    [ "$status" -ne 0 ]
    [[ "$output" == *"glance config $ETC/glance/missing.conf not found"* ]]
}

@test "a nova user that does not exist: clear error" {
    run "$PROVISION" --distro debian "${ARGS[@]}" --nova-user nobody-here
    [ "$status" -ne 0 ]
    [[ "$output" == *"user nobody-here does not exist"* ]]
}

@test "not root: refuses, except for --dry-run" {
    export ND_FAKE_UID=1000
    run "$PROVISION" --distro debian "${ARGS[@]}"
    [ "$status" -ne 0 ]
    [[ "$output" == *"must run as root"* ]]
    run "$PROVISION" --dry-run --distro debian "${ARGS[@]}"
    [ "$status" -eq 0 ]
}

@test "--dry-run prints every change and makes none" {
    cp -r "$ETC" "$BATS_TEST_TMPDIR/etc-before"
    run "$PROVISION" --dry-run --distro debian "${ARGS[@]}"
    [ "$status" -eq 0 ]
    [[ "$output" == *"would: install docker.io"* ]]
    [[ "$output" == *"would: enable and start the docker service"* ]]
    [[ "$output" == *"would: install lxcfs"* ]]
    [[ "$output" == *"would: install $DROPIN (lxcfs --enable-cfs --enable-loadavg)"* ]]
    [[ "$output" == *"would: enable and start lxcfs"* ]]
    [[ "$output" == *"would: add nova to group docker"* ]]
    [[ "$output" == *"would: pip install $ND_REPO"* ]]
    [[ "$output" == *"would: set [DEFAULT] compute_driver = docker.DockerDriver in $ETC/nova/nova.conf"* ]]
    [[ "$output" == *"would: install $ETC/nova/rootwrap.d/docker.filters (root:root 0644)"* ]]
    [[ "$output" == *"would: set [image_format] container_formats = ami,ari,aki,bare,ovf,docker in $ETC/glance/glance-api.conf"* ]]
    [[ "$output" == *"would: restart nova-compute"* ]]
    [[ "$output" == *"would: restart glance-api"* ]]
    diff -r "$BATS_TEST_TMPDIR/etc-before" "$ETC"
    [ -z "$(nd_calls '^(apt-get|dnf|usermod|pip install|systemctl (restart|enable)|install )')" ]
}

@test "for real (Debian/Ubuntu): every change made" {
    require_root
    run "$PROVISION" --distro debian "${ARGS[@]}"
    [ "$status" -eq 0 ]
    nd_calls '^apt-get install -y docker.io$' | grep -q .
    nd_calls '^systemctl enable --now docker$' | grep -q .
    nd_calls '^apt-get install -y lxcfs$' | grep -q .
    grep -qxF 'ExecStart=' "$DROPIN"
    grep -qxF 'ExecStart=/usr/bin/lxcfs --enable-cfs --enable-loadavg /var/lib/lxcfs' "$DROPIN"
    [ "$(stat -c '%U:%G %a' "$DROPIN")" = "root:root 644" ]
    nd_calls '^systemctl daemon-reload$' | grep -q .
    nd_calls '^systemctl enable --now lxcfs$' | grep -q .
    [[ "$output" == *"ok: LXCFS is mounted at /var/lib/lxcfs"* ]]
    nd_calls '^usermod -aG docker nova$' | grep -q .
    nd_calls "^pip install --upgrade $ND_REPO$" | grep -q .
    iniget "$ETC/nova/nova.conf" DEFAULT compute_driver | grep -qx docker.DockerDriver
    iniget "$ETC/nova/nova.conf" DEFAULT debug | grep -qx True
    iniget "$ETC/nova/nova.conf" api auth_strategy | grep -qx keystone
    local filter=$ETC/nova/rootwrap.d/docker.filters
    cmp "$ND_REPO/etc/nova/rootwrap.d/docker.filters" "$filter"
    [ "$(stat -c '%U:%G %a' "$filter")" = "root:root 644" ]
    iniget "$ETC/glance/glance-api.conf" image_format container_formats | grep -qx ami,ari,aki,bare,ovf,docker
    iniget "$ETC/glance/glance-api.conf" DEFAULT bind_port | grep -qx 9292
    nd_calls '^systemctl restart nova-compute$' | grep -q .
    nd_calls '^systemctl restart glance-api$' | grep -q .
}

@test "for real twice: the same files, and nothing more to do" {
    require_root
    "$PROVISION" --distro debian "${ARGS[@]}"
    nd_snapshot "$BATS_TEST_TMPDIR/one"
    : > "$ND_CALLS"
    run "$PROVISION" --distro debian "${ARGS[@]}"
    [ "$status" -eq 0 ]
    nd_snapshot "$BATS_TEST_TMPDIR/two"
    diff -r "$BATS_TEST_TMPDIR/one" "$BATS_TEST_TMPDIR/two"
    [ -z "$(nd_calls '^(apt-get|usermod|pip install|systemctl (restart|enable))')" ]
    # a dry run now has nothing to print either
    run "$PROVISION" --dry-run --distro debian "${ARGS[@]}"
    [[ "$output" != *"would:"* ]]
}

@test "a filter with the wrong mode is put right" {
    require_root
    mkdir -p "$ETC/nova/rootwrap.d"
    install -m 0666 "$ND_REPO/etc/nova/rootwrap.d/docker.filters" "$ETC/nova/rootwrap.d/docker.filters"
    run "$PROVISION" --distro debian "${ARGS[@]}"
    [ "$status" -eq 0 ]
    [ "$(stat -c %a "$ETC/nova/rootwrap.d/docker.filters")" = 644 ]
}

@test "Fedora/RHEL (RDO): moby-engine with dnf, RDO service names" {
    require_root
    run "$PROVISION" --distro fedora "${ARGS[@]}"
    [ "$status" -eq 0 ]
    nd_calls '^dnf install -y moby-engine$' | grep -q .
    nd_calls '^dnf install -y lxcfs$' | grep -q .
    [ -z "$(nd_calls '^apt-get')" ]
    nd_calls '^systemctl restart openstack-nova-compute$' | grep -q .
    nd_calls '^systemctl restart openstack-glance-api$' | grep -q .
}

@test "LXCFS: running without the options is restarted with them" {
    require_root
    nd_installed lxcfs
    nd_installed docker.io
    "$ND_BIN/systemctl" enable --now lxcfs
    : > "$ND_CALLS"
    run "$PROVISION" --distro debian "${ARGS[@]}" --lxcfs-options --enable-cfs
    [ "$status" -eq 0 ]
    [ -z "$(nd_calls '^apt-get install -y lxcfs')" ]
    grep -qxF 'ExecStart=/usr/bin/lxcfs --enable-cfs /var/lib/lxcfs' "$DROPIN"
    nd_calls '^systemctl restart lxcfs$' | grep -q .
}

@test "LXCFS: not restarted under running instances, nor with --no-restart" {
    require_root
    nd_installed lxcfs
    nd_installed docker.io
    "$ND_BIN/systemctl" enable --now lxcfs
    echo c1 > "$ND_STATE/docker-ps"
    run "$PROVISION" --distro debian "${ARGS[@]}"
    [ "$status" -eq 0 ]
    [ -f "$DROPIN" ]
    [ -z "$(nd_calls '^systemctl restart lxcfs')" ]
    [[ "$output" == *"warning: lxcfs runs without '--enable-cfs --enable-loadavg' until it restarts"* ]]
    nd_calls '^docker ps -q --filter label=org.openstack.nova.instance_uuid$' | grep -q .
    : > "$ND_STATE/docker-ps"
    rm "$DROPIN"
    run "$PROVISION" --distro debian "${ARGS[@]}" --no-restart
    [ "$status" -eq 0 ]
    [ -z "$(nd_calls '^systemctl restart lxcfs')" ]
}

@test "LXCFS that does not mount: a clear error" {
    require_root
    touch "$ND_STATE/lxcfs-broken"
    # its directory, without LXCFS on it
    echo "45 22 0:50 / /var/lib/lxcfs rw - tmpfs tmpfs rw" >> "$NOVA_DOCKER_MOUNTINFO"
    NOVA_DOCKER_WAIT_TIMEOUT=1 run "$PROVISION" --distro debian "${ARGS[@]}"
    [ "$status" -ne 0 ]
    [[ "$output" == *"LXCFS did not mount /var/lib/lxcfs within 1s"*"--no-lxcfs"* ]]
}

@test "--no-lxcfs leaves LXCFS alone" {
    run "$PROVISION" --dry-run --distro debian "${ARGS[@]}" --no-lxcfs
    [ "$status" -eq 0 ]
    [[ "$output" != *"install lxcfs"* && "$output" != *lxcfs.service.d* ]]
    [[ "$output" != *"start lxcfs"* && "$output" != *LXCFS* ]]
}

@test "--docker-source docker-ce installs Docker's packages" {
    run "$PROVISION" --dry-run --distro debian --docker-source docker-ce "${ARGS[@]}"
    [ "$status" -eq 0 ]
    [[ "$output" == *"would: install docker-ce docker-ce-cli containerd.io"* ]]
}

@test "service names, --no-restart, --skip-docker, --no-glance" {
    run "$PROVISION" --dry-run --distro debian "${ARGS[@]}" \
        --compute-service my-compute --glance-service my-glance
    [[ "$output" == *"would: restart my-compute"* && "$output" == *"would: restart my-glance"* ]]
    run "$PROVISION" --dry-run --distro debian "${ARGS[@]}" --no-restart --skip-docker --no-glance
    [ "$status" -eq 0 ]
    [[ "$output" != *restart* && "$output" != *docker.io* && "$output" != *container_formats* ]]
}

@test "Glance: absent config is skipped, default list and docker kept as they are" {
    rm "$ETC/glance/glance-api.conf"
    run "$PROVISION" --dry-run --distro debian "${ARGS[@]}"
    [ "$status" -eq 0 ]
    [[ "$output" != *container_formats* && "$output" != *glance-api* ]]
    printf '[DEFAULT]\nbind_port = 9292\n' > "$ETC/glance/glance-api.conf"
    run "$PROVISION" --dry-run --distro debian "${ARGS[@]}"
    [[ "$output" == *"ok: Glance accepts container_format docker"* ]]
    printf '[image_format]\ncontainer_formats = bare, docker\n' > "$ETC/glance/glance-api.conf"
    run "$PROVISION" --dry-run --distro debian "${ARGS[@]}"
    [[ "$output" == *"ok: Glance accepts container_format docker"* ]]
}

@test "Glance: the deprecated [DEFAULT] list is carried over, not written" {
    require_root
    printf '[DEFAULT]\ncontainer_formats = ami,bare\n' > "$ETC/glance/glance-api.conf"
    run "$PROVISION" --distro debian "${ARGS[@]}"
    [ "$status" -eq 0 ]
    iniget "$ETC/glance/glance-api.conf" image_format container_formats | grep -qx ami,bare,docker
    iniget "$ETC/glance/glance-api.conf" DEFAULT container_formats | grep -qx ami,bare
}

@test "--venv installs with the virtualenv's pip" {
    mkdir -p "$BATS_TEST_TMPDIR/venv/bin"
    ln -s "$ND_BIN/pip" "$BATS_TEST_TMPDIR/venv/bin/pip"
    run "$PROVISION" --dry-run --distro debian "${ARGS[@]}" --venv "$BATS_TEST_TMPDIR/venv"
    [ "$status" -eq 0 ]
    [[ "$output" == *"(with $BATS_TEST_TMPDIR/venv/bin/pip)"* ]]
    run "$PROVISION" --dry-run --distro debian "${ARGS[@]}" --venv "$BATS_TEST_TMPDIR/novenv"
    [ "$status" -ne 0 ]
    [[ "$output" == *"no pip in virtualenv"* ]]
}

@test "never opens the Docker socket to everyone" {
    run grep -nE 'chmod|chown|setfacl' "$PROVISION"
    [[ "$output" != *docker.sock* && "$output" != *666* && "$output" != *777* ]]
}
