/*
 * .env parsing with python-dotenv's rules (the original service used load_dotenv):
 * "export " prefix, # comments, 'literal', "escaped \n", unquoted values ending at
 * " #", ${VAR} / ${VAR:-default} expansion (environment first, then earlier keys).
 * Lines that are not KEY=VALUE are skipped and counted, as python-dotenv warns and skips.
 * Thread: any (pure).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/zs_config.h"
#include "core/zs_mem.h"

#define DOTENV_MAX_KEYS 1024

static int key_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == '-';
}

const char *zs_dotenv_get(const struct zs_dotenv *d, const char *key)
{
    if (d == NULL)
        return NULL;
    for (size_t i = d->n; i-- > 0;) /* a later assignment wins */
        if (strcmp(d->keys[i], key) == 0)
            return d->values[i];
    return NULL;
}

void zs_dotenv_destroy(struct zs_dotenv *d)
{
    if (d == NULL)
        return;
    for (size_t i = 0; i < d->n; i++) {
        zs_free(d->keys[i]);
        zs_free_secret(d->values[i]);
    }
    zs_free(d->keys);
    zs_free(d->values);
    zs_free(d);
}

/* Append ${...} expansions of raw[0..n) to out. */
static zs_rc expand(const struct zs_dotenv *d, zs_getenv_fn ge, const char *raw, size_t n,
                    struct zs_buf *out)
{
    zs_rc rc = ZS_OK;
    for (size_t i = 0; i < n && rc == ZS_OK;) {
        if (raw[i] == '$' && i + 1 < n && raw[i + 1] == '{') {
            const char *close = memchr(raw + i + 2, '}', n - i - 2);
            if (close != NULL) {
                char name[256];
                size_t nl = (size_t)(close - (raw + i + 2));
                const char *def = NULL;
                size_t defl = 0;
                const char *colon = memchr(raw + i + 2, ':', nl);
                if (colon != NULL && colon + 1 < close && colon[1] == '-') {
                    def = colon + 2;
                    defl = (size_t)(close - def);
                    nl = (size_t)(colon - (raw + i + 2));
                }
                if (nl > 0 && nl < sizeof name) {
                    memcpy(name, raw + i + 2, nl);
                    name[nl] = '\0';
                    const char *v = ge(name);
                    if (v == NULL)
                        v = zs_dotenv_get(d, name);
                    if (v != NULL && v[0] != '\0')
                        rc = zs_buf_puts(out, v);
                    else if (def != NULL)
                        rc = zs_buf_append(out, def, defl);
                    i = (size_t)(close - raw) + 1;
                    continue;
                }
            }
        }
        rc = zs_buf_append(out, &raw[i], 1);
        i++;
    }
    return rc;
}

static zs_rc add(struct zs_dotenv *d, const char *key, size_t kl, struct zs_buf *val)
{
    if (d->n == DOTENV_MAX_KEYS)
        return ZS_ELIMIT;
    if (d->n % 16 == 0) {
        char **k = zs_realloc(d->keys, (d->n + 16) * sizeof *k);
        if (k == NULL)
            return ZS_ENOMEM;
        d->keys = k;
        char **v = zs_realloc(d->values, (d->n + 16) * sizeof *v);
        if (v == NULL)
            return ZS_ENOMEM;
        d->values = v;
    }
    char *ks = zs_alloc(kl + 1);
    char *vs = zs_alloc(val->len + 1);
    if (ks == NULL || vs == NULL) {
        zs_free(ks);
        zs_free(vs);
        return ZS_ENOMEM;
    }
    memcpy(ks, key, kl);
    ks[kl] = '\0';
    if (val->len)
        memcpy(vs, val->data, val->len);
    vs[val->len] = '\0';
    d->keys[d->n] = ks;
    d->values[d->n] = vs;
    d->n++;
    return ZS_OK;
}

static const char *getenv_default(const char *n)
{
    return getenv(n);
}

