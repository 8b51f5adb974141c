/*
 * Unity Catalog types for the emulator: parsing (written independently of src/schema,
 * see emu.h) and the UC API renderings (type_text, type_name, Spark type_json).
 * Thread: any.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "emulator/emu.h"

struct lexer {
    const char *s, *p;
    struct zs_err *err;
    int depth;
    int failed;
};

static void lex_fail(struct lexer *lx, const char *what)
{
    if (!lx->failed)
        zs_err_set(lx->err, ZS_ESCHEMA, NULL, "type \"%.80s\": %s (offset %d)", lx->s, what,
                   (int)(lx->p - lx->s));
    lx->failed = 1;
}

/* Next token: an identifier/number (copied to tok) or one punctuation character. */
static int next_token(struct lexer *lx, char *tok, size_t cap)
{
    while (isspace((unsigned char)*lx->p))
        lx->p++;
    if (*lx->p == '\0')
        return 0;
    size_t n = 0;
    if (isalnum((unsigned char)*lx->p) || *lx->p == '_') {
        while ((isalnum((unsigned char)*lx->p) || *lx->p == '_') && n + 1 < cap)
            tok[n++] = *lx->p++;
    } else if (*lx->p == '\'') { /* quoted comment text */
        tok[n++] = *lx->p++;
        while (*lx->p != '\0' && !(*lx->p == '\'' && lx->p[1] != '\'')) {
            if (*lx->p == '\'')
                lx->p++;
            lx->p++;
        }
        if (*lx->p == '\'')
            lx->p++;
    } else {
        tok[n++] = *lx->p++;
    }
    tok[n] = '\0';
    return 1;
}

static int peek_is(struct lexer *lx, char ch)
{
    const char *q = lx->p;
    while (isspace((unsigned char)*q))
        q++;
    return *q == ch;
}

static int expect_char(struct lexer *lx, char ch)
{
    char tok[8];
    if (!next_token(lx, tok, sizeof tok) || tok[0] != ch || tok[1] != '\0') {
        char msg[32];
        snprintf(msg, sizeof msg, "expected '%c'", ch);
        lex_fail(lx, msg);
        return 0;
    }
    return 1;
}

static const struct {
    const char *word;
    enum emu_kind kind;
} words[] = {
    {"tinyint", EK_TINYINT},
    {"byte", EK_TINYINT},
    {"smallint", EK_SMALLINT},
    {"short", EK_SMALLINT},
    {"int", EK_INT},
    {"integer", EK_INT},
    {"bigint", EK_BIGINT},
    {"long", EK_BIGINT},
    {"float", EK_FLOAT},
    {"real", EK_FLOAT},
    {"double", EK_DOUBLE},
    {"boolean", EK_BOOLEAN},
    {"string", EK_STRING},
    {"binary", EK_BINARY},
    {"date", EK_DATE},
    {"timestamp", EK_TIMESTAMP},
    {"timestamp_ltz", EK_TIMESTAMP},
    {"timestamp_ntz", EK_TIMESTAMP_NTZ},
    {"variant", EK_VARIANT},
};

static struct emu_type *parse(struct lexer *lx);

