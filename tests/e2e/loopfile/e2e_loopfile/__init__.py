"""The e2e gate's Cinder backend stand-in: volumes as sparse files on loop
devices, connected as os-brick's ``local`` type. Gate-only, never part of
nova-docker: see doc/source/contributor/e2e.rst."""