zs_rc zs_dotenv_parse(const char *name, const char *text, size_t len, zs_getenv_fn ge,
                      struct zs_dotenv **out, struct zs_err *err)
{
    zs_rc rc = ZS_ENOMEM;
    unsigned line = 0;
    struct zs_buf val;
    zs_buf_init(&val, 1 << 20);
    struct zs_dotenv *d = zs_calloc(1, sizeof *d);
    if (d == NULL)
        goto out;
    if (ge == NULL)
        ge = getenv_default;
    const char *p = text, *end = text + len;
    while (p < end) {
        line++;
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        if (eol == NULL)
            eol = end;
        const char *s = p;
        while (s < eol && (*s == ' ' || *s == '\t'))
            s++;
        if (s == eol || *s == '#' || (eol - s == 1 && *s == '\r')) {
            p = eol + (eol < end);
            continue;
        }
        if (eol - s > 7 && memcmp(s, "export ", 7) == 0)
            for (s += 7; s < eol && *s == ' '; s++)
                ;
        const char *k = s;
        while (s < eol && key_char(*s))
            s++;
        size_t kl = (size_t)(s - k);
        while (s < eol && (*s == ' ' || *s == '\t'))
            s++;
        if (kl == 0 || s == eol || *s != '=') {
            if (d->bad_lines++ == 0)
                d->first_bad_line = line;
            p = eol + (eol < end);
            continue;
        }
        s++;
        while (s < eol && (*s == ' ' || *s == '\t'))
            s++;
        val.len = 0;
        if (s < end && (*s == '\'' || *s == '"')) {
            char q = *s++;
            const char *v = s;
            unsigned start_line = line;
            /* Quoted values may span lines; find the closing quote. */
            while (s < end && *s != q) {
                if (q == '"' && *s == '\\' && s + 1 < end)
                    s++;
                if (*s == '\n')
                    line++;
                s++;
            }
            if (s >= end) {
                rc = zs_err_set(err, ZS_EPARSE, NULL, "%s:%u: unterminated %s quote", name,
                                start_line, q == '"' ? "double" : "single");
                goto out;
            }
            if (q == '\'') {
                rc = zs_buf_append(&val, v, (size_t)(s - v));
            } else {
                struct zs_buf raw;
                zs_buf_init(&raw, 1 << 20);
                rc = ZS_OK;
                for (const char *c = v; c < s && rc == ZS_OK; c++) {
                    char ch = *c;
                    if (ch == '\\' && c + 1 < s) {
                        char e = *++c;
                        ch = e == 'n' ? '\n' : e == 't' ? '\t' : e == 'r' ? '\r' : e;
                        if (e != 'n' && e != 't' && e != 'r' && e != '"' && e != '\\' && e != '\'')
                            rc = zs_buf_append(&raw, "\\", 1);
                    }
                    if (rc == ZS_OK)
                        rc = zs_buf_append(&raw, &ch, 1);
                }
                if (rc == ZS_OK)
                    rc = expand(d, ge, (const char *)raw.data, raw.len, &val);
                zs_wipe(raw.data, raw.len);
                zs_buf_release(&raw);
            }
            if (rc != ZS_OK)
                goto out;
            eol = memchr(s, '\n', (size_t)(end - s));
            if (eol == NULL)
                eol = end;
        } else {
            const char *v = s, *ve = eol;
            for (const char *c = v; c < eol; c++) {
                if (*c == '#' && (c == v || c[-1] == ' ' || c[-1] == '\t')) {
                    ve = c;
                    break;
                }
            }
            while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t' || ve[-1] == '\r'))
                ve--;
            if ((rc = expand(d, ge, v, (size_t)(ve - v), &val)) != ZS_OK)
                goto out;
        }
        if ((rc = add(d, k, kl, &val)) != ZS_OK)
            goto out;
        p = eol + (eol < end);
    }
    *out = d;
    d = NULL;
    rc = ZS_OK;
out:
    if (rc == ZS_ENOMEM)
        zs_err_set(err, rc, NULL, "%s: out of memory", name);
    else if (rc == ZS_ELIMIT)
        zs_err_set(err, rc, NULL, "%s:%u: value longer than 1 MiB, or more than %d keys", name,
                   line, DOTENV_MAX_KEYS);
    zs_wipe(val.data, val.len);
    zs_buf_release(&val);
    zs_dotenv_destroy(d);
    return rc;
}
