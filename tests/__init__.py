"""The test suite is a package so helpers import as ``from tests.strategies import conv_specs``
(pytest puts the repository root on sys.path for a package's rootdir)."""
