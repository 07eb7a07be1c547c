/*  =========================================================================
    feed - serves the message bus's subscriptions from the WAL

    One feed actor per zraft_t when config.subs_max > 0. It holds the
    handle's subscriptions (zraft_subscribe) and delivers the matching
    publications (BUS entries, actors/bus.h) committed and durable on
    this server, leader or follower, in index order with none missed,
    to the application's events socket. It reads entries with a
    zr_wal_reader_t of its own (wal.h, invariant 11): never from the
    node, the applier or the persister, so a subscriber far behind, or
    one that stopped reading, costs those threads nothing.

    Where the log stands. The node posts, after a Ready that changed one
    of them, three indexes in a zr_feed_news_t the two threads share
    (zr_feed_post; a mutex guards them):
      deliverable = min (applied, persisted): committed, applied here
                    (a publication's RESULT may already have left) and
                    durable in the local WAL, so the reader may read it;
      first       = the first index the log holds (below it: compacted),
                    in memory or, after a restart, only in the WAL (the
                    entries trailing the snapshot, which the node's
                    memory no longer holds but the feed reads);
      commit      = the last committed index known here.
    deliverable never decreases (a truncation only cuts entries above the
    commit index); the feed keeps the highest it read. Only a wake-up
    crosses a socket (PUSH -> PULL, empty frames, no high-water mark),
    and at most one is outstanding: the node sends one when it sets the
    news's wake_pending flag, the feed clears the flag after draining
    its wake-ups and before reading the news, so a post the feed has not
    read always has a wake-up on its way, while the feed wants them
    (wake_wanted: a subscription has credit, or one waits for the first
    news). A feed with no subscription, or whose subscribers all ran out
    of credit, is not woken for each commit: what changes that is a
    request (SUBSCRIBE, CREDIT), which wakes it anyway, and it reads the
    news after every request it handles. (The news once crossed on a
    ZMQ_CONFLATE pair; libzmq 4.3's conflated pipe can lose a write that
    races the reader, and the feed then slept past the last publication
    of a quiet cluster.)

    A subscription (s_sub_t in feed.c) is
      OPENING   until the feed knows where the log stands, then it
                resolves its start: INDEX at `from` (below first: the
                SUBSCRIBED carries ZRAFT_ERANGE and the subscription
                ends), FIRST at first, NEXT at commit + 1, LAST by a
                search (SEARCHING);
      SEARCHING (FROM_LAST) reads windows of the log backwards from the
                commit index known at subscription, each twice the last
                (64 entries, then 128, ... up to ZR_FEED_SEARCH_MAX),
                for the newest matching publication; none held: it
                starts after that commit index;
      ACTIVE    at pos, the next index to examine.
    An ACTIVE subscription with credit > 0 and pos <= deliverable takes
    entries from its batch (below) and delivers each matching
    publication, one credit each; every other entry (commands, no-ops,
    cursors, other subjects) only moves pos on. With no credit it reads
    nothing. When the reader answers ZR_ECOMPACTED (a snapshot took pos
    away before it was read) the subscription ends with an UNSUBSCRIBED
    of status ZRAFT_ERANGE and the first index held; unless it is a FIRST
    subscription that has delivered nothing yet (a snapshot trimmed the
    log between its start and its first read, say while it had no
    credit): it asked for the first index held, so it moves on to it,
    skipping nothing it could have been given.

    Recent entries. While the feed has a subscription, the applier keeps
    the entries it applied last in memory for it (zr_feed_recent_add,
    after each run, on the applier's or the node's thread): a ring of at
    most ZR_FEED_RECENT_ENTRIES entries and ZR_FEED_RECENT_BYTES of
    payload, consecutive indexes, the oldest dropped first, emptied when
    a run does not follow the last (a restore) and when no subscription
    is left. The entries are committed, so the WAL holds the same bytes;
    holding them costs one reference each on blobs the node's log
    shares. A batch whose first index the ring holds is taken from it
    (zr_feed_recent_read: the entries' references, under the ring's
    mutex) instead of the WAL: subscribers at the tail, the common case,
    cost the feed no system call, no copy and no checksum. Anything
    older is read from the WAL as below, and so is a position under the
    first index the log holds (the news's first): the ring never serves
    what a snapshot compacted. The WAL lets compacted entries go a whole
    segment at a time, so such a read may still find them (committed
    bytes like any other, delivered) or end the subscription with
    ZRAFT_ERANGE, whatever the ring still holds.

    Batches. A WAL read takes [pos, deliverable] up to
    ZR_FEED_READ_BYTES of payload (at least one entry) into a batch,
    decoded once (the bus entries' fields point into its blob) and
    shared by reference count. The feed keeps the batch that reaches
    furthest as its tail: a subscription whose pos falls inside it
    takes a reference instead of reading, so subscribers at the tail
    cost one read per new run of entries, not one per subscriber, and a
    subscriber catching up reads its own batches. A subscription holds
    at most one batch.

    Fairness. Subscriptions take turns round robin: one turn delivers at
    most ZR_FEED_TURN_RECORDS and examines at most ZR_FEED_TURN_ENTRIES
    entries with at most one read, then the subscription goes to the
    back of the ring. A round ends after every subscription had a turn,
    or after ZR_FEED_ROUND_READS reads or ZR_FEED_ROUND_RECORDS
    deliveries; the feed then looks at its sockets (timeout 0 while
    anyone has work) before the next round. A subscriber with no credit
    or at the tail costs a check per round; one far behind costs others
    at most one read per round.

    Memory and the events socket. Deliveries leave in FEED messages
    (results.h), at most ZR_FEED_MSG_RECORDS records or about
    ZR_FEED_MSG_BYTES of payloads and subjects each. The handle bounds each
    subscription's window, its credit plus its deliveries not yet taken
    by zraft_recv, at ZRAFT_CREDIT_MAX (zraft_sub.c), so the events pipe
    holds at most subs_max * (ZRAFT_CREDIT_MAX + 2) records (the 2: a
    SUBSCRIBED and an UNSUBSCRIBED); its high-water mark is sized from
    that, and the feed sends with a zero timeout anyway: a message that
    does not go is held and retried every ZR_FEED_RETRY_MS, and nothing
    more is read meanwhile. Per subscription: its window of deliveries
    and one batch.

    A FEED message carries its deliveries' payloads and subjects in one
    buffer (its bytes: grown by doubling from ZR_FEED_BYTES_MIN while
    the message is built, cut to what its deliveries use before it is
    sent, so a message in the pipe holds its deliveries' bytes and no
    more). The handle keeps the buffer until it has handed out the
    message's last record, copying each delivery out as zraft_recv
    hands it out. So the allocation an event carries is made and freed
    on the application's thread, where the allocator recycles it at
    once, and the feed allocates per message: not once per delivery on
    the feed's thread with a free on the application's, which costs a
    lock and a search each time.

    Scheduling (config.feed_background, on by default). Delivering is
    throughput work that may wait; the node, the persister, the
    replicators and the applier carry every commit's latency. So on
    Linux the feed's thread makes itself background work as it starts:
    scheduling class SCHED_BATCH, whose wake-ups do not preempt the
    thread running (the feed wakes a thousand times a second under
    load, and each wake-up used to cut into a commit's path), and its
    nice value raised by ZR_FEED_NICE, a smaller share when the CPUs
    are all busy. It still gets every idle CPU at once, so a quiet
    server delivers as fast as before. Measured on 2 vCPUs, 3 servers,
    W=256 with 10 consumers: +3% acknowledged publishes (PERFORMANCE.md;
    zraft-node's --sched batch, every thread in SCHED_BATCH, is worth
    more).
    What is refused (a seccomp filter, another OS) is logged once and
    changes nothing else.

    Protocol (requests PAIR: the handle binds, the feed connects; the
    handle sends with a zero timeout, ZRAFT_EAGAIN when the queue of
    ZR_FEED_QUEUE_MAX messages is full; no reply: the answers are
    records on the events socket):
    | verb        | direction     | frames | meaning |
    |-------------|---------------|--------|---------|
    | SUBSCRIBE   | app -> feed   | "s8484s": sub, from_mode, from, credit, prefix | one SUBSCRIBED record follows (status 0, or ZRAFT_ERANGE: ended) |
    | CREDIT      | app -> feed   | "s84": sub, credit | adds credit (capped at ZRAFT_CREDIT_MAX); an unknown sub (ended) is ignored |
    | UNSUBSCRIBE | app -> feed   | "s8": sub | one UNSUBSCRIBED record (status 0) after its last DELIVER; an unknown sub (ended by ERANGE, whose UNSUBSCRIBED is on its way) is ignored |
    | $TERM       | app -> feed   | zactor pipe: "s" | actor ends |
    Wake-up (PUSH, node -> PULL, feed): one empty frame, no verb
    (zr_feed_post, the only sender): the news changed.
    Events (PUSH, feed -> application's PULL): FEED, see results.h: a
    batch of zr_feed_record_t.
    =========================================================================
*/
#ifndef ZR_FEED_H_INCLUDED
#define ZR_FEED_H_INCLUDED

