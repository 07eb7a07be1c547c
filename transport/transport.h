/*  =========================================================================
    transport.h - umbrella header of the wire layer

    transport/ files include this header and nothing else of the project.
    The layer turns raft/ messages into msgpack frames and back (codec),
    the client protocol's requests and replies too (client), both after
    one structural check of the raw bytes (msgpack_walk), and owns the
    helpers for peer sockets and the wait on a thread's sockets (poller).
    =========================================================================
*/
#ifndef ZR_TRANSPORT_H_INCLUDED
#define ZR_TRANSPORT_H_INCLUDED

#include <czmq.h>
#include <poll.h>
#include <msgpack.h>

#include "../raft/raft.h"
#include "logger.h"
#include "msgpack_walk.h"
#include "msgpack_tree.h"
#include "codec.h"
#include "client.h"
#include "bus.h"
#include "hex.h"
#include "peer.h"
#include "filter.h"
#include "poller.h"

#endif
