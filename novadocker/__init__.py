"""Docker containers as OpenStack Nova instances.

Kept empty on purpose: the .pth hook imports this package at every
interpreter start, so it must stay cheap.
"""