#define ZR_FEED_SUBS_MAX 65536u         /* the largest config.subs_max */
#define ZR_FEED_QUEUE_MAX 4096          /* requests queued from the handle
                                           (each end's high-water mark) */
#define ZR_FEED_READ_BYTES (256u << 10) /* payload bytes per WAL read */
#define ZR_FEED_TURN_RECORDS 64         /* deliveries per turn */
#define ZR_FEED_TURN_ENTRIES 4096       /* entries examined per turn */
#define ZR_FEED_ROUND_READS 16          /* WAL reads per round */
#define ZR_FEED_ROUND_RECORDS 1024      /* deliveries per round */
#define ZR_FEED_MSG_RECORDS 256         /* records per FEED message */
#define ZR_FEED_MSG_BYTES (1u << 20)    /* bytes per FEED message (one more
                                           delivery may pass it) */
#define ZR_FEED_BYTES_MIN (4u << 10)    /* a message's bytes, first allocated
                                           (doubled as needed) */
#define ZR_FEED_SEARCH_MIN 64           /* FROM_LAST: first window, entries */
#define ZR_FEED_SEARCH_MAX 65536        /* ...largest window */
#define ZR_FEED_RETRY_MS 10             /* a held FEED message is retried */
#define ZR_FEED_RECENT_ENTRIES 16384u   /* entries in the recent ring (a
                                           power of two) */