static struct emu_type *parse_struct(struct lexer *lx, struct emu_type *t)
{
    size_t cap = 0;
    if (!expect_char(lx, '<'))
        return t;
    do {
        char name[256], tok[256];
        if (!next_token(lx, name, sizeof name) ||
            !(isalpha((unsigned char)name[0]) || name[0] == '_')) {
            lex_fail(lx, "expected a field name");
            return t;
        }
        if (peek_is(lx, ':'))
            expect_char(lx, ':');
        if (t->nfields == cap) {
            cap = cap ? cap * 2 : 8;
            struct emu_col *f = realloc(t->fields, cap * sizeof *f);
            if (f == NULL) {
                lex_fail(lx, "out of memory");
                return t;
            }
            t->fields = f;
        }
        struct emu_col *c = &t->fields[t->nfields++];
        c->name = strdup(name);
        c->nullable = true;
        c->type = parse(lx);
        if (lx->failed)
            return t;
        for (;;) { /* NOT NULL, COMMENT '...' */
            const char *save = lx->p;
            if (!next_token(lx, tok, sizeof tok))
                break;
            if (strcasecmp(tok, "not") == 0) {
                if (!next_token(lx, tok, sizeof tok) || strcasecmp(tok, "null") != 0) {
                    lex_fail(lx, "expected NULL after NOT");
                    return t;
                }
                c->nullable = false;
            } else if (strcasecmp(tok, "comment") == 0) {
                if (!next_token(lx, tok, sizeof tok) || tok[0] != '\'') {
                    lex_fail(lx, "expected a quoted comment");
                    return t;
                }
            } else {
                lx->p = save;
                break;
            }
        }
    } while (peek_is(lx, ',') && expect_char(lx, ','));
    expect_char(lx, '>');
    if (t->nfields == 0)
        lex_fail(lx, "empty STRUCT");
    return t;
}

static struct emu_type *parse(struct lexer *lx)
{
    char tok[64];
    struct emu_type *t = calloc(1, sizeof *t);
    if (t == NULL) {
        lex_fail(lx, "out of memory");
        return NULL;
    }
    if (++lx->depth > 40) {
        lex_fail(lx, "nested too deeply");
        return t;
    }
    if (!next_token(lx, tok, sizeof tok)) {
        lex_fail(lx, "expected a type");
        return t;
    }
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
        if (strcasecmp(tok, words[i].word) == 0) {
            t->kind = words[i].kind;
            lx->depth--;
            return t;
        }
    }
    if (strcasecmp(tok, "decimal") == 0 || strcasecmp(tok, "dec") == 0 ||
        strcasecmp(tok, "numeric") == 0) {
        t->kind = EK_DECIMAL;
        t->precision = 10;
        if (peek_is(lx, '(')) {
            char num[16];
            expect_char(lx, '(');
            if (next_token(lx, num, sizeof num))
                t->precision = atoi(num);
            if (peek_is(lx, ',')) {
                expect_char(lx, ',');
                if (next_token(lx, num, sizeof num))
                    t->scale = atoi(num);
            }
            expect_char(lx, ')');
        }
        if (t->precision < 1 || t->precision > 38 || t->scale < 0 || t->scale > t->precision)
            lex_fail(lx, "bad DECIMAL precision or scale");
    } else if (strcasecmp(tok, "array") == 0) {
        t->kind = EK_ARRAY;
        if (expect_char(lx, '<')) {
            t->elem = parse(lx);
            expect_char(lx, '>');
        }
    } else if (strcasecmp(tok, "map") == 0) {
        t->kind = EK_MAP;
        if (expect_char(lx, '<')) {
            t->key = parse(lx);
            if (expect_char(lx, ','))
                t->val = parse(lx);
            expect_char(lx, '>');
        }
    } else if (strcasecmp(tok, "struct") == 0) {
        t->kind = EK_STRUCT;
        parse_struct(lx, t);
    } else {
        lex_fail(lx, "unsupported type");
    }
    lx->depth--;
    return t;
}

void emu_cols_free(struct emu_col *cols, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(cols[i].name);
        emu_type_free(cols[i].type);
    }
    free(cols);
}

void emu_type_free(struct emu_type *t)
{
    if (t == NULL)
        return;
    emu_type_free(t->elem);
    emu_type_free(t->key);
    emu_type_free(t->val);
    emu_cols_free(t->fields, t->nfields);
    free(t);
}

struct emu_type *emu_type_parse(const char *text, struct zs_err *err)
{
    struct lexer lx = {.s = text, .p = text, .err = err};
    struct emu_type *t = parse(&lx);
    while (isspace((unsigned char)*lx.p))
        lx.p++;
    if (!lx.failed && *lx.p != '\0')
        lex_fail(&lx, "unexpected text after the type");
    if (lx.failed) {
        emu_type_free(t);
        return NULL;
    }
    return t;
}

