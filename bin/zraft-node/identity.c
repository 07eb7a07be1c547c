/*  =========================================================================
    identity - which member of which cluster a data directory belongs to

    See identity.h.
    =========================================================================
*/
#include "identity.h"

#include <czmq.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#define S_FILE_MAX 8192                 /* a record is far smaller */
#define S_CLUSTER_MAX (ZR_OPTIONS_MEMBERS_MAX * (ZR_OPTIONS_NAME_MAX \
                                                 + ZR_OPTIONS_ENDPOINT_MAX + 2))

#define s_fail zr_options_fail

/* The --initial-cluster line, members in order: name=endpoint,... */
static void
s_cluster_line (const zr_options_t *o, char *line, size_t size)
{
    size_t used = 0;
    line [0] = 0;
    for (uint32_t i = 0; i < o->n_members && used < size; i++)
        used += (size_t) snprintf (line + used, size - used, "%s%s=%s",
                                   i ? "," : "", o->members [i].name,
                                   o->members [i].endpoint);
}

static int
s_strcmp_p (const void *a, const void *b)
{
    return strcmp (*(char *const *) a, *(char *const *) b);
}

/* True if the two --initial-cluster lines hold the same name=endpoint
   items in another order (a member's id is its position). */
static bool
s_same_members_reordered (const char *a, const char *b)
{
    if (streq (a, b))
        return false;
    char *copies [2] = {strdup (a), strdup (b)};
    char *items [2][ZR_OPTIONS_MEMBERS_MAX + 1];
    size_t n [2] = {0, 0};
    bool same = copies [0] && copies [1];
    for (int k = 0; k < 2 && same; k++) {
        char *saved = NULL;
        for (char *item = strtok_r (copies [k], ",", &saved); item && same;
             item = strtok_r (NULL, ",", &saved)) {
            if (n [k] > ZR_OPTIONS_MEMBERS_MAX)
                same = false;
            else
                items [k][n [k]++] = item;
        }
        qsort (items [k], n [k], sizeof items [k][0], s_strcmp_p);
    }
    same = same && n [0] == n [1];
    for (size_t i = 0; same && i < n [0]; i++)
        same = streq (items [0][i], items [1][i]);
    free (copies [0]);
    free (copies [1]);
    return same;
}

static char *
s_path (const zr_options_t *o, const char *name)
{
    char *path = zsys_sprintf ("%s/%s", o->data_dir, name);
    assert (path);
    return path;
}

int
zr_identity_check (const zr_options_t *o, char *why, size_t size)
{
    assert (o && why);
    char *path = s_path (o, ZR_IDENTITY_FILE);
    FILE *file = fopen (path, "r");
    if (!file) {
        int error = errno;
        int rc = error == ENOENT || error == ENOTDIR ? 0
               : s_fail (why, size, "cannot read %s: %s", path, strerror (error));
        zstr_free (&path);
        return rc;                      /* no record (or no directory yet) */
    }
    /* Read here, parsed from memory: zconfig_load (czmq 4.2.1) leaks its
       zfile when the text is not ZPL. */
    char *text = (char *) calloc (1, S_FILE_MAX + 1);
    assert (text);
    size_t length = fread (text, 1, S_FILE_MAX, file);
    bool whole = fgetc (file) == EOF;
    fclose (file);
    zconfig_t *record = !whole || memchr (text, 0, length) ? NULL
                      : zconfig_str_load (text);
    free (text);
    const char *name = record ? zconfig_get (record, "member/name", NULL) : NULL;
    const char *cluster = record ? zconfig_get (record, "member/cluster", NULL) : NULL;
    char line [S_CLUSTER_MAX + 1];
    s_cluster_line (o, line, sizeof line);
    int rc = 0;
    if (!name || !cluster)
        rc = s_fail (why, size, "%s is not a member record (ZPL with"
                     " member/name and member/cluster); if this directory"
                     " is %s's, remove the file and start again", path,
                     o->name);
    else
    if (streq (name, o->name) && s_same_members_reordered (cluster, line))
        rc = s_fail (why, size, "--initial-cluster lists the members of this"
                     " data directory's cluster in another order (%s) than when"
                     " it was made (%s, recorded in %s): a member's id is its"
                     " position in the list, so give every member the list in"
                     " its first order; do not remove that file", line,
                     cluster, path);
    else
    if (!streq (name, o->name) || !streq (cluster, line))
        rc = s_fail (why, size, "--data-dir %s belongs to member %s of the"
                     " cluster %s (recorded in %s), not to %s of %s: give each"
                     " member its own data directory; only if the cluster's"
                     " endpoints were changed on purpose, the same way and in"
                     " the same order on every member, remove that file",
                     o->data_dir, name, cluster, path, o->name, line);
    zconfig_destroy (&record);
    zstr_free (&path);
    return rc;
}

int
zr_identity_record (const zr_options_t *o, char *why, size_t size)
{
    assert (o && why);
    char *path = s_path (o, ZR_IDENTITY_FILE);
    struct stat st;
    if (stat (path, &st) == 0) {
        zstr_free (&path);
        return 0;                       /* recorded (and checked) before */
    }
    char line [S_CLUSTER_MAX + 1];
    s_cluster_line (o, line, sizeof line);
    zconfig_t *record = zconfig_new ("root", NULL);
    assert (record);
    zconfig_put (record, "member/name", o->name);
    zconfig_put (record, "member/cluster", line);
    zconfig_set_comment (record, " zraft-node: the member and cluster this"
                         " data directory belongs to");
    char *text = zconfig_str_save (record);
    zconfig_destroy (&record);
    assert (text);
    char *aside = s_path (o, ZR_IDENTITY_FILE ".tmp");
    int rc = 0;
    int fd = open (aside, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    size_t length = strlen (text);
    errno = EIO;                        /* a short write sets none */
    bool ok = fd >= 0 && write (fd, text, length) == (ssize_t) length
              && fsync (fd) == 0;
    int error = errno;
    if (fd >= 0 && close (fd) != 0 && ok) {
        ok = false;
        error = errno;
    }
    if (ok && rename (aside, path) != 0) {
        ok = false;
        error = errno;
    }
    if (!ok)
        unlink (aside);
    int dir = ok ? open (o->data_dir, O_RDONLY | O_DIRECTORY) : -1;
    if (ok && (dir < 0 || fsync (dir) != 0)) {   /* the rename, durably */
        ok = false;
        error = errno;
    }
    if (dir >= 0)
        close (dir);
    if (!ok)
        rc = s_fail (why, size, "cannot write %s: %s", path, strerror (error));
    zstr_free (&text);
    zstr_free (&aside);
    zstr_free (&path);
    return rc;
}