#define ZR_FEED_RECENT_BYTES (16u << 20)    /* their payload bytes at most */
#define ZR_FEED_NICE 10                 /* added to the feed's nice value
                                           (background, above) */

/* Where the log stands (the node's news, above). */
typedef struct {
    uint64_t deliverable;               /* min (applied, persisted) */
    uint64_t first;                     /* first index the log holds */
    uint64_t commit;                    /* last committed index known */
} zr_feed_position_t;

/* The entries applied last (above, Recent entries). */
typedef struct {
    pthread_mutex_t lock;               /* guards the rest */
    atomic_bool wanted;                 /* the feed has a subscription */
    zr_entry_t *ring;                   /* ZR_FEED_RECENT_ENTRIES slots, by
                                           index modulo; NULL until used */
    zr_index_t first;                   /* the oldest entry held */
    uint32_t n;                         /* entries held, from first */
    uint64_t bytes;                     /* their payload bytes */
} zr_feed_recent_t;

/* The news the node posts and the feed reads (above). Made by the
   handle (zr_subs_new), which outlives both threads. */
typedef struct _zr_feed_news_t {
    pthread_mutex_t lock;               /* guards at and posts */
    zr_feed_position_t at;              /* the newest position */
    uint64_t posts;                     /* positions posted, 0: none yet */
    atomic_bool wake_pending;           /* a wake-up is on its way */
    atomic_bool wake_wanted;            /* the feed wants wake-ups (above) */
    zr_feed_recent_t recent;            /* the applier's, for the feed */
} zr_feed_news_t;

/* One record of a FEED message: one zraft_event_t of type SUBSCRIBED,
   DELIVER or UNSUBSCRIBED. Fixed layout: it crosses threads as bytes. */
typedef struct {
    uint64_t sub;                       /* the subscription (event.token) */
    int32_t type;                       /* zraft_event_type_t */
    int32_t status;                     /* SUBSCRIBED, UNSUBSCRIBED: 0 or
                                           ZRAFT_ERANGE (or ZRAFT_EIO: the
                                           WAL could not be read) */
    uint64_t index;                     /* DELIVER: the publication's index */
    uint64_t term;                      /* its term */
    uint64_t first;                     /* SUBSCRIBED, UNSUBSCRIBED: first
                                           index held */
    uint64_t last;                      /* SUBSCRIBED: last committed index */
    uint64_t offset;                    /* DELIVER: where in the message's
                                           bytes its payload starts, then
                                           its subject and a NUL */
    uint32_t size;                      /* payload bytes */
    uint32_t subject_size;              /* the subject's, without the NUL */
} zr_feed_record_t;
_Static_assert (sizeof (zr_feed_record_t) == 64, "a record crosses threads as bytes");

/* The table above, which both ends use (actor.h). */
#define ZR_FEED_PROTOCOL(X)                                                  \
    X (FEED, SUBSCRIBE, "s8484s", NULL)                                      \
    X (FEED, CREDIT, "s84", NULL)                                            \
    X (FEED, UNSUBSCRIBE, "s8", NULL)
ZR_PROTOCOL_DECLARE (feed, ZR_FEED_PROTOCOL);

