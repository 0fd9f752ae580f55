#!/bin/bash
#
# devstack/plugin.sh
# DevStack plugin for nova-docker: dispatches each stack.sh, unstack.sh and
# clean.sh phase to the functions in lib/nova_docker.
#
# Nodes with n-cpu get Docker, LXCFS, the driver and its nova
# configuration; nodes with g-api get Docker too (to build the image),
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
        echo_summary "Installing the Docker engine"
        install_docker_engine
        nova_docker_add_stack_user
        start_docker
        wait_for_docker
        if is_service_enabled n-cpu; then
            configure_nova_docker_engine
        fi
        if is_service_enabled n-cpu && [[ "$NOVA_DOCKER_LXCFS" == "True" ]]; then
            echo_summary "Installing and starting LXCFS"
            install_nova_docker_lxcfs
            start_nova_docker_lxcfs
        fi

    elif [[ "$1" == "stack" && "$2" == "install" ]]; then
        if is_service_enabled n-cpu; then
            echo_summary "Installing nova-docker"
            install_nova_docker
        fi

    elif [[ "$1" == "stack" && "$2" == "post-config" ]]; then
        if is_service_enabled n-cpu; then
            echo_summary "Configuring nova-compute for nova-docker"
            configure_nova_docker
        fi
        if is_service_enabled g-api; then
            configure_glance_for_docker
        fi
        if is_service_enabled horizon; then
            configure_horizon_for_docker
        fi

    elif [[ "$1" == "stack" && "$2" == "extra" ]]; then
        if is_service_enabled g-api; then
            echo_summary "Uploading the cirros Docker image to Glance"
            upload_cirros_image
            if is_service_enabled tempest; then
                upload_cirros_alt_image
            fi
        fi

    elif [[ "$1" == "stack" && "$2" == "test-config" ]]; then
        if is_service_enabled tempest; then
            echo_summary "Configuring Tempest for nova-docker"
            configure_tempest_for_docker
        fi
    fi

    if [[ "$1" == "unstack" ]]; then
        remove_nova_docker_containers
    fi

    if [[ "$1" == "clean" ]]; then
        cleanup_nova_docker_containers
        uninstall_nova_docker
    fi
fi
