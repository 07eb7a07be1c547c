/*  =========================================================================
    totalorder - a total-order checker for message-bus histories

    Producers and consumers of a test record what they did and saw; then
    totalorder_check decides whether the bus kept its promises, in the
    manner of Elle's total-queue and list-append checkers (Kingsbury &
    Alvaro, "Elle: inferring isolation anomalies", 2020): a message
    acknowledged is never lost, the log holds each message once, and every
    consumer reads the same sequence, without gaps or duplicates.

    Producers record publish attempts: (producer, seq, subject, id), where
    id is the message's identity as the consumer will see it (the test
    writes it as, or into, the payload). A retry of the same message is
    another attempt with the same producer, seq and id. Each attempt ends
      ok       acknowledged at (index, term), possibly as a duplicate of
               an earlier attempt (the bus's dedup: the index is the
               first one's);
      failed   certainly not appended (ZRAFT_ELOST, a refusal);
      unknown  a timeout, a lost connection, NOT_LEADER after sending:
               it may or may not be in the log (an attempt never
               completed counts as unknown).
    A message (one id) is acknowledged when one of its attempts is ok.

    Consumers record, per consumer, subscriptions and deliveries. A
    subscription starts a segment: its first index (from), its subject
    prefix, and how it relates to what the consumer saw before:
      TOTALORDER_RESUME  it continues the consumer's stream (after a lost
                         connection or a server's death, from its last
                         index + 1 or from its durable cursor + 1): it
                         must neither skip nor repeat anything;
      TOTALORDER_FRESH   an independent read (a new consumer, or a
                         deliberate re-read from an earlier index): it
                         may overlap what was seen before.
    Then the deliveries in the order received: (index, term, subject, id).
    totalorder_covered says the consumer knows it has seen everything
    matching its prefix up to an index (a heartbeat's last committed
    index, with nothing left to deliver); otherwise a segment covers from
    its start to its last delivery.

    The checks (each violation has a kind, counted and reported):
      TOTALORDER_LOST         a consumer's covered range holds an index
                              the history knows (acknowledged there, or
                              delivered there to anyone) whose subject
                              matches the segment's prefix, and the
                              consumer did not receive it: a gap. With
                              TOTALORDER_COMPLETE, the last segment of
                              every consumer must also reach the highest
                              acknowledged index.
      TOTALORDER_DUPLICATE    a consumer received an index twice within a
                              segment, or after a resume (an index at or
                              below what it had seen before).
      TOTALORDER_REORDER      a consumer received an index below one it
                              had received before in the segment (and not
                              itself seen), or below the segment's start.
      TOTALORDER_DISAGREE     two records name different messages (or
                              subjects, or non-zero terms) at one index:
                              an acknowledgement and a delivery, or two
                              consumers. All consumers must see the same
                              sequence.
      TOTALORDER_DOUBLE       one message at two indexes: two ok attempts
                              of a (producer, seq) acknowledged at
                              different indexes, or one id delivered at
                              two: a retry created a duplicate.
      TOTALORDER_UNEXPECTED   a delivery of an id nobody published, or of
                              a message whose every attempt failed.
      TOTALORDER_FILTER       a delivery whose subject does not start with
                              the segment's prefix.
    Indexes the history does not know (cursor commits, state-machine
    commands, publications nobody recorded) are not gaps: an entry that is
    not a publication is never delivered, and a publication no consumer
    received and no producer saw acknowledged cannot be told apart from
    one.

    The dump is JSON lines in the order recorded, one event per line:
      {"ev":"publish","n":0,"client":1,"producer":7,"seq":3,"subject":"a",
       "id":"p7-3","outcome":"ok","index":12,"term":2,"duplicate":false}
      {"ev":"subscribe","consumer":2,"from":1,"prefix":"","resume":false}
      {"ev":"deliver","consumer":2,"index":12,"term":2,"subject":"a",
       "id":"p7-3"}
      {"ev":"covered","consumer":2,"index":40}
    for reading by people and scripts after a failure.

    In a process test, each producer thread does, per attempt:
        uint64_t n = totalorder_publish (h, client, producer, seq, subject, id);
        ... publish, wait for the answer ...
        totalorder_ok (h, n, index, term, duplicate);  (or _failed, _unknown)
    each consumer thread:
        totalorder_subscribe (h, consumer, from, prefix, TOTALORDER_RESUME);
        totalorder_deliver (h, consumer, index, term, subject, id);  per message
    and at the end:
        char *report;
        if (totalorder_check (h, TOTALORDER_COMPLETE, NULL, &report) != 0)
            ... totalorder_dump (h, path); print report and path; fail
    =========================================================================
*/
#ifndef ZR_TEST_TOTALORDER_H_INCLUDED
#define ZR_TEST_TOTALORDER_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TOTALORDER_TEXT_MAX 255u        /* bytes of a subject, prefix or id */
#define TOTALORDER_EVENTS_MAX (1u << 22)  /* events in one history */
#define TOTALORDER_EXAMPLES_MAX 10u     /* violations described per kind */

