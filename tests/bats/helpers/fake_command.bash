#!/bin/bash
#
# One recorder for every command the tests must not run for real: the
# harness links $ND_BIN/<command> here. Each call appends "<command> <args>"
# to $ND_CALLS; what the fake machine has (packages, groups, running
# services, Glance images...) lives in files under $ND_STATE.

NAME=${0##*/}
echo "$NAME $*" >> "$ND_CALLS"

# state_has|state_add|state_del <file in ND_STATE> <line>
function state_has {
    grep -qxF "$2" "$ND_STATE/$1" 2>/dev/null
}

function state_add {
    state_has "$1" "$2" || echo "$2" >> "$ND_STATE/$1"
}

function state_del {
    if [[ -f $ND_STATE/$1 ]]; then
        grep -vxF "$2" "$ND_STATE/$1" > "$ND_STATE/$1.new" || true
        mv "$ND_STATE/$1.new" "$ND_STATE/$1"
    fi
}

# sudo: runs the command as this user; absolute paths of recorded commands
# (DevStack calls /bin/systemctl) go to the recorder
function fake_sudo {
    while [[ "$1" == -* ]]; do
        case "$1" in
            -u|-g) shift 2 ;;
            *) shift ;;
        esac
    done
    while [[ "$1" == *=* ]]; do
        export "${1?}"
        shift
    done
    if [[ "$1" == /* && -x $ND_BIN/${1##*/} ]]; then
        set -- "$ND_BIN/${1##*/}" "${@:2}"
    fi
    # not root: install what would be root's as this user instead
    if [[ "$1" == install && $EUID -ne 0 ]]; then
        local arg args=()
        while [[ $# -gt 0 ]]; do
            arg=$1
            shift
            case "$arg" in
                -o|-g) shift ;;
                *) args+=("$arg") ;;
            esac
        done
        set -- "${args[@]}"
    fi
    exec "$@"
}

# the line lxcfs.service adds to the mount table ($ND_STATE/mountinfo)
LXCFS_MOUNT="44 27 0:41 / /var/lib/lxcfs rw,nosuid,nodev,relatime - fuse.lxcfs lxcfs rw,user_id=0,group_id=0,allow_other"

# systemctl: the units in $ND_STATE/active are enabled and running; a
# running lxcfs is mounted, unless $ND_STATE/lxcfs-broken exists
function fake_systemctl {
    local unit=${!#}
    case " $* " in
        *" is-active "*|*" is-enabled "*) state_has active "$unit" ;;
        *" start "*|*" --now "*|*" restart "*)
            state_add active "$unit"
            if [[ "$unit" == docker ]]; then
                fake_docker_reads_config
            fi
            if [[ "$unit" == lxcfs && ! -e $ND_STATE/lxcfs-broken ]]; then
                state_add mountinfo "$LXCFS_MOUNT"
            fi
            ;;
        *" stop "*)
            state_del active "$unit"
            if [[ "$unit" == lxcfs ]]; then
                state_del mountinfo "$LXCFS_MOUNT"
            fi
            ;;
    esac
}

# fake_docker_reads_config: the engine reads $ND_DAEMON_JSON as it starts
# (into $ND_STATE/docker-config), unless $ND_STATE/docker-ignores-config
function fake_docker_reads_config {
    if [[ -f ${ND_DAEMON_JSON:-} && ! -e $ND_STATE/docker-ignores-config ]]; then
        cp "$ND_DAEMON_JSON" "$ND_STATE/docker-config"
    fi
}

# mount: XFS with pquota mounts at its directory in $ND_STATE/mountinfo;
# the kernel refuses pquota with $ND_STATE/xfs-no-quota, or ignores it
# with $ND_STATE/xfs-noquota-mount
function fake_mount {
    local dir=${!#} options=rw,attr2,inode64,prjquota
    if [[ -e $ND_STATE/xfs-no-quota ]]; then
        echo "mount: $dir: wrong fs type, bad option, bad superblock on /dev/loop0, missing codepage or helper program, or other error." >&2
        return 32
    fi
    if [[ -e $ND_STATE/xfs-noquota-mount ]]; then
        options=rw,attr2,inode64,noquota
    fi
    state_add mountinfo "61 22 7:0 / $dir rw,relatime - xfs /dev/loop0 $options"
}

# getent group|passwd <name>: the groups and users of $ND_STATE
function fake_getent {
    case "$1" in
        group) state_has groups "$2" ;;
        passwd) state_has users "$2" ;;
        *) return 2 ;;
    esac
}

# apt-get and dnf: install and remove packages in $ND_STATE/packages
function fake_package_manager {
    local arg action=""
    for arg in "$@"; do
        case "$arg" in
            install) action=add ;;
            purge|remove) action=del ;;
            -*|update) ;;
            *) [[ -n $action ]] && "state_$action" packages "$arg" ;;
        esac
    done
    return 0
}

function fake_dpkg {
    case "$1" in
        --print-architecture) echo amd64 ;;
        -s) state_has packages "$2" ;;
    esac
}

