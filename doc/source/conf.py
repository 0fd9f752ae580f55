"""Sphinx configuration of nova-docker's documentation (tox -e docs)."""

extensions = [
    'openstackdocstheme',
    # .. show-options:: reads the options through the novadocker entry
    # point of oslo.config.opts, so the reference is the code's own help.
    'oslo_config.sphinxext',
]

project = 'nova-docker'
copyright = 'nova-docker contributors'

# openstackdocstheme: no pbr version lookup (the package is built by
# hatchling) and no bug tracker links.
openstackdocs_repo_name = 'openstack/nova-docker'
openstackdocs_auto_name = False
openstackdocs_auto_version = False
openstackdocs_use_storyboard = False
version = ''
release = ''

html_theme = 'openstackdocs'
html_static_path = []
