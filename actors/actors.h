/*  =========================================================================
    actors.h - umbrella header of the actor layer

    actors/ files include this header (plus their own). It pulls in the
    layers below: transport/ (and through it raft/, czmq, msgpack).
    =========================================================================
*/
#ifndef ZR_ACTORS_H_INCLUDED
#define ZR_ACTORS_H_INCLUDED

#include "../transport/transport.h"
#include "../include/zraft.h"
#include "wal.h"

#endif
