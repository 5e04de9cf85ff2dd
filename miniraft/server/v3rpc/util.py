"""Turn server errors into gRPC statuses for the aio handlers.

Mirrors etcd server/etcdserver/api/v3rpc/util.go (togRPCError) at the edge:
every unary handler runs through `unary`, so a store error reaches the client
as etcd's code and text, never as a traceback.
"""

from __future__ import annotations

import functools

import grpc

from miniraft.server.etcdserver import errors as rpcerr


def unary(fn):
    @functools.wraps(fn)
    async def wrapper(self, request, context: grpc.aio.ServicerContext):
        try:
            return await fn(self, request, context)
        except rpcerr.GRPCError as e:
            await context.abort(e.code, e.message)
        except (ValueError, LookupError) as e:
            e = rpcerr.to_grpc_error(e)
            await context.abort(e.code, e.message)
        except Exception as e:  # store/lessor errors carry etcd's text
            if isinstance(e, grpc.aio.AbortError):
                raise
            e = rpcerr.to_grpc_error(e)
            await context.abort(e.code, e.message)

    return wrapper
