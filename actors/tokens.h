/*  =========================================================================
    tokens - the submissions a node appended, until their outcome is known

    When the node appends submitted commands as leader it records their
    tokens here, by (index, term). Each token leaves exactly once:
    - attached to its entry when the committed run that holds its index
      goes to the applier, if the committed entry has the token's term:
      the applier then applies it and answers with apply's result;
    - lost (ZR_ELOST) when the committed entry at its index has another
      term: another leader's entry took the index;
    - lost (ZR_ELOST) as soon as an entry of a later term than the
      token's is committed at a lower index: terms never decrease along
      a log (Raft §5.3, log.h Invariant 2), so no log holding that
      committed entry can hold the token's entry after it;
    - when a snapshot installed from a leader covers its index: applied
      (status 0, no result data) if the snapshot's last entry has the
      token's term, since that entry then comes from this server's own
      leadership, whose log held the token's entry before it; otherwise
      ZR_EUNKNOWN: the snapshot may or may not contain it;
    - with a status for all that remain, when the node stops.
    A truncation of this server's log decides nothing: an entry cut here
    may still be committed through another server that holds it (the
    Figure 8 schedule), so only commitment answers.

    Design notes
    1. Runs are kept in the order they were recorded. Their terms never
       decrease (a server's term only grows); within one term their
       indexes increase (a leader only appends). Across terms an index
       may repeat: a deposed leader's entries were overwritten, and it
       leads again and appends there.
    2. Every token recorded has an index above the last one handed to
       the applier (a leader appends after its commit index), and
       resolution happens in commit order, so a committed run never
       finds a token below its first index.
    3. At most one token per index matches a committed entry (one entry
       per index, one leader per term).
    =========================================================================
*/
#ifndef ZR_TOKENS_H_INCLUDED
#define ZR_TOKENS_H_INCLUDED

/* A token attached to a committed entry for the applier. */
typedef struct {
    zr_index_t index;                   /* the entry's */
    uint64_t token;                     /* the application's */
} zr_token_at_t;

typedef struct _zr_tokens_t zr_tokens_t;

/* Creates an empty record. Caller owns the result. */
zr_tokens_t *zr_tokens_new (void);

/* Frees the record and the tokens left in it (without answering them:
   zr_tokens_drain first). NULLs *self_p; idempotent. */
void zr_tokens_destroy (zr_tokens_t **self_p);

/* Records n tokens (copied) appended at first .. first + n - 1 in term
   (Invariant 1 asserted). */
void zr_tokens_add (zr_tokens_t *self, zr_index_t first, zr_term_t term,
                    const uint64_t *tokens, uint32_t n);

/* Returns the number of tokens recorded and not yet resolved. */
size_t zr_tokens_size (const zr_tokens_t *self);

/* The committed run entries[0..n) (consecutive indexes) goes to the
   applier: attaches the tokens that match an entry (returned in
   *attached, sorted by index, caller frees; NULL and 0 if none) and
   adds a ZR_ELOST result to lost for each token the run decides is
   lost. */
void zr_tokens_commit (zr_tokens_t *self, const zr_entry_t *entries, uint32_t n,
                       zr_token_at_t **attached, uint32_t *n_attached,
                       zr_results_t *lost);

/* A snapshot from a leader, whose last entry is (index, term), was
   installed: answers every token it decides (see above) into out. */
void zr_tokens_covered (zr_tokens_t *self, zr_index_t index, zr_term_t term,
                        zr_results_t *out);

/* Answers every token left with status (and leader) into out. */
void zr_tokens_drain (zr_tokens_t *self, int status, zr_id_t leader,
                      zr_results_t *out);

#endif