/* How a subscription relates to what its consumer saw before. */
typedef enum {
    TOTALORDER_FRESH = 0,
    TOTALORDER_RESUME = 1
} totalorder_start_t;

/* The kinds of violation (see above). */
typedef enum {
    TOTALORDER_LOST = 0,
    TOTALORDER_DUPLICATE = 1,
    TOTALORDER_REORDER = 2,
    TOTALORDER_DISAGREE = 3,
    TOTALORDER_DOUBLE = 4,
    TOTALORDER_UNEXPECTED = 5,
    TOTALORDER_FILTER = 6,
    TOTALORDER_KINDS = 7
} totalorder_kind_t;

/* totalorder_check's flags. */
#define TOTALORDER_COMPLETE 1           /* every consumer's last segment must
                                           reach the highest acknowledged
                                           index */

/* What totalorder_check saw and found. */
typedef struct {
    uint64_t attempts;                  /* publish attempts recorded */
    uint64_t messages;                  /* distinct ids published */
    uint64_t acked;                     /* messages with an ok attempt */
    uint64_t unknown;                   /* messages none ok, some unknown */
    uint64_t failed;                    /* messages whose attempts all failed */
    uint64_t duplicates_acked;          /* ok attempts flagged duplicate */
    uint64_t consumers;                 /* consumers that subscribed */
    uint64_t segments;                  /* subscriptions, all consumers */
    uint64_t deliveries;                /* deliveries, all consumers */
    uint64_t indexes;                   /* distinct indexes the history knows */
    uint64_t max_acked;                 /* highest acknowledged index */
    uint64_t violations [TOTALORDER_KINDS];     /* per kind */
    uint64_t total;                     /* their sum */
} totalorder_stats_t;

typedef struct _totalorder_t totalorder_t;

/* Creates an empty history. Never NULL (allocation failure aborts). */
totalorder_t *totalorder_new (void);

/* Destroys the history; idempotent, NULLs *self_p. */
void totalorder_destroy (totalorder_t **self_p);

/* Recording, from any thread (a mutex orders the events). Strings are
   copied. Misuse aborts the test: a missing or over-long string, a
   second completion, an unknown attempt, a (producer, seq) reused for
   another id, an id reused by another (producer, seq) or subject, a
   delivery or covered before its consumer's first subscription,
   index 0.

   A publish attempt; returns its number for the completion. producer 0
   means no deduplication: its messages are told apart by id alone. */
uint64_t totalorder_publish (totalorder_t *self, uint32_t client,
                             uint64_t producer, uint64_t seq,
                             const char *subject, const char *id);
/* Acknowledged at index (>= 1) in term; duplicate as the bus said. */
void totalorder_ok (totalorder_t *self, uint64_t attempt, uint64_t index,
                    uint64_t term, bool duplicate);
/* Certainly not appended. */
void totalorder_failed (totalorder_t *self, uint64_t attempt);
/* Outcome not known. */
void totalorder_unknown (totalorder_t *self, uint64_t attempt);

/* Consumer starts a segment at from (>= 1), delivering subjects that
   start with prefix (NULL or "": every subject). */
void totalorder_subscribe (totalorder_t *self, uint32_t consumer,
                           uint64_t from, const char *prefix,
                           totalorder_start_t how);
/* Consumer received the message id at index (term 0: not known). */
void totalorder_deliver (totalorder_t *self, uint32_t consumer,
                         uint64_t index, uint64_t term, const char *subject,
                         const char *id);
/* Consumer's current segment has seen everything up to index. */
void totalorder_covered (totalorder_t *self, uint32_t consumer,
                         uint64_t index);

/* Events recorded. */
size_t totalorder_size (totalorder_t *self);

/* Checks the history as it is. Returns the number of violations (0: the
   history keeps every promise). flags: 0 or TOTALORDER_COMPLETE. If
   stats is not NULL, fills it; if report is not NULL, sets *report to a
   text for people (caller frees it): up to TOTALORDER_EXAMPLES_MAX
   examples per kind and a summary line. Blocks the recorders while it
   runs. */
uint64_t totalorder_check (totalorder_t *self, int flags,
                           totalorder_stats_t *stats, char **report);

/* "lost", "duplicate", "reorder", "disagree", "double", "unexpected",
   "filter". */
const char *totalorder_kind_str (totalorder_kind_t kind);

/* Writes the history to path as JSON lines (see above). Returns 0, or -1
   with errno set if the file cannot be written. */
int totalorder_dump (totalorder_t *self, const char *path);

#endif
