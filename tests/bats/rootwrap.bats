#!/usr/bin/env bats
#
# etc/nova/rootwrap.d/docker.filters: as narrow as what the driver runs as
# root (the privsep helper of novadocker.privsep.sys_admin_pctxt), checked
# with oslo.rootwrap's own matching when a python has it.

load helpers/fake_devstack

FILTERS=etc/nova/rootwrap.d/docker.filters

# The filters the file defines: load_filters also adds a catch-all
# "privsep-helper" CommandFilter of its own, whatever the files say.
OURS='[f for f in wrapper.load_filters([sys.argv[1]]) if f.name != "privsep-helper"]'

# use_rootwrap_python: PYTHON, a python with oslo.rootwrap
# (ND_ROOTWRAP_PYTHON, python3, or a tox env of this repository), or skip
use_rootwrap_python() {
    local python
    for python in ${ND_ROOTWRAP_PYTHON:-} python3 "$ND_REPO"/.tox/*/bin/python; do
        if "$python" -c 'import oslo_rootwrap' 2> /dev/null; then
            PYTHON=$python
            return 0
        fi
    done
    skip "no python with oslo.rootwrap"
}

# matches <args...>: does a filter of the file allow this command?
matches() {
    "$PYTHON" -c "import sys
from oslo_rootwrap import wrapper
sys.exit(0 if any(f.match(sys.argv[2:]) for f in $OURS) else 1)" \
        "$ND_REPO/${FILTERS%/*}" "$@"
}

@test "one [Filters] section with one RegExpFilter for privsep-helper" {
    cd "$ND_REPO"
    [ "$(grep -c '^\[' "$FILTERS")" -eq 1 ]
    grep -qx '\[Filters\]' "$FILTERS"
    run grep -vE '^(#|\[|$)' "$FILTERS"
    [ "${#lines[@]}" -eq 1 ]
    [[ "${lines[0]}" == "privsep-rootwrap-novadocker: RegExpFilter, privsep-helper, root, privsep-helper, "* ]]
    [[ "${lines[0]}" == *"--privsep_context, novadocker\.privsep\.sys_admin_pctxt,"* ]]
    run grep -E 'CommandFilter|ln:|/bin/ln' "$FILTERS"
    [ "$status" -eq 1 ]
}

@test "oslo.rootwrap: allows the driver's privsep helper, nothing else" {
    use_rootwrap_python
    "$PYTHON" -c "import sys
from oslo_rootwrap import wrapper
assert len($OURS) == 1" "$ND_REPO/${FILTERS%/*}"
    matches privsep-helper --config-file /etc/nova/nova-cpu.conf \
        --privsep_context novadocker.privsep.sys_admin_pctxt --privsep_sock_path /tmp/tmpab12/privsep.sock
    run matches privsep-helper --config-file /etc/nova/nova-cpu.conf \
        --privsep_context nova.privsep.sys_admin_pctxt --privsep_sock_path /tmp/x/privsep.sock
    [ "$status" -eq 1 ]
    run matches privsep-helper --config-file /etc/nova/nova-cpu.conf \
        --privsep_context novadockerXprivsepXsys_admin_pctxt --privsep_sock_path /tmp/x/privsep.sock
    [ "$status" -eq 1 ]
    run matches privsep-helper --config-file /etc/../tmp/evil.conf \
        --privsep_context novadocker.privsep.sys_admin_pctxt --privsep_sock_path /tmp/x/privsep.sock
    [ "$status" -eq 1 ]
    run matches ln -sf /proc/1/ns/net /var/run/netns/x
    [ "$status" -eq 1 ]
}
