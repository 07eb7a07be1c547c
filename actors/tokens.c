/*  =========================================================================
    tokens - the submissions a node appended, until their outcome is known
    (see tokens.h)
    =========================================================================
*/
#include "actors.h"

/* One submission message's tokens: consecutive indexes, one term. */
typedef struct {
    zr_index_t first;                   /* index of tokens [0] */
    zr_term_t term;                     /* the term they were appended in */
    uint32_t n;                         /* tokens in the run */
    uint32_t done;                      /* resolved, from the front; < n
                                           while the run is recorded */
    uint64_t tokens [];                 /* tokens [k] is at first + k */
} s_run_t;

struct _zr_tokens_t {
    zlist_t *runs;                      /* s_run_t *, as recorded (1) */
    size_t size;                        /* unresolved tokens in them */
    zr_term_t last_term;                /* term of the newest run ever
                                           recorded, 0 before the first */
    zr_index_t last_index;              /* that run's last index */
};

zr_tokens_t *
zr_tokens_new (void)
{
    zr_tokens_t *self = (zr_tokens_t *) calloc (1, sizeof *self);
    zr_assert (self);
    self->runs = zlist_new ();
    zr_assert (self->runs);
    return self;
}

void
zr_tokens_destroy (zr_tokens_t **self_p)
{
    zr_assert (self_p);
    zr_tokens_t *self = *self_p;
    if (!self)
        return;
    s_run_t *run;
    while ((run = (s_run_t *) zlist_pop (self->runs)))
        free (run);
    zlist_destroy (&self->runs);
    free (self);
    *self_p = NULL;
}

void
zr_tokens_add (zr_tokens_t *self, zr_index_t first, zr_term_t term,
               const uint64_t *tokens, uint32_t n)
{
    zr_assert (self && tokens && n > 0 && first > 0);
    /* Invariant (1): terms never decrease; a term's indexes increase. */
    zr_assert (term >= self->last_term);
    zr_assert (term > self->last_term || first > self->last_index);
    s_run_t *run = (s_run_t *) malloc (sizeof *run + n * sizeof (uint64_t));
    zr_assert (run);
    run->first = first;
    run->term = term;
    run->n = n;
    run->done = 0;
    memcpy (run->tokens, tokens, n * sizeof (uint64_t));
    int rc = zlist_append (self->runs, run);
    zr_assert (rc == 0);
    self->size += n;
    self->last_term = term;
    self->last_index = first + n - 1;
}

size_t
zr_tokens_size (const zr_tokens_t *self)
{
    zr_assert (self);
    return self->size;
}

/* What decides the tokens of one pass: a committed run (entries, from
   first to last), or an installed snapshot (entries NULL, last and
   last_term its last entry). */
typedef struct {
    const zr_entry_t *entries;          /* committed run, or NULL: snapshot */
    zr_index_t first;                   /* its first index (run) */
    zr_index_t last;                    /* its last index */
    zr_term_t last_term;                /* the term of that entry */
    zr_token_at_t *attached;            /* growing: tokens to apply */
    uint32_t n_attached;                /* in attached */
    bool unsorted;                      /* attached needs sorting */
    zr_results_t *out;                  /* results decided */
} s_pass_t;

/* Decides the token at slot k of run, whose index is at or below
   pass->last. */
static void
s_decide (s_pass_t *pass, const s_run_t *run, uint32_t k)
{
    zr_index_t index = run->first + k;
    zr_assert (index <= pass->last);
    uint64_t token = run->tokens [k];
    if (pass->entries) {
        zr_assert (index >= pass->first);       /* Invariant (2) */
        const zr_entry_t *entry = &pass->entries [index - pass->first];
        zr_assert (entry->index == index);
        if (entry->term == run->term) {
            zr_assert (entry->type == ZR_ENTRY_COMMAND
                       || entry->type == ZR_ENTRY_BUS);
            if (pass->n_attached && pass->attached [pass->n_attached - 1].index > index)
                pass->unsorted = true;
            pass->attached [pass->n_attached++] = (zr_token_at_t) {index, token};
        }
        else
            zr_results_add (pass->out, token, ZR_ELOST, 0, index, run->term,
                            NULL, 0);
    }
    else {
        int status = run->term == pass->last_term ? 0 : ZR_EUNKNOWN;
        zr_results_add (pass->out, token, status, 0, index, run->term, NULL, 0);
    }
}

