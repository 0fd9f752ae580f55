#!/bin/bash
#
# devstack/plugin.sh
# DevStack plugin for nova-docker: dispatches each stack.sh, unstack.sh and
# clean.sh phase to the functions in lib/nova_docker (its header lists
# them in this order).
#
# Nodes with n-cpu get the engine (Docker, or Podman), LXCFS, the driver
# and its nova configuration; nodes with g-api get the engine too (to
# build the image),
# Glance's container format and the cirros image. A compute-only subnode
# uploads nothing.

# shellcheck source=devstack/lib/nova_docker
source "$(dirname "${BASH_SOURCE[0]}")/lib/nova_docker"

if is_service_enabled n-cpu g-api; then

    if [[ "$1" == "stack" && "$2" == "pre-install" ]]; then
        if is_service_enabled n-cpu; then
            nova_docker_check_virt_driver
            nova_docker_check_engine_settings
        fi
        echo_summary "Installing the container engine ($NOVA_DOCKER_ENGINE)"
        nova_docker_install_engine
        if is_service_enabled n-cpu; then
            nova_docker_install_sandbox
        fi
        nova_docker_add_stack_user
        nova_docker_start_engine
        nova_docker_wait_for_engine
        if is_service_enabled n-cpu; then
            nova_docker_configure_engine
        fi
        if is_service_enabled n-cpu && [[ "$NOVA_DOCKER_LXCFS" == "True" ]]; then
            echo_summary "Installing and starting LXCFS"
            nova_docker_install_lxcfs
            nova_docker_start_lxcfs
        fi

    elif [[ "$1" == "stack" && "$2" == "install" ]]; then
        if is_service_enabled n-cpu; then
            echo_summary "Installing nova-docker"
            nova_docker_install
        fi

    elif [[ "$1" == "stack" && "$2" == "post-config" ]]; then
        if is_service_enabled n-cpu; then
            echo_summary "Configuring nova-compute for nova-docker"
            nova_docker_configure
        fi
        if is_service_enabled g-api; then
            nova_docker_configure_glance
        fi
        if is_service_enabled horizon; then
            nova_docker_configure_horizon
        fi

    elif [[ "$1" == "stack" && "$2" == "extra" ]]; then
        if is_service_enabled g-api; then
            echo_summary "Uploading the cirros Docker image to Glance"
            nova_docker_upload_cirros_image
            if is_service_enabled tempest; then
                nova_docker_upload_cirros_alt_image
            fi
        fi

    elif [[ "$1" == "stack" && "$2" == "test-config" ]]; then
        if is_service_enabled tempest; then
            echo_summary "Configuring Tempest for nova-docker"
            nova_docker_configure_tempest
        fi
    fi

    if [[ "$1" == "unstack" ]]; then
        nova_docker_remove_containers
    fi

    if [[ "$1" == "clean" ]]; then
        nova_docker_cleanup_containers
        nova_docker_uninstall
    fi
fi