# id: the users in $ND_STATE/users exist; $ND_FAKE_UID is who runs
function fake_id {
    if [[ $# -eq 1 && "$1" == -u && -n "${ND_FAKE_UID:-}" ]]; then
        echo "$ND_FAKE_UID"
    elif [[ $# -eq 2 ]]; then
        if ! state_has users "$2"; then
            echo "id: '$2': no such user" >&2
            return 1
        fi
        case "$1" in
            -u) echo 1000 ;;
            -nG) echo "$2 $(tr '\n' ' ' 2>/dev/null < "$ND_STATE/member-$2")" ;;
        esac
    else
        exec /usr/bin/id "$@"
    fi
}

# curl: files from $ND_STATE/downloads/<name>; any other URL fails
function fake_curl {
    local out="" url="" src
    while [[ $# -gt 0 ]]; do
        case "$1" in
            -o) out=$2; shift 2 ;;
            -*) shift ;;
            *) url=$1; shift ;;
        esac
    done
    src=$ND_STATE/downloads/${url##*/}
    if [[ -f $src && -n $out ]]; then
        cp "$src" "$out"
    elif [[ -f $src ]]; then
        cat "$src"
    elif [[ $url == */gpg || $url == *.repo ]]; then
        echo "content of $url" | tee "${out:-/dev/null}"
    else
        return 22
    fi
}

# fake_docker_info <format>: the engine's data root, storage driver and
# security options from the daemon.json it read; "<containers> <images>"
# from $ND_STATE/docker-counts
function fake_docker_info {
    local out=$1 counts root driver security
    read -r root driver security < <(python3 -c '
import json, sys
try:
    conf = json.load(open(sys.argv[1]))
except (OSError, ValueError):
    conf = {}
root = conf.get("data-root", "/var/lib/docker")
security = "[name=seccomp,profile=builtin]"
if conf.get("userns-remap"):
    root += "/100000.100000"
    security = "[name=seccomp,profile=builtin,name=userns]"
print(root, conf.get("storage-driver", "overlay2"), security)
' "$ND_STATE/docker-config")
    counts=$(cat "$ND_STATE/docker-counts" 2> /dev/null || echo "0 0")
    out=${out//'{{.Containers}} {{.Images}}'/$counts}
    out=${out//'{{.DockerRootDir}}'/$root}
    out=${out//'{{.Driver}}'/$driver}
    out=${out//'{{.SecurityOptions}}'/$security}
    echo "$out"
}

# fake_docker_create: the engine takes --storage-opt size unless
# $ND_STATE/docker-no-quota
function fake_docker_create {
    if [[ " $* " == *" --storage-opt "* && -e $ND_STATE/docker-no-quota ]]; then
        echo "Error response from daemon: --storage-opt is supported only for overlay over xfs with 'pquota' mount option" >&2
        return 1
    fi
    state_add docker-created "$*"
    echo 0123456789ab
}

# docker (and podman's CLI, which takes the same commands): the engine is
# up, down or hangs ($ND_STATE/docker); containers in $ND_STATE/docker-ps,
# images in $ND_STATE/docker-images
function fake_docker {
    if [[ "$1" == --host || "$1" == --url ]]; then
        shift 2
    fi
    case "$(cat "$ND_STATE/docker")" in
        down) return 1 ;;
        hang) exec sleep 600 ;;
    esac
    case "$1" in
        ps) cat "$ND_STATE/docker-ps" 2>/dev/null ;;
        save) echo "docker save of $2" ;;
        image) [[ "$2" != inspect ]] || state_has docker-images "$3" || return 1 ;;
        import) state_add docker-images "${!#}" ;;
        info) fake_docker_info "$3" ;;
        create) fake_docker_create "${@:2}"; return ;;
        rmi) state_del docker-images "$2" ;;
    esac
    return 0
}

# openstack: Glance's images are "name id" lines in $ND_STATE/glance; an
# upload's data (stdin) goes to $ND_STATE/upload-<name>
function fake_openstack {
    local args=("$@") i name=""
    for ((i = 0; i < ${#args[@]}; i++)); do
        case "${args[i]}" in
            --name|create) name=${args[i + 1]} ;;
        esac
    done
    case " $* " in
        *" image list "*)
            awk -v n="$name" '$1 == n { print $2 }' "$ND_STATE/glance" 2>/dev/null
            ;;
        *" image create "*)
            cat > "$ND_STATE/upload-$name"
            echo "$name id-of-$name" >> "$ND_STATE/glance"
            ;;
    esac
    return 0
}

# pip: $ND_STATE/pip-installed says whether novadocker is installed;
# installs fail with $ND_PIP_FAIL set
function fake_pip {
    case "$1" in
        show) state_has pip-installed "$2" ;;
        install)
            if [[ -n "${ND_PIP_FAIL:-}" ]]; then
                return 1
            fi
            state_add pip-installed novadocker
            ;;
    esac
}

case "$NAME" in
    sudo) fake_sudo "$@" ;;
    systemctl) fake_systemctl "$@" ;;
    apt-get|dnf) fake_package_manager "$@" ;;
    dpkg) fake_dpkg "$@" ;;
    rpm) state_has packages "${!#}" ;;
    usermod) state_add "member-${!#}" "${*: -2:1}" ;;
    gpasswd) state_del "member-$2" "$3" ;;
    groupadd) state_add groups "${!#}" ;;
    groupdel) state_del groups "$1" ;;
    getent) fake_getent "$@" ;;
    mount) fake_mount "$@" ;;
    id) fake_id "$@" ;;
    curl) fake_curl "$@" ;;
    docker|podman) fake_docker "$@" ;;
    openstack) fake_openstack "$@" ;;
    pip) fake_pip "$@" ;;
    *) exit 0 ;;
esac