static const char *simple_text(enum emu_kind k)
{
    static const char *const t[] = {"tinyint",   "smallint",      "int",     "bigint",  "float",
                                    "double",    "boolean",       "string",  "binary",  "date",
                                    "timestamp", "timestamp_ntz", "decimal", "variant", "array",
                                    "map",       "struct"};
    return t[k];
}

static void text_into(const struct emu_type *t, struct zs_buf *b)
{
    zs_rc rc = ZS_OK;
    switch (t->kind) {
    case EK_DECIMAL:
        rc = zs_buf_printf(b, "decimal(%d,%d)", t->precision, t->scale);
        break;
    case EK_ARRAY:
        rc = zs_buf_puts(b, "array<");
        text_into(t->elem, b);
        rc = zs_buf_puts(b, ">");
        break;
    case EK_MAP:
        rc = zs_buf_puts(b, "map<");
        text_into(t->key, b);
        rc = zs_buf_puts(b, ",");
        text_into(t->val, b);
        rc = zs_buf_puts(b, ">");
        break;
    case EK_STRUCT:
        rc = zs_buf_puts(b, "struct<");
        for (size_t i = 0; i < t->nfields; i++) {
            rc = zs_buf_printf(b, "%s%s:", i ? "," : "", t->fields[i].name);
            text_into(t->fields[i].type, b);
            if (!t->fields[i].nullable)
                rc = zs_buf_puts(b, " not null");
        }
        rc = zs_buf_puts(b, ">");
        break;
    default:
        rc = zs_buf_puts(b, simple_text(t->kind));
    }
    (void)rc; /* a truncated text is still well-formed enough for the API */
}

char *emu_type_text(const struct emu_type *t)
{
    struct zs_buf b;
    zs_buf_init(&b, 1 << 20);
    text_into(t, &b);
    const char *s = zs_buf_cstr(&b);
    char *r = strdup(s ? s : "");
    zs_buf_release(&b);
    return r;
}

const char *emu_type_name(const struct emu_type *t)
{
    static const char *const n[] = {"BYTE",      "SHORT",         "INT",     "LONG",    "FLOAT",
                                    "DOUBLE",    "BOOLEAN",       "STRING",  "BINARY",  "DATE",
                                    "TIMESTAMP", "TIMESTAMP_NTZ", "DECIMAL", "VARIANT", "ARRAY",
                                    "MAP",       "STRUCT"};
    return n[t->kind];
}

/* Spark's JSON form of a type (the "type" member of type_json). */
static json_t *spark_type(const struct emu_type *t)
{
    static const char *const n[] = {"byte",      "short",         "integer", "long",   "float",
                                    "double",    "boolean",       "string",  "binary", "date",
                                    "timestamp", "timestamp_ntz", NULL,      "variant"};
    char dec[32];
    switch (t->kind) {
    case EK_DECIMAL:
        snprintf(dec, sizeof dec, "decimal(%d,%d)", t->precision, t->scale);
        return json_string(dec);
    case EK_ARRAY:
        return json_pack("{s:s, s:o, s:b}", "type", "array", "elementType", spark_type(t->elem),
                         "containsNull", 1);
    case EK_MAP:
        return json_pack("{s:s, s:o, s:o, s:b}", "type", "map", "keyType", spark_type(t->key),
                         "valueType", spark_type(t->val), "valueContainsNull", 1);
    case EK_STRUCT: {
        json_t *fs = json_array();
        for (size_t i = 0; i < t->nfields; i++)
            json_array_append_new(fs, json_pack("{s:s, s:o, s:b, s:{}}", "name", t->fields[i].name,
                                                "type", spark_type(t->fields[i].type), "nullable",
                                                t->fields[i].nullable, "metadata"));
        return json_pack("{s:s, s:o}", "type", "struct", "fields", fs);
    }
    default:
        return json_string(n[t->kind]);
    }
}

json_t *emu_type_json(const struct emu_type *t)
{
    return spark_type(t);
}