typedef struct {
    zr_id_t id;                         /* this server, for logs */
    uint32_t subs_max;                  /* config.subs_max, 1..ZR_FEED_SUBS_MAX */
    bool background;                    /* config.feed_background (above) */
    char data_dir [1024];               /* the WAL's directory */
    char events_endpoint [64];          /* the application's events socket */
    char requests_endpoint [64];        /* the handle's requests PAIR */
    char wake_endpoint [64];            /* to bind: the node's wake-ups */
    zr_feed_news_t *news;               /* shared with the node, not owned */
} zr_feed_args_t;

/* zactor body; args is a zr_feed_args_t * (copied during start). */
void zr_feed_actor (zsock_t *pipe, void *args);

/* The node's end of the wake-up pair: a PUSH connected to endpoint.
   Returns NULL (logged as server id's) on failure. Caller owns the
   result and must destroy it. */
zsock_t *zr_feed_wake_connect (const char *endpoint, zr_id_t id);

/* Posts now in news if it differs from *sent (then recorded in *sent),
   and wakes the feed on wake if it wants wake-ups, unless one is on its
   way already. Never blocks on the feed. */
void zr_feed_post (zr_feed_news_t *news, zsock_t *wake, zr_feed_position_t *sent,
                   const zr_feed_position_t *now);

/* The feed's side: takes the wake-ups waiting on wake, then copies the
   newest position into *at. Returns false if none was ever posted. */
bool zr_feed_news_read (zr_feed_news_t *news, zsock_t *wake, zr_feed_position_t *at);

/* The applier's side: keeps the run entries[0..n) it just applied
   (consecutive indexes) in news's recent ring if the feed wants them,
   moving each kept entry's reference out (its blob and data NULLed);
   else empties the ring. The caller frees entries as before. */
void zr_feed_recent_add (zr_feed_news_t *news, zr_entry_t *entries, uint32_t n);

/* The feed's side: if the ring holds index from, copies from..to (to at
   least from), as many as fit in bytes_max payload bytes but at least
   one, into *entries_p with a reference each (caller owns:
   zr_entries_destroy (entries_p, *n_p)) and returns true; else false. */
bool zr_feed_recent_read (zr_feed_news_t *news, zr_index_t from, zr_index_t to,
                          size_t bytes_max, zr_entry_t **entries_p, uint32_t *n_p);

/* The feed's side: says whether it has a subscription (the applier
   keeps entries only then). */
void zr_feed_recent_want (zr_feed_news_t *news, bool wanted);

/* The feed's side: says whether it wants a wake-up per post (above).
   Set it before reading the news that it must not miss. */
void zr_feed_wake_want (zr_feed_news_t *news, bool wanted);

/* Initialises news (zeroed by the caller) and its ring; frees them. */
void zr_feed_news_init (zr_feed_news_t *news);
void zr_feed_news_fini (zr_feed_news_t *news);

/* A zhashx keyed by uint64_t values (the subscriptions' ids), with no
   value destructor. Caller owns the result and must destroy it. */
zhashx_t *zr_feed_map_new (void);

/* Frees a FEED message's records frame and its bytes (one the
   application will not receive); NULLs *frame_p. */
void zr_feed_records_free (zframe_t **frame_p, void *bytes);

/* ---------------------------------------------------------------------
   The handle's side (actors/zraft_sub.c): zraft_subscribe, zraft_credit,
   zraft_unsubscribe, and the FEED records zraft_recv hands out. */

typedef struct _zr_subs_t zr_subs_t;

/* Starts the feed of a handle (config.subs_max > 0) whose events
   socket is bound at events_endpoint: binds the requests socket, starts
   the actor, and writes its wake-up endpoint, for the node (node.h),
   into feed_endpoint and the news they share into *news_p. Returns
   NULL (logged) if the feed could not start. Caller owns the result
   and must destroy it after the node (the news is the handle's) and
   before draining the events socket. */
zr_subs_t *zr_subs_new (const zraft_config_t *config, const char *events_endpoint,
                        char *feed_endpoint, size_t feed_endpoint_size,
                        zr_feed_news_t **news_p);

/* Stops the feed and frees what the handle holds (the FEED batch being
   handed out, the open subscriptions). NULLs *self_p; idempotent. */
void zr_subs_destroy (zr_subs_t **self_p);

/* Takes a FEED message just received, its records frame (*frame_p
   NULLed) and its bytes (malloc'd, or NULL), to hand out. */
void zr_subs_take (zr_subs_t *self, zframe_t **frame_p, void *bytes);

/* Hands out the next record of the FEED frame held as *event: true, or
   false if none is held. */
bool zr_subs_next (zr_subs_t *self, zraft_event_t *event);

/* The subscriptions of a handle (zraft.c), NULL when subs_max is 0. */
zr_subs_t *zr_zraft_subs (zraft_t *self);

#endif