/* Decides what pass decides in run; returns the tokens resolved. */
static uint32_t
s_pass_run (s_pass_t *pass, s_run_t *run)
{
    uint32_t before = run->done;
    while (run->done < run->n && run->first + run->done <= pass->last)
        s_decide (pass, run, run->done++);
    /* A later term committed at or below last: nothing of an earlier
       term can follow it in any log (tokens.h). */
    for (; run->done < run->n && run->term < pass->last_term; run->done++)
        zr_results_add (pass->out, run->tokens [run->done], ZR_ELOST, 0,
                        run->first + run->done, run->term, NULL, 0);
    return run->done - before;
}

static int
s_token_at_compare (const void *a, const void *b)
{
    zr_index_t x = ((const zr_token_at_t *) a)->index;
    zr_index_t y = ((const zr_token_at_t *) b)->index;
    return x < y ? -1 : x > y;
}

/* Runs a pass over every run that may hold something it decides. */
static void
s_pass (zr_tokens_t *self, s_pass_t *pass)
{
    s_run_t *run = (s_run_t *) zlist_first (self->runs);
    while (run) {
        size_t resolved = s_pass_run (pass, run);
        zr_assert (self->size >= resolved);
        self->size -= resolved;
        zr_term_t term = run->term;
        bool open = run->done < run->n;
        if (!open) {
            zlist_remove (self->runs, run);     /* the cursor steps back */
            free (run);
        }
        run = (s_run_t *) zlist_next (self->runs);
        /* The rest of an undecided run's term lies beyond it (1). */
        while (open && run && run->term == term && term >= pass->last_term)
            run = (s_run_t *) zlist_next (self->runs);
    }
    if (pass->unsorted)
        qsort (pass->attached, pass->n_attached, sizeof (zr_token_at_t),
               s_token_at_compare);
}

void
zr_tokens_commit (zr_tokens_t *self, const zr_entry_t *entries, uint32_t n,
                  zr_token_at_t **attached, uint32_t *n_attached,
                  zr_results_t *lost)
{
    zr_assert (self && entries && n > 0 && attached && n_attached && lost);
    *attached = NULL;
    *n_attached = 0;
    if (self->size == 0)
        return;
    s_pass_t pass = {.entries = entries, .first = entries [0].index,
                     .last = entries [n - 1].index,
                     .last_term = entries [n - 1].term, .out = lost};
    pass.attached = (zr_token_at_t *) malloc (n * sizeof (zr_token_at_t));
    zr_assert (pass.attached);
    s_pass (self, &pass);
    zr_assert (pass.n_attached <= n);   /* Invariant (3) */
    if (pass.n_attached == 0) {
        free (pass.attached);
        pass.attached = NULL;
    }
    *attached = pass.attached;
    *n_attached = pass.n_attached;
}

void
zr_tokens_covered (zr_tokens_t *self, zr_index_t index, zr_term_t term,
                   zr_results_t *out)
{
    zr_assert (self && out && index > 0);
    if (self->size == 0)
        return;
    s_pass_t pass = {.last = index, .last_term = term, .out = out};
    s_pass (self, &pass);
    zr_assert (pass.n_attached == 0);
}

void
zr_tokens_drain (zr_tokens_t *self, int status, zr_id_t leader,
                 zr_results_t *out)
{
    zr_assert (self && out);
    s_run_t *run;
    while ((run = (s_run_t *) zlist_pop (self->runs))) {
        for (; run->done < run->n; run->done++)
            zr_results_add (out, run->tokens [run->done], status, leader,
                            run->first + run->done, run->term, NULL, 0);
        free (run);
    }
    self->size = 0;
}
