/*  =========================================================================
    identity - which member of which cluster a data directory belongs to

    A data directory holds one member's term, vote and log. Started on
    another member's or another cluster's directory, a node carries that
    log into this cluster: with a higher last term it wins an election
    and overwrites what the cluster committed (an operator saw a stale
    value served and an acknowledged write lost that way). So zraft-node
    records, the first time it starts on a directory, whose it is, in
    <data-dir>/member (ZPL, czmq's zconfig):
        member
            name = "n1"
            cluster = "n1=tcp://10.0.0.1:7001,n2=...,n3=..."
    (--name and --initial-cluster, in order: the order gives the ids),
    and on every later start refuses, before the node starts, a
    directory whose record names another member or another cluster. A
    directory without the file (new, or from before the file existed)
    is taken as this member's and recorded. An endpoint changed on
    purpose (a member moved) is a different cluster line: the message
    says to remove the file then, on every member alike. The same
    members in another order (other ids) get their own message: give
    the first order back, do not remove the file.
    =========================================================================
*/
#ifndef ZR_IDENTITY_H_INCLUDED
#define ZR_IDENTITY_H_INCLUDED

#include "options.h"

#define ZR_IDENTITY_FILE "member"       /* in the data directory */

/* Returns 0 if options' data directory has no record or one that names
   this member of this cluster; else -1 with why (for people) filled. */
int zr_identity_check (const zr_options_t *options, char *why, size_t size);

/* Records this member and cluster in options' data directory (which
   exists) if it has no record yet, durably (written aside, synced,
   renamed). Returns 0, or -1 with why filled. */
int zr_identity_record (const zr_options_t *options, char *why, size_t size);

#endif
