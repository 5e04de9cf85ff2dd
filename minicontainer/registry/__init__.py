"""A registry speaking the OCI distribution API, like distribution/distribution.

`routes` (URL → handler kind, name grammar), `errors` (errcode JSON), `storage` (repositories
of links over one content store), `handlers` (aiohttp), `__main__` (the command line).
"""
